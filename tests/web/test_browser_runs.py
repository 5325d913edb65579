"""Browser flows (Playwright, Debian's Chromium) for tomorrow's run, the rule editor and the message log:
an owner signs in with a TOTP code, sees tomorrow's totals and holds one message; edits a template and
watches parts and cost change while typing; finds a delivery failure on the dashboard and resends it.
Screenshots: rules editor, tomorrow's run, message log, message detail (tests/screenshots/ or
$ALPHASMS_SCREENSHOT_DIR)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.utils import timezone

from alphasms.appointments.models import Channel, Location
from alphasms.messaging.models import DeliveryAttempt, MessageStatus, OutboundMessage, SmsPrice, StatusEvent
from alphasms.testing.web import make_web_user, totp_code
from alphasms.web.roles import Role
from tests.conftest import make_appointment, make_customer, make_rule

pytestmark = pytest.mark.django_db(transaction=True)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def _sign_in_owner(page, url: str, start: str) -> None:
    """Sign in as a new owner through the browser (password, then the TOTP code), landing on ``start``."""
    owner = make_web_user(Role.OWNER, username="chefin")
    page.goto(url + start)
    page.get_by_label("Benutzername").fill("chefin")
    page.get_by_label("Passwort").fill(owner.password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(re.compile(r".*/login/code/.*"))
    page.get_by_label("Code aus Ihrer Authenticator-App").fill(totp_code(owner.device))
    page.get_by_role("button", name="Bestätigen").click()
    page.wait_for_url(url + start)


@pytest.fixture
def practice(alphasms_settings):
    """A location, a price of 9 cents per DE part, an SMS rule (24 h before, window 08–20) and two
    customers with appointments the day after tomorrow at 10:00 Berlin: two SMS go out tomorrow."""
    location = Location.objects.create(name="Praxis Sonnenhof", phone="+49 30 1234567")
    SmsPrice.objects.create(country="DE", price_per_part_micros=90_000, currency="EUR")
    rule = make_rule(Channel.SMS, name="SMS am Vortag")
    day = timezone.now().astimezone(BERLIN).date() + dt.timedelta(days=2)
    for index, (given, family) in enumerate((("Jörg", "Bäcker"), ("Emily", "Clarke"))):
        customer = make_customer(
            f"10{index}", given, family, mobile=f"+491511234567{index}", consent=("sms",)
        )
        start = dt.datetime.combine(day, dt.time(10, index * 30), tzinfo=BERLIN)
        make_appointment(location, customer, start)
    return location, rule


def test_tomorrows_run_shows_the_totals_and_one_message_is_held(browser_page, screenshot, practice):
    page, url = browser_page
    _sign_in_owner(page, url, "/tomorrow/")
    assert page.locator("h1").inner_text() == "Versand morgen"
    assert page.locator("[data-total='messages']").inner_text() == "2"
    assert page.locator("[data-total='parts']").inner_text() == "2"
    assert page.locator("[data-total='cost']").inner_text() == "0,18\xa0€"
    screenshot(page, "tomorrow-run")

    page.get_by_role("button", name="Nachricht an Jörg Bäcker anhalten").click()
    page.wait_for_selector("[data-total='held']:text-is('1')")
    assert page.locator("[data-total='messages']").inner_text() == "1"
    assert page.locator("[data-total='cost']").inner_text() == "0,09\xa0€"
    assert page.get_by_role("button", name="Nachricht an Jörg Bäcker freigeben").is_visible()
    held = OutboundMessage.objects.get(customer__family_name="Bäcker")
    assert (held.status, held.error_code) == (MessageStatus.HELD, "held_by_staff")
    screenshot(page, "tomorrow-run-held")


def test_editing_a_template_shows_parts_and_cost_change_while_typing(browser_page, screenshot, practice):
    _, rule = practice
    page, url = browser_page
    _sign_in_owner(page, url, f"/rules/{rule.pk}/")
    parts, encoding, cost = (page.locator(f"[data-fact='{f}']").first for f in ("parts", "encoding", "cost"))
    body = page.get_by_label("Text, Deutsch", exact=True)
    body.fill("")
    body.press_sequentially(
        "Grüße, {given_name}! Ihr Termin ist am {date} um {time}. Bitte bringen Sie Ihre Karte mit. "
        "Bis bald, Ihr Praxisteam."
    )
    page.wait_for_function(
        "() => document.querySelector('.sms-text').textContent.endsWith('Ihr Praxisteam.')"
    )
    assert (encoding.inner_text(), parts.inner_text(), cost.inner_text()) == ("GSM-7", "1", "0,09\xa0€")
    assert "Grüße, Jörg!" in page.locator(".sms-text").first.inner_text()
    left_before = int(page.locator("[data-fact='left']").first.inner_text())
    screenshot(page, "rules-editor")

    body.press("End")
    page.keyboard.insert_text(" 🙂")
    page.wait_for_selector("[data-fact='encoding']:text-is('UCS-2')")
    assert int(parts.inner_text()) >= 2
    assert cost.inner_text() == f"0,{9 * int(parts.inner_text()):02d}\xa0€"
    assert int(page.locator("[data-fact='left']").first.inner_text()) != left_before
    assert "🙂" in page.locator(".sms-text").first.inner_text()
    screenshot(page, "rules-editor-ucs2")

    page.get_by_role("button", name="Speichern").click()
    page.wait_for_url(url + "/rules/")
    rule.refresh_from_db()
    assert rule.body_template.endswith("Ihr Praxisteam. 🙂")


def test_a_delivery_failure_on_the_dashboard_is_resent_from_its_page(browser_page, screenshot, practice):
    location, rule = practice
    appointment = location.appointment_set.order_by("start_at").first()
    failed = OutboundMessage.objects.create(
        appointment=appointment,
        rule=rule,
        channel=Channel.SMS,
        customer_id=appointment.customer_id,
        recipient="+4915112345670",
        body="Hallo Jörg",
        segments=1,
        encoding="GSM-7",
        occurrence_start_at=appointment.start_at,
        due_at=timezone.now() - dt.timedelta(hours=1),
        next_attempt_at=timezone.now() - dt.timedelta(hours=1),
        status=MessageStatus.FAILED,
        status_changed_at=timezone.now(),
        attempt_count=1,
        error_code="invalid_number",
        user_message="Die Nummer ist ungültig oder nicht erreichbar.",
    )
    sent_at = failed.due_at + dt.timedelta(seconds=2)
    StatusEvent.objects.create(message=failed, at=failed.due_at, status="sending", note="worker-1")
    DeliveryAttempt.objects.create(
        message=failed,
        gateway="sevenio",
        started_at=sent_at,
        finished_at=sent_at,
        outcome="failed",
        error_code="invalid_number",
        user_message="Die Nummer ist ungültig oder nicht erreichbar.",
        http_status=400,
        duration_ms=180,
    )
    StatusEvent.objects.create(
        message=failed, at=sent_at, status="failed", note="permanent error: invalid_number"
    )
    page, url = browser_page
    _sign_in_owner(page, url, "/")
    todo = page.locator("section.todo")
    assert "Die Nummer ist ungültig" in todo.inner_text()
    todo.get_by_role("link", name="Jörg Bäcker").click()
    page.wait_for_url(url + f"/messages/{failed.pk}/")
    assert page.locator("[data-status]").inner_text() == "fehlgeschlagen"
    screenshot(page, "message-detail")

    page.get_by_role("button", name="Erneut senden").click()
    page.wait_for_selector("[data-status='queued']")
    screenshot(page, "message-detail-resent")
    assert "wieder in der Warteschlange" in page.locator("#message-status").inner_text()
    failed.refresh_from_db()
    assert (failed.status, failed.attempt_count, failed.error_code) == (MessageStatus.QUEUED, 0, "")

    page.goto(url + "/messages/")
    assert page.locator("table.message-table tbody tr").count() == 1
    screenshot(page, "message-log")
