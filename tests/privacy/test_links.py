"""A person's own signed link: their page, download and rights (GDPR Art. 7(3), 15–18, 20, 21).

Requests go through Django's test client with CSRF checks enforced, as a browser would send them.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse

from alphasms.appointments.models import Customer, Location
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.privacy.links import LinkExpired, LinkInvalid, make_link, make_token, read_token
from alphasms.privacy.models import (
    AuditAction,
    AuditEntry,
    Consent,
    PrivacyLedger,
    PrivacyRequest,
    StatisticsObjection,
)
from alphasms.privacy.services import has_consent
from alphasms.privacy.views import export_fragment
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def person(alphasms_settings, location):
    return make_customer()


def path_of(link: str) -> str:
    return urlsplit(link).path


def url(name: str, token: str) -> str:
    return reverse(f"privacy:{name}", kwargs={"token": token})


def csrf(client: Client, token: str) -> str:
    """Open the person's page as a browser would and return the CSRF token from its cookie."""
    assert client.get(url("person", token)).status_code == 200
    return client.cookies["csrftoken"].value


def post(client: Client, name: str, token: str, csrf_value: str, **data: str):
    return client.post(url(name, token), {"csrfmiddlewaretoken": csrf_value, **data})


def state() -> tuple[object, ...]:
    """Everything a link could change, to show that a refused request changed nothing."""
    return (
        Customer.objects.count(),
        list(Consent.objects.values_list("pk", "opted_out_at")),
        StatisticsObjection.objects.count(),
        PrivacyRequest.objects.count(),
        list(Customer.objects.values_list("pk", "restricted_at")),
        list(OutboundMessage.objects.values_list("pk", "status")),
        AuditEntry.objects.count(),
    )


def planned_sms(location: Location, customer: Customer) -> OutboundMessage:
    """One pending SMS reminder for ``customer``'s appointment three days ahead."""
    make_rule()
    make_appointment(location, customer, dt.datetime.now(UTC) + dt.timedelta(days=3))
    plan()
    message = OutboundMessage.objects.get(customer=customer)
    assert message.status == MessageStatus.PLANNED
    return message


class TestTheLink:
    def test_it_is_an_absolute_url_under_the_public_url_carrying_only_the_customer_id(self, person):
        link = make_link(person)
        assert link.startswith("http://127.0.0.1:8000/datenschutz/")
        token = path_of(link).split("/")[2]
        customer_id, expiry, signature = token.split(":")
        assert customer_id == str(person.pk) and expiry and signature
        assert person.mobile_e164 not in link and person.family_name not in link

    def test_it_follows_the_public_url_setting(self, alphasms_settings, person):
        alphasms_settings["PUBLIC_URL"] = "https://praxis.example/alpha/"
        assert make_link(person).startswith("https://praxis.example/alpha/datenschutz/")

    def test_a_token_reads_back_as_its_customer(self, person):
        assert read_token(make_token(person)) == person

    def test_a_token_for_another_purpose_is_refused(self, person):
        with pytest.raises(LinkInvalid):
            read_token(make_token(person, purpose="something-else"))

    @pytest.mark.parametrize(
        "garbage",
        ["", "x", "1", "1:2", "١:abc:def", "9999999999999999999:abc:def", "1" * 40 + ":a:b", "-1:a:b"],
    )
    def test_malformed_tokens_are_invalid(self, person, garbage):
        with pytest.raises(LinkInvalid):
            read_token(garbage)

    def test_a_lifetime_outside_one_to_ninety_days_is_refused(self, person):
        for days in (0, 91):
            with pytest.raises(ValueError):
                make_link(person, max_age_days=days)

    def test_it_lives_exactly_max_age_days(self, person):
        with time_machine.travel(T0, tick=False) as clock:
            token = make_token(person, max_age_days=3)
            clock.shift(dt.timedelta(days=3))
            assert read_token(token) == person
            clock.shift(dt.timedelta(seconds=1))
            with pytest.raises(LinkExpired):
                read_token(token)

    def test_a_reused_customer_id_does_not_open_the_new_persons_data(self, person):
        token = make_token(person)
        old_pk = person.pk
        person.delete()  # e.g. restored from an older backup, then a new customer got the same id
        newcomer = Customer.objects.create(pk=old_pk, given_name="Other", family_name="Person")
        assert newcomer.pk == old_pk
        with pytest.raises(LinkInvalid):
            read_token(token)


