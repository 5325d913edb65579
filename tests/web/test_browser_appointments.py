"""Browser flow (Playwright, Debian's Chromium): an owner signs in with a TOTP code, opens an appointment
with a planned SMS reminder, cancels it and sees the reminder cancelled; screenshots of the appointment
list, the week view and a customer's page (tests/screenshots/ or $ALPHASMS_SCREENSHOT_DIR)."""

from __future__ import annotations

import re

import pytest

from alphasms.appointments.models import Appointment, AppointmentStatus, Customer
from alphasms.appointments.services.planning import plan
from alphasms.appointments.services.sample import ensure_sample_data
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.testing.web import make_web_user, totp_code
from alphasms.web.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in_owner(page, url: str) -> None:
    owner = make_web_user(Role.OWNER, username="chefin")
    page.goto(url + "/appointments/")
    page.get_by_label("Benutzername").fill("chefin")
    page.get_by_label("Passwort").fill(owner.password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(re.compile(r".*/login/code/.*"))
    page.get_by_label("Code aus Ihrer Authenticator-App").fill(totp_code(owner.device))
    page.get_by_role("button", name="Bestätigen").click()
    page.wait_for_url(url + "/appointments/")


def test_an_owner_cancels_an_appointment_and_sees_its_sms_reminder_cancelled(
    browser_page, screenshot, alphasms_settings
):
    ensure_sample_data()
    plan()
    joerg = Customer.objects.get(customer_number="1001")
    appointment = Appointment.objects.filter(customer=joerg, status="scheduled").order_by("start_at").first()
    reminder = OutboundMessage.objects.get(appointment=appointment, channel="sms")
    assert reminder.status == MessageStatus.PLANNED
    pending = OutboundMessage.objects.filter(appointment=appointment, status=MessageStatus.PLANNED).count()
    page, url = browser_page
    _sign_in_owner(page, url)

    assert page.locator("h1").inner_text() == "Termine"
    row = page.locator("table.appointments tbody tr").filter(has_text="Jörg Bäcker").first
    assert "geplant" in row.inner_text()
    screenshot(page, "appointments-list")

    page.get_by_role("link", name="Woche", exact=True).click()
    page.wait_for_url(re.compile(r".*/appointments/week/.*"))
    assert page.locator(".week-day").count() == 7
    assert page.locator(".week-day .chip").filter(has_text="Jörg Bäcker").count() >= 1
    screenshot(page, "appointments-week")
    page.get_by_role("link", name="Nächste Woche").focus()  # the calendar is keyboard-reachable
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/appointments/week/\?date=.*"))
    page.get_by_role("link", name="Heute").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()

    page.goto(f"{url}/appointments/{appointment.pk}/")
    sms = page.locator('table[data-channel="sms"] .reminder-status')
    assert sms.inner_text() == "geplant"
    screenshot(page, "appointment-detail")
    page.get_by_role("link", name="Termin absagen").click()  # asks first, on a page of its own
    page.wait_for_url(re.compile(r".*/cancel/$"))
    screenshot(page, "appointment-cancel-confirm")
    assert OutboundMessage.objects.get(pk=reminder.pk).status == MessageStatus.PLANNED
    page.get_by_role("button", name="Ja, Termin absagen").click()
    page.wait_for_url(re.compile(r".*/appointments/\d+/$"))
    assert f"Termin abgesagt; {pending} Erinnerungen storniert." in page.locator(".messages").inner_text()
    assert page.locator("#appointment-status").inner_text() == "storniert"  # the shared label
    assert sms.inner_text() == "storniert"
    assert "Termin vom Team abgesagt" in page.locator('table[data-channel="sms"] .events').inner_text()
    screenshot(page, "appointment-cancelled")

    appointment.refresh_from_db()
    reminder.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert reminder.status == MessageStatus.CANCELLED
    assert reminder.events.filter(status=MessageStatus.CANCELLED).count() == 1  # history kept

    page.get_by_role("link", name="Jörg Bäcker").click()
    page.wait_for_url(f"{url}/customers/{joerg.pk}/")
    assert page.locator("table.consents tr[data-channel='sms'] .badge").inner_text() == "erteilt"
    assert "storniert" in page.locator("table.history").inner_text()
    screenshot(page, "customer-detail")
