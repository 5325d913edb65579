"""Customer pages: search, contact data edits with E.164 numbers, consent per channel (opt-in with
source and wording, withdrawal cancelling pending messages), message history, restriction; roles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from alphasms.appointments.models import Channel, Customer
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.privacy.models import AuditEntry, Consent
from alphasms.privacy.subject_rights import RestrictionBasis, restrict
from alphasms.testing.web import make_web_user, sign_in
from alphasms.web.roles import Role
from alphasms.web.services import customers as service
from tests.conftest import make_appointment, make_customer, make_rule

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def _client(role: Role = Role.STAFF, language: str = "en") -> Client:
    return sign_in(Client(headers={"accept-language": language}), make_web_user(role))


def _contact(customer: Customer, **changes: str) -> dict[str, str]:
    data = {
        "customer_number": customer.customer_number,
        "given_name": customer.given_name,
        "family_name": customer.family_name,
        "mobile_raw": customer.mobile_raw,
        "email": customer.email,
        "language": customer.language,
        "country": customer.country,
        "notes": customer.notes,
    }
    return data | changes


def test_the_list_searches_by_name_number_phone_and_e_mail(db):
    joerg = make_customer()
    ayse = make_customer("2002", "Ayşe", "Öztürk", mobile="+4915199999999", email="ayse@example.org")
    assert service.customer_page("", 1).customers == [joerg, ayse]  # Bäcker before Öztürk
    for query, expected in [
        ("jörg", [joerg]),
        ("Öztürk Ayşe", [ayse]),
        ("2002", [ayse]),
        ("0151/999 999 99", [ayse]),
        ("ayse@", [ayse]),
        ("niemand", []),
    ]:
        assert service.customer_page(query, 1).customers == expected, query
    html = _client().get("/customers/", {"q": "Öztürk"}).content.decode()
    assert f"/customers/{ayse.pk}/" in html and f"/customers/{joerg.pk}/" not in html


def test_the_list_pages_and_is_capped(db, monkeypatch):
    monkeypatch.setattr(service, "PAGE_SIZE", 2)
    monkeypatch.setattr(service, "MAX_PAGES", 2)
    people = [
        make_customer(str(100 + i), "Vor", f"Name{i}", mobile="", email="", consent=()) for i in range(5)
    ]
    first, second = service.customer_page("", 1), service.customer_page("", 2)
    assert first.customers == people[:2] and first.has_next and not first.capped
    assert second.customers == people[2:4] and not second.has_next and second.capped
    html = _client().get("/customers/", {"page": "2"}).content.decode()
    assert "narrow the search" in html


def test_the_detail_shows_contact_consent_appointments_and_message_history(location, frozen):
    make_rule(Channel.SMS, name="SMS am Vortag")
    joerg = make_customer()
    appointment = make_appointment(location, joerg, NOW + dt.timedelta(days=2))
    plan(NOW)
    OutboundMessage.objects.update(status=MessageStatus.DELIVERED)
    html = _client().get(f"/customers/{joerg.pk}/").content.decode()
    assert "+4915112345678" in html and "joerg@example.org" in html
    assert html.count('<span class="badge ok">given</span>') == 2  # SMS and e-mail
    assert "wording “v1”" in html
    assert f"/appointments/{appointment.pk}/" in html
    assert "SMS am Vortag" in html and "delivered" in html
    assert "processing restricted" not in html.lower()
    assert AuditEntry.objects.filter(action="view", object_type="customer", object_id=str(joerg.pk)).exists()


def test_editing_normalises_the_mobile_number_to_e164(location):
    joerg = make_customer()
    client = _client()
    response = client.post(f"/customers/{joerg.pk}/edit/", _contact(joerg, mobile_raw="0171 / 234 56 78"))
    assert response.status_code == 302
    joerg.refresh_from_db()
    assert (joerg.mobile_raw, joerg.mobile_e164, joerg.mobile_sms_ok) == (
        "0171 / 234 56 78",
        "+491712345678",
        True,
    )
    entry = AuditEntry.objects.filter(action="change", object_type="customer").latest("pk")
    assert entry.detail.startswith("changed ") and "mobile_e164" in entry.detail
    landline = client.post(
        f"/customers/{joerg.pk}/edit/", _contact(joerg, mobile_raw="030 1234567"), follow=True
    )
    assert "Not a mobile number – no SMS is sent to this number." in landline.content.decode()
    joerg.refresh_from_db()
    assert (joerg.mobile_e164, joerg.mobile_sms_ok) == ("+49301234567", False)


def test_edit_errors_name_the_field_and_the_fix(location):
    joerg = make_customer()
    make_customer("2002", "Ayşe", "Öztürk", mobile="+4915199999999")
    html = (
        _client()
        .post(
            f"/customers/{joerg.pk}/edit/",
            _contact(joerg, mobile_raw="12", email="kein-at", country="Deutschland", customer_number="2002"),
        )
        .content.decode()
    )
    assert "Mobile number: No valid phone number recognised." in html
    assert "Enter it with the country code, e.g. +49 151 12345678." in html
    assert "E-mail: Enter the e-mail address in the form name@example.org" in html
    assert "Country: Enter the country as two letters" in html
    assert "Customer number: Another customer already has this number" in html
    joerg.refresh_from_db()
    assert joerg.mobile_e164 == "+4915112345678" and joerg.email == "joerg@example.org"


def test_recording_an_opt_in_keeps_its_source_and_wording(location):
    ayse = make_customer("2002", "Ayşe", "Öztürk", consent=())
    client = _client()
    response = client.post(
        f"/customers/{ayse.pk}/consent/",
        {"channel": "sms", "source": "phone", "wording_version": "Bogen 2026-01"},
    )
    assert response.status_code == 302
    consent = Consent.objects.get(customer=ayse)
    assert (consent.channel, consent.source, consent.wording_version) == ("sms", "phone", "Bogen 2026-01")
    assert consent.recorded_by.startswith("staff:") and consent.opted_out_at is None
    assert AuditEntry.objects.filter(action="consent", object_id=str(ayse.pk)).count() == 1
    bad = client.post(f"/customers/{ayse.pk}/consent/", {"channel": "fax", "source": "import"})
    html = bad.content.decode()
    assert bad.status_code == 400
    assert "Choose the channel: SMS or e-mail." in html
    assert "Choose how the consent was given: form, phone or booking." in html
    assert "Enter which wording the person agreed to" in html


def test_withdrawing_cancels_the_pending_messages_of_that_channel(location, frozen):
    make_rule(Channel.SMS)
    make_rule(Channel.EMAIL, offset_s=48 * 3600)
    joerg = make_customer()
    make_appointment(location, joerg, NOW + dt.timedelta(days=3))
    plan(NOW)
    response = _client().post(f"/customers/{joerg.pk}/withdraw/", {"channel": "sms"}, follow=True)
    assert "Consent withdrawn; 1 pending message cancelled." in response.content.decode()
    assert dict(OutboundMessage.objects.values_list("channel", "status")) == {
        "sms": MessageStatus.CANCELLED,
        "email": MessageStatus.PLANNED,
    }
    sms = Consent.objects.get(customer=joerg, channel="sms")
    assert sms.opted_out_at is not None and sms.opted_out_source == "staff"


def test_a_restricted_person_shows_the_banner_and_cannot_be_changed(location):
    joerg = make_customer()
    restrict(joerg, "staff:1", RestrictionBasis.ACCURACY)
    client = _client()
    html = client.get(f"/customers/{joerg.pk}/").content.decode()
    assert 'id="restricted-banner"' in html and "Processing restricted" in html
    assert "Edit contact data" not in html and "Record opt-in" not in html
    response = client.post(f"/customers/{joerg.pk}/edit/", _contact(joerg, given_name="Georg"))
    assert response.status_code == 409
    joerg.refresh_from_db()
    assert joerg.given_name == "Jörg"
    refused = client.post(
        f"/customers/{joerg.pk}/consent/", {"channel": "sms", "source": "form", "wording_version": "x"}
    )
    assert refused.status_code == 409
    german = _client(language="de").get(f"/customers/{joerg.pk}/").content.decode()
    assert "Verarbeitung eingeschränkt" in german


def test_read_only_users_see_but_change_nothing(location):
    joerg = make_customer()
    client = _client(Role.READONLY)
    assert client.get("/customers/").status_code == 200
    html = client.get(f"/customers/{joerg.pk}/").content.decode()
    assert "Withdraw SMS consent" not in html and "Edit contact data" not in html
    assert client.post(f"/customers/{joerg.pk}/withdraw/", {"channel": "sms"}).status_code == 403
    assert client.post(f"/customers/{joerg.pk}/edit/", _contact(joerg, given_name="X")).status_code == 403
    assert Consent.objects.filter(customer=joerg, opted_out_at__isnull=True).count() == 2
    owner = _client(Role.OWNER).get(f"/customers/{joerg.pk}/").content.decode()
    assert f"/admin/appointments/customer/{joerg.pk}/change/" in owner


def test_the_detail_needs_a_fixed_number_of_queries(location, frozen, django_assert_max_num_queries):
    make_rule(Channel.SMS)
    joerg = make_customer()
    for day in range(1, 20):
        make_appointment(location, joerg, NOW + dt.timedelta(days=day))
    plan(NOW)
    client = _client()
    client.get(f"/customers/{joerg.pk}/")
    with django_assert_max_num_queries(20):
        assert client.get(f"/customers/{joerg.pk}/").status_code == 200


@pytest.mark.parametrize("query", ["öz", "Öz", "öztürk", "ÖZTÜRK", "ozturk", "Oeztuerk", "ayşe öz", "AYSE"])
def test_the_search_ignores_case_accents_and_umlaut_spelling(db, query):
    ayse = make_customer("2002", "Ayşe", "Öztürk", mobile="+4915199999999", email="a@example.org")
    make_customer("1001", "Jörg", "Bäcker")
    assert service.customer_page(query, 1).customers == [ayse], query
    html = _client().get("/customers/", {"q": query}).content.decode()
    assert f"/customers/{ayse.pk}/" in html


@pytest.mark.parametrize("query", ["gross", "GROSS", "Groß", "groß, jürgen", "Juergen Gross"])
def test_the_search_folds_sharp_s(db, query):
    juergen = make_customer("3003", "Jürgen", "Groß", mobile="", email="", consent=())
    make_customer("1001", "Jörg", "Bäcker")
    assert service.customer_page(query, 1).customers == [juergen], query
    options = _client().get("/appointments/customers/", {"customer_search": query}).content.decode()
    assert f'value="{juergen.pk}"' in options and "Bäcker" not in options


def test_withdrawing_asks_first_on_a_page_of_its_own(location, frozen):
    make_rule(Channel.SMS)
    customer = make_customer()
    make_appointment(location, customer, NOW + dt.timedelta(days=3))
    plan(NOW)
    client = _client()
    detail = client.get(f"/customers/{customer.pk}/").content.decode()
    assert f'href="/customers/{customer.pk}/withdraw/?channel=sms"' in detail
    page = client.get(f"/customers/{customer.pk}/withdraw/", {"channel": "sms"}).content.decode()
    assert "Withdraw SMS consent?" in page and "1 pending message on this channel will be cancelled" in page
    assert Consent.objects.get(customer=customer, channel="sms").opted_out_at is None  # nothing changed
    assert client.get(f"/customers/{customer.pk}/withdraw/", {"channel": "fax"}).status_code == 400
    client.post(f"/customers/{customer.pk}/withdraw/", {"channel": "sms"})
    assert Consent.objects.get(customer=customer, channel="sms").opted_out_at is not None
    after = client.get(f"/customers/{customer.pk}/withdraw/", {"channel": "sms"}).content.decode()
    assert "There is no active consent on this channel." in after


def _new(**changes: str) -> dict[str, str]:
    data = {
        "given_name": "Emily",
        "family_name": "Clarke",
        "customer_number": "",
        "mobile_raw": "0151 2345 6789",
        "email": "emily@example.org",
        "country": "",
        "language": "en",
        "notes": "",
        "consent_source": "",
        "consent_wording": "",
    }
    return data | changes


def test_staff_create_a_customer_with_an_e164_number_and_consent(location):
    client = _client()
    listing = client.get("/customers/").content.decode()
    assert 'href="/customers/new/"' in listing and "New customer" in listing
    assert client.get("/customers/new/").status_code == 200
    response = client.post(
        "/customers/new/",
        _new(consent_sms="on", consent_source="phone", consent_wording="Anmeldebogen 2026-01"),
    )
    customer = Customer.objects.get(family_name="Clarke")
    assert response.status_code == 302 and response["Location"] == f"/customers/{customer.pk}/"
    assert (customer.mobile_e164, customer.mobile_sms_ok, customer.customer_number) == (
        "+4915123456789",
        True,
        "",
    )
    assert customer.language == "en" and customer.search_key == "emily clarke|emily@example.org"
    consent = Consent.objects.get(customer=customer)
    assert (consent.channel, consent.source, consent.wording_version) == (
        "sms",
        "phone",
        "Anmeldebogen 2026-01",
    )
    assert consent.recorded_by.startswith("staff:")
    actions = set(AuditEntry.objects.filter(object_id=str(customer.pk)).values_list("action", "detail"))
    assert ("change", "created") in actions
    assert _client(Role.READONLY).post("/customers/new/", _new(family_name="Nobody")).status_code == 403
    assert not Customer.objects.filter(family_name="Nobody").exists()


def test_creating_names_each_problem_and_the_fix(location):
    html = (
        _client()
        .post(
            "/customers/new/",
            _new(mobile_raw="12", email="nope", consent_sms="on", consent_email="on"),
        )
        .content.decode()
    )
    assert "No valid phone number recognised." in html
    assert "Enter the e-mail address in the form name@example.org" in html
    assert "Choose how the consent was given: form, phone or booking." in html
    assert "Enter which wording the person agreed to" in html
    assert not Customer.objects.exists()
    landline = (
        _client()
        .post(
            "/customers/new/",
            _new(mobile_raw="030 1234567", consent_sms="on", consent_source="form", consent_wording="v1"),
        )
        .content.decode()
    )
    assert "An SMS consent needs a mobile number that can receive SMS" in landline
    assert not Customer.objects.exists()


def test_a_possible_duplicate_is_shown_before_anything_is_created(location):
    ayse = make_customer("2002", "Ayşe", "Öztürk", mobile="+4915199999999", email="Ayse@Example.org")
    client = _client()
    for changes, reason in [
        ({"given_name": "AYSE", "family_name": "Oeztuerk", "mobile_raw": "", "email": ""}, "same name"),
        ({"mobile_raw": "0151 999 999 99"}, "same mobile number"),
        ({"email": "ayse@example.ORG", "mobile_raw": ""}, "same e-mail address"),
    ]:
        html = client.post("/customers/new/", _new(**changes)).content.decode()
        assert "This person may already exist" in html, changes
        assert f'href="/customers/{ayse.pk}/"' in html and reason in html, changes
        assert "Create anyway" in html
    assert Customer.objects.count() == 1
    client.post("/customers/new/", _new(email="ayse@example.org", mobile_raw="", create_anyway="1"))
    assert Customer.objects.count() == 2


def test_from_the_appointment_form_and_back_with_the_new_person_chosen(location):
    client = _client()
    response = client.post(
        "/appointments/new/",
        {
            "location": location.pk,
            "customer_search": "Clarke, Emily",
            "customer": "",
            "date": "2026-12-03",
            "start_time": "09:30",
            "end_time": "10:00",
            "summary": "Massage",
            "new_customer": "1",
        },
    )
    assert response.status_code == 302
    target = response["Location"]
    assert target.startswith("/customers/new/?next=")
    form = client.get(target).content.decode()
    assert 'value="Clarke"' in form and 'value="Emily"' in form and 'name="next"' in form
    from urllib.parse import parse_qs, urlsplit

    back = parse_qs(urlsplit(target).query)["next"][0]
    created = client.post("/customers/new/", _new(email="", mobile_raw="", next=back))
    customer = Customer.objects.get(family_name="Clarke")
    assert created["Location"].startswith("/appointments/new/?")
    query = parse_qs(urlsplit(created["Location"]).query)
    assert query["customer"] == [str(customer.pk)] and query["summary"] == ["Massage"]
    page = client.get(created["Location"]).content.decode()
    assert f'<option value="{customer.pk}" selected>' in page
    assert 'value="2026-12-03"' in page and 'value="09:30"' in page and 'value="Massage"' in page
    # an outside "next" is ignored: back to the customer's page
    other = client.post(
        "/customers/new/",
        _new(family_name="Other", email="", mobile_raw="", next="https://evil.example/appointments/new/"),
    )
    assert other["Location"] == f"/customers/{Customer.objects.get(family_name='Other').pk}/"