class TestThePersonsPage:
    def test_a_valid_link_shows_the_page_with_the_persons_name_and_writes_an_audit_entry(
        self, client, person
    ):
        before = AuditEntry.objects.count()
        response = client.get(path_of(make_link(person)))
        assert response.status_code == 200
        page = response.content.decode()
        assert "Jörg Bäcker" in page and "+4915112345678" in page
        assert '<html lang="de">' in page and "Ihre Daten" in page
        entries = AuditEntry.objects.filter(pk__gt=0).order_by("id")[before:]
        assert [(e.actor, e.object_type, e.object_id) for e in entries] == [
            ("subject-link", "customer", str(person.pk))
        ]
        assert "Bäcker" not in entries[0].detail and "+49" not in entries[0].detail

    def test_it_is_never_cached_indexed_or_sent_as_referrer(self, client, person):
        response = client.get(path_of(make_link(person)))
        assert "no-store" in response["Cache-Control"]
        assert response["Referrer-Policy"] == "no-referrer"
        assert "noindex" in response["X-Robots-Tag"]

    def test_english_by_query_or_by_the_persons_language(self, client, person, location):
        assert '<html lang="en">' in client.get(path_of(make_link(person)) + "?lang=en").content.decode()
        english = make_customer(number="2002", given="Ann", family="Smith", mobile="+4915199999999",
                                email="ann@example.org", language="en")  # fmt: skip
        page = client.get(path_of(make_link(english))).content.decode()
        assert '<html lang="en">' in page and "Your data" in page and "Ann Smith" in page

    def test_every_form_carries_a_csrf_token(self, client, person):
        page = client.get(path_of(make_link(person))).content.decode()
        assert page.count('method="post"') == page.count('name="csrfmiddlewaretoken"') >= 5

    def test_the_export_is_embedded_with_its_headings_nested_under_the_section(self):
        page = "<html><body><main><h1>A</h1><h3>B</h3><p>x</p></main></body></html>"
        assert export_fragment(page) == "<h3>A</h3><h5>B</h5><p>x</p>"


class TestRefusedLinks:
    def test_a_link_signed_with_another_key_is_refused_and_changes_nothing(self, client, person):
        with override_settings(SECRET_KEY="another-installations-key-" + "x" * 40):
            foreign = make_token(person)
        token = make_token(person)
        csrf_value = csrf(client, token)
        before = state()
        response = client.get(url("person", foreign))
        assert response.status_code == 403
        assert "Dieser Link ist ungültig" in response.content.decode()
        assert post(client, "withdraw", foreign, csrf_value, channel="sms").status_code == 403
        assert post(client, "erase", foreign, csrf_value, confirm="yes").status_code == 403
        assert state() == before
        assert has_consent(person, "sms")

    @pytest.mark.parametrize("alter", ["signature", "customer_id", "expiry", "truncated"])
    def test_an_altered_link_is_refused_and_changes_nothing(self, client, person, alter):
        other = make_customer(number="2002", mobile="+4915199999999", email="x@example.org")
        token = make_token(person)
        customer_id, expiry, signature = token.split(":")
        altered = {
            "signature": f"{customer_id}:{expiry}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
            "customer_id": f"{other.pk}:{expiry}:{signature}",
            "expiry": f"{customer_id}:{expiry}z:{signature}",
            "truncated": f"{customer_id}:{expiry}",
        }[alter]
        csrf_value = csrf(client, token)
        before = state()
        assert client.get(url("person", altered)).status_code == 403
        assert client.get(url("download", altered)).status_code == 403
        assert post(client, "withdraw", altered, csrf_value, channel="sms").status_code == 403
        assert post(client, "restrict", altered, csrf_value, basis="accuracy").status_code == 403
        assert state() == before

    def test_an_expired_link_answers_410_and_changes_nothing(self, client, person):
        with time_machine.travel(T0, tick=False) as clock:
            token = make_token(person, max_age_days=14)
            csrf_value = csrf(client, token)
            clock.shift(dt.timedelta(days=14, seconds=1))
            before = state()
            response = client.get(url("person", token))
            assert response.status_code == 410
            assert "abgelaufen" in response.content.decode()
            assert post(client, "withdraw", token, csrf_value, channel="sms").status_code == 410
            assert post(client, "erase", token, csrf_value, confirm="yes").status_code == 410
            assert state() == before

    def test_the_expired_page_speaks_english_when_asked(self, client, person):
        with time_machine.travel(T0, tick=False) as clock:
            token = make_token(person, max_age_days=1)
            clock.shift(dt.timedelta(days=2))
            response = client.get(url("person", token) + "?lang=en")
        assert response.status_code == 410 and "This link has expired" in response.content.decode()

    def test_a_post_without_csrf_token_is_refused_and_changes_nothing(self, client, person):
        token = make_token(person)
        before = state()
        response = client.post(url("withdraw", token), {"channel": "sms"})
        assert response.status_code == 403
        assert state() == before

    def test_actions_refuse_get(self, client, person):
        token = make_token(person)
        assert client.get(url("withdraw", token)).status_code == 405
        assert has_consent(person, "sms")


