"""A decimal comma in money fields (Settings → General prices and budgets, the admin) in German and
English, and the template length cap's error in both languages."""

from __future__ import annotations

import decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from alphasms.appointments.models import TEMPLATE_TOO_LONG, Location, ReminderRule
from alphasms.messaging.forms import AmountField
from alphasms.messaging.models import SmsPrice
from alphasms.web.roles import Role
from alphasms.web.services.rules import TEMPLATE_TOO_LONG_MSGID

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize(("typed", "micros"), [("0,075", 75_000), ("0.075", 75_000), ("12,5", 12_500_000)])
def test_the_web_price_field_takes_a_decimal_comma_in_both_languages(web_client, language, typed, micros):
    owner = web_client(Role.OWNER, HTTP_ACCEPT_LANGUAGE=language)
    response = owner.post("/settings/prices/", {"country": "DE", "price": typed, "currency": "EUR"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert SmsPrice.objects.get(country="DE").price_per_part_micros == micros


def test_an_english_thousands_comma_is_refused_not_guessed():
    field = AmountField()
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        field.clean("1,000")
    assert "“1,000” is ambiguous" in caught.value.messages[0]
    with translation.override("de"):
        assert field.clean("1,000") == decimal.Decimal("1.000")
        assert field.clean(" 0,0797 ") == decimal.Decimal("0.0797")
        with pytest.raises(ValidationError):
            field.clean("1.000,5")
    with translation.override("en"):
        assert field.clean("0,075") == decimal.Decimal("0.075")


def test_the_location_budget_takes_a_decimal_comma(web_client):
    location = Location.objects.create(name="Praxis", time_zone="Europe/Berlin", country="DE")
    owner = web_client(Role.OWNER, HTTP_ACCEPT_LANGUAGE="en")
    response = owner.post(
        f"/settings/locations/{location.pk}/",
        {
            "name": "Praxis",
            "time_zone": "Europe/Berlin",
            "country": "DE",
            "phone": "",
            "budget": "25,50",
            "budget_currency": "EUR",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    location.refresh_from_db()
    assert location.monthly_sms_budget_micros == 25_500_000


def test_the_cap_msgid_is_the_one_the_web_catalog_holds():
    assert TEMPLATE_TOO_LONG == TEMPLATE_TOO_LONG_MSGID


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", "Text-Vorlage: 1601 Zeichen – höchstens 1600 erlaubt. Bitte den Text kürzen."),
        ("en", "1601 characters – at most 1600 allowed. Please shorten the text."),
    ],
)
def test_the_cap_error_is_in_the_ui_language(language, expected):
    rule = ReminderRule(name="r", channel="sms", body_template="x" * 1_601)
    with translation.override(language), pytest.raises(ValidationError) as caught:
        rule.full_clean()
    assert expected in caught.value.message_dict["body_template"][0]


def test_the_web_editor_and_preview_show_the_cap_in_english(web_client):
    Location.objects.create(name="Praxis", time_zone="Europe/Berlin", country="DE")
    owner = web_client(Role.OWNER, HTTP_ACCEPT_LANGUAGE="en")
    data = {
        "name": "Lang",
        "active": "on",
        "channel": "sms",
        "offset_hours": "24",
        "window_start": "08:00",
        "window_end": "20:00",
        "subject_template": "",
        "body_template": "x" * 1_601,
        "subject_template_en": "",
        "body_template_en": "",
        "unknown_outcome_policy": "resend",
    }
    page = owner.post("/rules/preview/", data, HTTP_HX_REQUEST="true").content.decode()
    assert "Text, German: 1601 characters – at most 1600 allowed. Please shorten the text." in page
    page = owner.post("/rules/new/", data).content.decode()
    assert "1601 characters – at most 1600 allowed" in page and "Zeichen" not in page
