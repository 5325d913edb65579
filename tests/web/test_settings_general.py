"""Settings → General: locations (IANA time zone, budget), spend against budget, prices, users and roles
(never without an owner), TOTP reset; owners only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from alphasms.appointments.models import Location
from alphasms.messaging.models import MonthlyUsage, SmsPrice
from alphasms.messaging.services.cost import month_start
from alphasms.testing.web import make_web_user, sign_in
from alphasms.web.roles import Role, role_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    web_user = make_web_user(Role.OWNER, username="chefin")
    return web_user, sign_in(Client(), web_user)


def test_only_owners_see_or_change_settings(web_client, location):
    for role in (Role.STAFF, Role.READONLY):
        client = web_client(role)
        assert client.get("/settings/").status_code == 403
        assert (
            client.post(
                "/settings/prices/", {"country": "DE", "price": "0.08", "currency": "EUR"}
            ).status_code
            == 403
        )
        assert (
            client.post("/settings/users/", {"username": "x", "password": "y", "role": "owner"}).status_code
            == 403
        )
    assert SmsPrice.objects.count() == 0


def test_the_page_shows_each_locations_spend_against_its_budget(owner, location):
    location.monthly_sms_budget_micros = 20_000_000
    location.save()
    now = timezone.now()
    MonthlyUsage.objects.create(
        location_id=location.pk,
        month=month_start(location, now).astimezone(location.tz).date(),
        channel="sms",
        currency="EUR",
        messages=10,
        parts=10,
        cost_micros=15_000_000,
    )
    response = owner[1].get("/settings/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "15,00\xa0€ von 20,00\xa0€" in html
    assert 'value="75"' in html


def test_a_location_is_added_with_a_valid_time_zone_and_a_budget_in_euros(owner):
    client = owner[1]
    response = client.post(
        "/settings/locations/new/",
        {"name": "Praxis Wien", "time_zone": "Europe/Vienna", "country": "at", "phone": "", "budget": "12.50",
         "budget_currency": "EUR"},
    )  # fmt: skip
    assert response.status_code == 302
    location = Location.objects.get(name="Praxis Wien")
    assert (location.time_zone, location.country, location.monthly_sms_budget_micros) == (
        "Europe/Vienna",
        "AT",
        12_500_000,
    )


def test_a_time_zone_that_is_not_iana_is_refused_with_the_fix(owner, location):
    response = owner[1].post(
        f"/settings/locations/{location.pk}/",
        {
            "name": location.name,
            "time_zone": "CET+1",
            "country": "DE",
            "budget": "",
            "budget_currency": "EUR",
        },
    )
    assert response.status_code == 400
    assert "keine IANA-Zeitzone" in response.content.decode()
    location.refresh_from_db()
    assert location.time_zone == "Europe/Berlin"


def test_an_empty_budget_means_no_limit(owner, location):
    location.monthly_sms_budget_micros = 5_000_000
    location.save()
    owner[1].post(
        f"/settings/locations/{location.pk}/",
        {
            "name": location.name,
            "time_zone": "Europe/Berlin",
            "country": "DE",
            "budget": "",
            "budget_currency": "EUR",
        },
    )
    location.refresh_from_db()
    assert location.monthly_sms_budget_micros is None


def test_prices_are_set_replaced_and_removed(owner):
    client = owner[1]
    client.post("/settings/prices/", {"country": "de", "price": "0.075", "currency": "EUR"})
    client.post("/settings/prices/", {"country": "*", "price": "0.12", "currency": "EUR"})
    client.post("/settings/prices/", {"country": "DE", "price": "0.08", "currency": "EUR"})
    assert dict(SmsPrice.objects.values_list("country", "price_per_part_micros")) == {
        "DE": 80_000,
        "*": 120_000,
    }
    assert (
        client.post("/settings/prices/", {"country": "DEU", "price": "1", "currency": "EUR"}).status_code
        == 400
    )
    client.post(f"/settings/prices/{SmsPrice.objects.get(country='*').pk}/remove/")
    assert list(SmsPrice.objects.values_list("country", flat=True)) == ["DE"]


def test_an_owner_creates_a_staff_user_who_can_sign_in(owner):
    response = owner[1].post(
        "/settings/users/", {"username": "empfang", "password": "Lange-Passphrase-42", "role": "staff"}
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="empfang")
    assert role_of(user) is Role.STAFF and user.check_password("Lange-Passphrase-42")


def test_a_weak_password_or_a_taken_name_is_refused(owner):
    client = owner[1]
    response = client.post(
        "/settings/users/", {"username": "empfang", "password": "password", "role": "staff"}
    )
    assert response.status_code == 400 and response.context["user_form"].errors["password"]
    response = client.post(
        "/settings/users/", {"username": "CHEFIN", "password": "Lange-Passphrase-42", "role": "staff"}
    )
    assert response.status_code == 400 and response.context["user_form"].errors["username"]
    assert get_user_model().objects.count() == 1


def test_the_last_owner_cannot_lose_the_role_or_be_deactivated(owner):
    me, client = owner
    response = client.post(f"/settings/users/{me.user.pk}/role/", {"role": "staff"}, follow=True)
    assert "letzte Inhaber" in response.content.decode()
    assert role_of(get_user_model().objects.get(pk=me.user.pk)) is Role.OWNER
    response = client.post(f"/settings/users/{me.user.pk}/active/", {"active": "0"}, follow=True)
    assert get_user_model().objects.get(pk=me.user.pk).is_active

    other = make_web_user(Role.OWNER, username="partner")
    client.post(f"/settings/users/{other.user.pk}/active/", {"active": "0"})
    assert not get_user_model().objects.get(pk=other.user.pk).is_active  # I am still an owner
    client.post(f"/settings/users/{other.user.pk}/active/", {"active": "1"})
    client.post(f"/settings/users/{me.user.pk}/role/", {"role": "readonly"})  # partner is owner now
    me.user.refresh_from_db()
    assert role_of(get_user_model().objects.get(pk=me.user.pk)) is Role.READONLY


def test_a_user_is_deactivated_and_then_has_no_access(owner):
    staff = make_web_user(Role.STAFF, username="aushilfe")
    staff_client = sign_in(Client(), staff)
    assert staff_client.get("/").status_code == 200
    owner[1].post(f"/settings/users/{staff.user.pk}/active/", {"active": "0"})
    assert staff_client.get("/").status_code == 302  # signed out: back to the sign-in page


def test_resetting_the_authenticator_removes_the_device(owner):
    staff = make_web_user(Role.STAFF, username="aushilfe", with_device=True)
    owner[1].post(f"/settings/users/{staff.user.pk}/totp/")
    assert not TOTPDevice.objects.filter(user=staff.user).exists()
    assert TOTPDevice.objects.filter(user=owner[0].user).exists()


def test_the_sending_windows_of_active_rules_are_listed(owner, location):
    from tests.conftest import make_rule

    make_rule(name="SMS am Vortag", window_start=dt.time(9, 0), window_end=dt.time(18, 30))
    html = owner[1].get("/settings/").content.decode()
    assert "SMS am Vortag" in html and "09:00–18:30" in html


def test_a_fractional_cent_price_is_kept_and_shown_exactly(owner):
    client = owner[1]
    response = client.post("/settings/prices/", {"country": "DE", "price": "0.075", "currency": "EUR"})
    assert response.status_code == 302
    assert SmsPrice.objects.get(country="DE").price_per_part_micros == 75_000  # not rounded to 8 cents
    html = client.get("/settings/").content.decode()
    assert "<td>0,075\xa0€</td>" in html
    client.post("/settings/prices/", {"country": "US", "price": "0.0797", "currency": "USD"})
    assert SmsPrice.objects.get(country="US").price_per_part_micros == 79_700
    too_fine = client.post("/settings/prices/", {"country": "AT", "price": "0.0750001", "currency": "EUR"})
    assert too_fine.status_code == 400
    assert "6 Dezimalstellen" in too_fine.content.decode()
    assert not SmsPrice.objects.filter(country="AT").exists()


def test_an_unknown_country_code_is_refused_with_the_fix(owner, location):
    client = owner[1]
    response = client.post("/settings/prices/", {"country": "XX", "price": "0.075", "currency": "EUR"})
    assert response.status_code == 400
    errors = response.context["price_form"].errors["country"]
    assert errors == [
        "„XX“ ist kein Ländercode: zwei Buchstaben nach ISO 3166-1, z. B. DE, AT oder CH, oder * für "
        "alle übrigen Länder."
    ]
    assert not SmsPrice.objects.exists()
    assert (
        client.post("/settings/prices/", {"country": "*", "price": "0.09", "currency": "EUR"}).status_code
        == 302
    )
    response = client.post(
        f"/settings/locations/{location.pk}/",
        {
            "name": location.name,
            "time_zone": "Europe/Berlin",
            "country": "XX",
            "budget": "",
            "budget_currency": "EUR",
        },
    )
    assert response.status_code == 400
    assert "„XX“ ist kein Ländercode" in response.content.decode()
    location.refresh_from_db()
    assert location.country == "DE"


def test_a_budget_with_fractions_of_a_cent_is_kept_exactly(owner, location):
    owner[1].post(
        f"/settings/locations/{location.pk}/",
        {"name": location.name, "time_zone": "Europe/Berlin", "country": "DE", "budget": "24.775",
         "budget_currency": "EUR"},
    )  # fmt: skip
    location.refresh_from_db()
    assert location.monthly_sms_budget_micros == 24_775_000
    page = owner[1].get(f"/settings/locations/{location.pk}/").content.decode()
    assert 'value="24.775"' in page