class TestRights:
    def test_withdrawal_by_link_cancels_pending_sms_at_once(self, client, person, location):
        message = planned_sms(location, person)
        token = make_token(person)
        csrf_value = csrf(client, token)
        response = post(client, "withdraw", token, csrf_value, channel="sms")
        assert response.status_code == 303
        message.refresh_from_db()
        assert message.status == MessageStatus.CANCELLED
        assert not has_consent(person, "sms") and has_consent(person, "email")
        assert Consent.objects.get(customer=person, channel="sms").opted_out_source == "link"
        entry = AuditEntry.objects.get(action=AuditAction.WITHDRAW)
        assert (entry.actor, entry.object_id) == ("subject-link", str(person.pk))
        assert entry.detail == "channel=sms cancelled=1"
        page = client.get(response["Location"]).content.decode()
        assert "Ihr Widerruf für SMS ist eingetragen" in page

    def test_an_unknown_channel_is_refused(self, client, person):
        token = make_token(person)
        response = post(client, "withdraw", token, csrf(client, token), channel="fax")
        assert response.status_code == 400
        assert has_consent(person, "sms") and has_consent(person, "email")

    def test_objection_to_statistics_is_stored_once(self, client, person):
        token = make_token(person)
        csrf_value = csrf(client, token)
        assert post(client, "object", token, csrf_value).status_code == 303
        assert post(client, "object", token, csrf_value).status_code == 303
        assert StatisticsObjection.objects.filter(customer=person).count() == 1
        assert AuditEntry.objects.filter(action=AuditAction.OBJECT, actor="subject-link").count() == 2
        assert "widersprochen" in client.get(url("person", token)).content.decode()

    def test_json_download_parses_and_has_the_persons_values(self, client, person):
        response = client.get(url("download", make_token(person)))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json")
        assert response["Content-Disposition"].startswith("attachment;")
        data = json.loads(response.content)
        assert data["customer_id"] == person.pk
        assert data["person"]["given_name"] == "Jörg" and data["person"]["family_name"] == "Bäcker"
        assert data["person"]["mobile_e164"] == "+4915112345678"
        assert data["person"]["email"] == "joerg@example.org"
        assert AuditEntry.objects.filter(action=AuditAction.EXPORT, actor="subject-link").exists()

    def test_restriction_by_link_applies_at_once(self, client, person, location):
        message = planned_sms(location, person)
        token = make_token(person)
        csrf_value = csrf(client, token)
        assert post(client, "restrict", token, csrf_value).status_code == 400  # a ground is required
        assert Customer.objects.get(pk=person.pk).restricted_at is None
        assert post(client, "restrict", token, csrf_value, basis="accuracy").status_code == 303
        assert Customer.objects.get(pk=person.pk).restricted_at is not None
        message.refresh_from_db()
        assert message.status == MessageStatus.CANCELLED
        entry = AuditEntry.objects.get(action=AuditAction.RESTRICT)
        assert entry.actor == "subject-link" and "basis=accuracy" in entry.detail
        assert "eingeschränkt" in client.get(url("person", token)).content.decode()

    def test_a_rectification_request_is_stored_for_staff(self, client, person):
        token = make_token(person)
        csrf_value = csrf(client, token)
        assert post(client, "rectify", token, csrf_value, text="   ").status_code == 400
        assert (
            post(client, "rectify", token, csrf_value, text="Meine Nummer endet auf 79.").status_code == 303
        )
        request = PrivacyRequest.objects.get()
        assert (request.customer, request.kind, request.text) == (
            person,
            "rectification",
            "Meine Nummer endet auf 79.",
        )
        assert request.handled_at is None
        entry = AuditEntry.objects.get(action=AuditAction.REQUEST)
        assert entry.detail == f"privacy_request={request.pk} kind=rectification"

    def test_erasure_by_link_after_confirmation_removes_the_person(self, client, person, location):
        planned_sms(location, person)
        token = make_token(person)
        csrf_value = csrf(client, token)
        confirm_page = client.get(url("erase", token))
        assert confirm_page.status_code == 200 and 'name="confirm"' in confirm_page.content.decode()
        assert post(client, "erase", token, csrf_value).status_code == 400  # box not ticked
        assert Customer.objects.filter(pk=person.pk).exists()
        response = post(client, "erase", token, csrf_value, confirm="yes")
        assert response.status_code == 200
        assert "Ihre Daten wurden gelöscht" in response.content.decode()
        assert "Bäcker" not in response.content.decode()
        assert not Customer.objects.filter(pk=person.pk).exists()
        assert not OutboundMessage.objects.exists() and not Consent.objects.exists()
        assert PrivacyLedger.objects.filter(customer_id=person.pk, kind="erase").exists()
        assert AuditEntry.objects.get(action=AuditAction.ERASE).actor == "subject-link"
        assert client.get(url("person", token)).status_code == 403  # the link is spent


