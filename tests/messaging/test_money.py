"""Exact SMS money (micros: millionths of the currency) and the country check of prices and locations.

Prices and a single message's cost are shown with their full precision ("0,075 €", "0,225 €"); sums
(a run's cost, a month's spend) are rounded half up to cents only when shown ("0,23 €")."""

from __future__ import annotations

import decimal

import pytest
from django.contrib.admin.sites import site
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.utils import translation

from alphasms.appointments.models import Location, validate_country
from alphasms.messaging.admin import SmsPriceForm
from alphasms.messaging.models import SmsPrice, validate_price_country
from alphasms.messaging.money import (
    amount_text,
    exact_amount,
    format_price,
    format_total,
    rounded_amount,
    to_micros,
)

NBSP = "\xa0"


def test_a_fractional_cent_price_is_stored_exactly_in_micros():
    assert to_micros(decimal.Decimal("0.075")) == 75_000
    assert to_micros("0.0797") == 79_700  # Twilio's US price
    assert to_micros(25) == 25_000_000
    assert to_micros("0.000001") == 1


def test_an_amount_finer_than_a_millionth_is_refused_not_rounded():
    with pytest.raises(ValueError, match="more than 6 decimals"):
        to_micros("0.0750001")
    with pytest.raises(ValueError, match="not a finite number"):
        to_micros("NaN")


def test_prices_show_full_precision_and_sums_are_rounded_to_cents():
    assert format_price(75_000, "EUR") == f"0,075{NBSP}€"
    assert format_price(225_000, "EUR") == f"0,225{NBSP}€"
    assert format_price(80_000, "EUR") == f"0,08{NBSP}€"  # never fewer digits than cents
    assert format_price(25_000_000, "EUR") == f"25,00{NBSP}€"
    assert format_price(79_700, "USD", "en") == "$0.0797"
    assert format_total(225_000, "EUR") == f"0,23{NBSP}€"  # half up, only when shown
    assert format_total(224_999, "EUR") == f"0,22{NBSP}€"
    assert format_total(1_234_567_890, "EUR", "en") == "€1,234.57"


def test_amounts_follow_the_currencys_minor_unit():
    assert exact_amount(3_000_000, "JPY") == decimal.Decimal("3")  # the yen has no minor unit
    assert rounded_amount(2_500_000, "JPY") == decimal.Decimal("3")
    assert amount_text(75_000, "EUR") == "0.075"
    assert amount_text(80_000, "EUR") == "0.08"


def test_a_country_must_be_an_iso_3166_code_that_phone_numbers_know():
    for code in ("DE", "AT", "CH", "US", "XK"):
        validate_country(code)
    for bad in ("XX", "de", "001", "D", "EU"):
        with pytest.raises(ValidationError, match="ist kein Ländercode"):
            validate_country(bad)
    validate_price_country("*")
    with pytest.raises(ValidationError):
        validate_price_country("XX")


@pytest.mark.django_db
@translation.override("en")
def test_the_admin_price_form_refuses_xx_and_stores_0_075_exactly():
    form = SmsPriceForm({"country": "XX", "price": "0.075", "currency": "EUR"})
    assert not form.is_valid()
    assert form.errors["country"] == [
        "“XX” is not a country code: use two letters as in ISO 3166-1, e.g. DE, AT or CH, or * for all "
        "other countries."
    ]
    form = SmsPriceForm({"country": "de", "price": "0.075", "currency": "EUR"})
    assert form.is_valid(), form.errors
    form.save()
    assert SmsPrice.objects.values_list("country", "price_per_part_micros").get() == ("DE", 75_000)
    form = SmsPriceForm({"country": "AT", "price": "0.0750001", "currency": "EUR"})
    assert not form.is_valid()
    assert "6 decimal places" in form.errors["price"][0]


@pytest.mark.django_db
def test_the_admin_shows_the_exact_price_and_edits_it_in_currency_units(admin_user):
    price = SmsPrice.objects.create(country="DE", price_per_part_micros=75_000, currency="EUR")
    model_admin = site._registry[SmsPrice]
    assert model_admin.price_per_part(price) == f"0,075{NBSP}€"
    request = RequestFactory().get("/")
    request.user = admin_user
    form = model_admin.get_form(request, price)(instance=price)
    assert form.fields["price"].initial == decimal.Decimal("0.075")


@pytest.mark.django_db
@translation.override("en")
def test_the_admin_location_form_refuses_xx_and_keeps_the_budget_exact(admin_user):
    model_admin = site._registry[Location]
    request = RequestFactory().get("/")
    request.user = admin_user
    form_class = model_admin.get_form(request)
    data = {"name": "Praxis", "time_zone": "Europe/Berlin", "country": "XX", "budget": "25.5"}
    form = form_class({**data, "budget_currency": "EUR"})
    assert not form.is_valid()
    assert "“XX” is not a country code" in form.errors["country"][0]
    form = form_class({**data, "country": "AT", "budget": "24.775", "budget_currency": "EUR"})
    assert form.is_valid(), form.errors
    location = form.save()
    assert (location.country, location.monthly_sms_budget_micros) == ("AT", 24_775_000)
