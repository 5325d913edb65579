"""Rules and templates: owners only; the live preview renders, counts, prices and lints; unknown
placeholders are errors naming the placeholder and the allowed ones; saving stores the rule."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from alphasms.appointments.models import Channel, ReminderRule
from alphasms.messaging.models import SmsPrice
from alphasms.web.roles import Role
from alphasms.web.services import rules as service
from tests.conftest import make_rule

pytestmark = pytest.mark.django_db


def _form(**values: str) -> dict[str, str]:
    data = {
        "name": "SMS am Vortag",
        "active": "on",
        "channel": "sms",
        "offset_hours": "24",
        "window_start": "08:00",
        "window_end": "20:00",
        "subject_template": "",
        "body_template": "Hallo {given_name}, Ihr Termin am {date} um {time}.",
        "subject_template_en": "",
        "body_template_en": "",
        "unknown_outcome_policy": "resend",
    }
    data.update(values)
    return data


@pytest.fixture
def priced(location):
    SmsPrice.objects.create(country="DE", price_per_part_micros=75_000, currency="EUR")  # 0.075 €
    return location


def test_only_owners_see_and_change_rules(web_client):
    rule = make_rule(Channel.SMS)
    for role, status in ((Role.STAFF, 403), (Role.READONLY, 403)):
        client = web_client(role)
        assert client.get("/rules/").status_code == status
        assert client.post(f"/rules/{rule.pk}/", _form()).status_code == status
        assert client.post("/rules/preview/", _form()).status_code == status
    owner = web_client(Role.OWNER, headers={"accept-language": "de"})
    page = owner.get("/rules/").content.decode()
    assert "Regeln und Vorlagen" in page and rule.name in page and "24 Std. vorher" in page


def test_the_preview_shows_encoding_parts_characters_left_and_cost(priced):
    gsm = service.preview(ReminderRule(channel=Channel.SMS, body_template="Grüße {given_name}! " + "a" * 100))
    (sample,) = gsm.samples
    assert sample.text.startswith("Grüße Jörg! ")
    assert (sample.encoding, sample.segments, sample.units, sample.left) == ("GSM-7", 1, 112, 48)
    assert (sample.cost_micros, gsm.currency) == (75_000, "EUR")

    emoji = service.preview(
        ReminderRule(channel=Channel.SMS, body_template="Grüße {given_name}! " + "a" * 100 + " 🙂")
    )
    (sample,) = emoji.samples
    assert (sample.encoding, sample.segments, sample.cost_micros) == ("UCS-2", 2, 150_000)
    assert sample.units == 115 and sample.left == 2 * 67 - 115
    assert "🙂" in sample.non_gsm
    assert any("UCS-2" in warning for warning in emoji.warnings)


def test_the_english_text_gets_its_own_sample_and_the_lint_warns_about_the_reason(priced):
    preview = service.preview(
        ReminderRule(
            channel=Channel.SMS,
            body_template="Ihre Physiotherapie am {date}.",
            body_template_en="Your appointment on {date}.",
        )
    )
    assert [s.language for s in preview.samples] == ["de", "en"]
    assert preview.samples[1].text.startswith("Your appointment on ")
    assert any("Physiotherapie" in warning for warning in preview.warnings)


def test_an_unknown_placeholder_is_an_error_naming_it_and_the_allowed_ones(location, web_client):
    owner = web_client(Role.OWNER, headers={"accept-language": "en"})
    response = owner.post("/rules/preview/", _form(body_template="Hallo {vorname}, {date}"))
    text = response.content.decode()
    assert response.status_code == 200
    assert "Unknown placeholder {vorname}. Allowed are: {salutation}, {given_name}" in text
    german = web_client(Role.OWNER, headers={"accept-language": "de"})
    text = german.post("/rules/preview/", _form(body_template="Hallo {vorname}")).content.decode()
    assert "Unbekannter Platzhalter {vorname}. Erlaubt sind: {salutation}" in text


def test_the_preview_endpoint_renders_the_numbers_for_the_typed_text(priced, web_client):
    owner = web_client(Role.OWNER, headers={"accept-language": "de"})
    html = owner.post("/rules/preview/", _form(body_template="Termin am {date} 🙂")).content.decode()
    assert 'data-fact="encoding">UCS-2<' in html and 'data-fact="parts">1<' in html
    assert 'data-fact="cost">0,075\xa0€<' in html  # the exact price of one part, not 0,08 €


def test_saving_a_new_rule_and_editing_it(location, web_client):
    owner = web_client(Role.OWNER)
    response = owner.post("/rules/new/", _form(offset_hours="2.5", body_template_en="Hello {given_name}"))
    assert response.status_code == 302 and response["Location"] == "/rules/"
    rule = ReminderRule.objects.get(name="SMS am Vortag")
    assert (rule.offset_s, rule.body_template_en, rule.window_end) == (
        9000,
        "Hello {given_name}",
        dt.time(20),
    )

    response = owner.post(f"/rules/{rule.pk}/", _form(name="Kurz", smart_encoding="on", active=""))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.smart_encoding, rule.active) == ("Kurz", True, False)


def test_a_rule_with_an_unknown_placeholder_is_not_saved(location, web_client):
    rule = make_rule(Channel.SMS)
    owner = web_client(Role.OWNER, headers={"accept-language": "en"})
    response = owner.post(f"/rules/{rule.pk}/", _form(body_template="Hi {first}"))
    assert response.status_code == 400
    assert "Unknown placeholder {first}" in response.content.decode()
    rule.refresh_from_db()
    assert rule.body_template == "Hallo {given_name}, Termin {date} um {time}."


def test_the_preview_button_works_without_javascript_and_saves_nothing(priced):
    client = Client()
    from alphasms.testing.web import make_web_user, sign_in

    sign_in(client, make_web_user(Role.OWNER))
    rule = make_rule(Channel.SMS)
    html = client.post(f"/rules/{rule.pk}/", _form(body_template="Neu {date}", preview="1")).content.decode()
    assert 'id="rule-preview"' in html and "Neu " in html
    rule.refresh_from_db()
    assert rule.body_template.startswith("Hallo")