class TestLinkCommand:
    def test_it_prints_a_working_link_for_the_customer_number(self, client, person):
        out, err = io.StringIO(), io.StringIO()
        call_command("privacy_link", "--customer", "1001", "--days", "3", stdout=out, stderr=err)
        link = out.getvalue().strip()
        assert link.startswith("http://127.0.0.1:8000/datenschutz/")
        assert client.get(path_of(link)).status_code == 200
        assert AuditEntry.objects.filter(action=AuditAction.LINK, object_id=str(person.pk)).exists()

    def test_an_unknown_number_or_bad_days_is_a_usage_error(self, person):
        with pytest.raises(CommandError) as unknown:
            call_command("privacy_link", "--customer", "9999")
        with pytest.raises(CommandError) as too_long:
            call_command("privacy_link", "--customer", "1001", "--days", "365")
        assert unknown.value.returncode == too_long.value.returncode == 2


class TestStaffSide:
    def test_staff_see_the_request_in_the_admin_and_mark_it_handled(self, client, person):
        token = make_token(person)
        post(client, "rectify", token, csrf(client, token), text="Falsche Nummer")
        request = PrivacyRequest.objects.get()
        staff = Client()
        staff.force_login(
            get_user_model().objects.create_superuser("chef", "chef@example.org", "pw-long-1234")
        )
        changelist = staff.get(reverse("admin:privacy_privacyrequest_changelist"))
        assert changelist.status_code == 200 and "Datenschutz-Antr" in changelist.content.decode()
        detail = staff.get(reverse("admin:privacy_privacyrequest_change", args=[request.pk]))
        assert "Falsche Nummer" in detail.content.decode()
        staff.post(
            reverse("admin:privacy_privacyrequest_changelist"),
            {"action": "mark_handled", "_selected_action": [request.pk]},
        )
        request.refresh_from_db()
        assert request.handled_at is not None
        entry = AuditEntry.objects.filter(object_type="privacy_request").get()
        assert entry.actor.startswith("staff:") and "Falsche" not in entry.detail
