"""Browser flow of Settings → General (Playwright, Debian's Chromium): an owner opens the settings from the
navigation, sets a location's budget and adds a staff user. Screenshot: settings."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from alphasms.appointments.models import Location
from alphasms.messaging.models import SmsPrice
from alphasms.testing.web import make_web_user, sign_in_browser
from alphasms.web.roles import Role, role_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_owner_sets_a_budget_and_adds_a_staff_user(browser_page, screenshot):
    location = Location.objects.create(name="Praxis Sonnenhof", phone="+49 30 1234567")
    SmsPrice.objects.create(country="DE", price_per_part_micros=75_000)
    SmsPrice.objects.create(country="*", price_per_part_micros=120_000)
    owner = make_web_user(Role.OWNER, username="chefin")
    page, url = browser_page
    sign_in_browser(page, url, owner)

    page.locator("nav.nav, nav[aria-label='Hauptnavigation']").get_by_role(
        "link", name="Einstellungen"
    ).click()
    page.wait_for_url(url + "/settings/")
    page.get_by_role("link", name="Praxis Sonnenhof bearbeiten").click()
    page.get_by_label("SMS-Budget pro Monat").fill("25")
    page.get_by_role("button", name="Speichern").click()
    page.wait_for_url(url + "/settings/")
    assert "0,00\xa0€ von 25,00\xa0€" in page.locator("table.locations").inner_text()
    location.refresh_from_db()
    assert location.monthly_sms_budget_micros == 25_000_000

    page.get_by_label("Benutzername", exact=True).fill("empfang")
    page.get_by_label("Erstes Passwort").fill("Lange-Passphrase-42")
    page.get_by_label("Rolle", exact=True).select_option("staff")
    page.get_by_role("button", name="Benutzer anlegen").click()
    page.wait_for_url(url + "/settings/")
    assert page.locator("tr[data-user='empfang']").count() == 1
    assert role_of(get_user_model().objects.get(username="empfang")) is Role.STAFF
    screenshot(page, "settings")
