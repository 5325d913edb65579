"""Browser flow (Playwright, Debian's Chromium): reception staff start a new appointment, do not find
the patient, create them from the appointment form (E.164 number, SMS opt-in with source and wording)
and come back with the new person chosen; the language switch warns before typed input is lost; the
appointment list stacks its rows on a phone. Screenshots in tests/screenshots/ (or
$ALPHASMS_SCREENSHOT_DIR)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from alphasms.appointments.models import Appointment, Customer, Location
from alphasms.privacy.models import Consent
from alphasms.testing.web import make_web_user
from alphasms.web.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in_staff(page, url: str) -> None:
    staff = make_web_user(Role.STAFF, username="empfang")
    page.goto(url + "/appointments/new/")
    page.get_by_label("Benutzername").fill("empfang")
    page.get_by_label("Passwort").fill(staff.password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(url + "/appointments/new/")


def test_staff_create_a_customer_from_the_new_appointment_form(browser_page, screenshot, alphasms_settings):
    Location.objects.create(name="Praxis Sonnenhof")
    page, url = browser_page
    _sign_in_staff(page, url)

    page.get_by_label("Kunden suchen", exact=True).fill("Clarke, Emily")
    page.get_by_role("button", name="Suchen", exact=True).click()
    page.wait_for_load_state()
    page.get_by_label("Datum").fill((dt.date.today() + dt.timedelta(days=2)).isoformat())
    page.get_by_label("Beginn").fill("09:30")
    page.get_by_label("Ende").fill("10:00")
    page.get_by_label("Titel").fill("Massage")
    page.get_by_role("button", name="Neuer Kunde").click()
    page.wait_for_url(re.compile(r".*/customers/new/\?.*"))
    assert page.get_by_label("Nachname").input_value() == "Clarke"
    assert page.get_by_label("Vorname").input_value() == "Emily"
    page.get_by_label("Mobilnummer").fill("0151 2345 6789")
    page.get_by_label("E-Mail", exact=True).fill("emily@example.org")
    page.get_by_label("SMS-Erinnerungen: Einwilligung liegt vor").check()
    page.get_by_label("Wie erteilt").select_option("phone")
    page.get_by_label("Textfassung").fill("Anmeldebogen 2026-01")
    screenshot(page, "customer-new")
    page.get_by_role("button", name="Kunden anlegen").click()
    page.wait_for_url(re.compile(r".*/appointments/new/\?.*"))

    customer = Customer.objects.get(family_name="Clarke")
    assert customer.mobile_e164 == "+4915123456789"
    consent = Consent.objects.get(customer=customer)
    assert (consent.channel, consent.source, consent.wording_version) == (
        "sms",
        "phone",
        "Anmeldebogen 2026-01",
    )
    assert "Kunde angelegt." in page.locator(".messages").inner_text()
    assert page.locator("#id_customer").input_value() == str(customer.pk)
    assert page.get_by_label("Titel").input_value() == "Massage"
    assert page.get_by_label("Beginn").input_value() == "09:30"
    screenshot(page, "appointment-new-with-new-customer")
    page.get_by_role("button", name="Speichern").last.click()
    page.wait_for_url(re.compile(r".*/appointments/\d+/$"))
    appointment = Appointment.objects.get()
    assert appointment.customer == customer and appointment.summary == "Massage"

    # a duplicate is shown before a second Emily Clarke is created
    page.goto(url + "/customers/new/")
    page.get_by_label("Vorname").fill("EMILY")
    page.get_by_label("Nachname").fill("clarke")
    page.get_by_role("button", name="Kunden anlegen").click()
    page.wait_for_load_state()
    assert "Diese Person gibt es vielleicht schon" in page.locator("#duplicates").inner_text()
    assert "gleicher Name" in page.locator("#duplicates").inner_text()
    screenshot(page, "customer-new-duplicate")
    assert Customer.objects.count() == 1


def test_switching_the_language_mid_form_asks_first(browser_page, alphasms_settings):
    Location.objects.create(name="Praxis Sonnenhof")
    page, url = browser_page
    _sign_in_staff(page, url)
    page.get_by_label("Titel").fill("Nicht verlieren")
    dialogs: list[str] = []

    def dismiss(dialog) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.get_by_label("Sprache").select_option("en")
    page.get_by_role("button", name="Wechseln").click()
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert page.get_by_label("Titel").input_value() == "Nicht verlieren"  # still here, input kept


def test_on_a_phone_the_appointment_list_stacks_its_rows(browser_page, screenshot, alphasms_settings):
    from alphasms.appointments.services.sample import ensure_sample_data

    ensure_sample_data()
    page, url = browser_page
    _sign_in_staff(page, url)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url + "/appointments/")
    row = page.locator("table.appointments tbody tr").first
    cells = row.locator("td")
    first, second = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
    assert first and second and second["y"] > first["y"]  # below each other, not side by side
    assert first["width"] > 300
    screenshot(page, "appointments-list-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url + "/")
    today, tomorrow = page.locator(".dashboard .day").nth(0), page.locator(".dashboard .day").nth(1)
    assert today.bounding_box()["y"] == tomorrow.bounding_box()["y"]  # the cards share their top
    screenshot(page, "dashboard-aligned")
