"""Browser tests (Playwright, Debian's Chromium): sign in with a TOTP code, see the dashboard, switch
language. Screenshots of the pages go to tests/screenshots/ (or $ALPHASMS_SCREENSHOT_DIR)."""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import totp

from alphasms.appointments.services.planning import plan
from alphasms.appointments.services.sample import ensure_sample_data
from alphasms.testing.web import make_web_user, totp_code
from alphasms.web.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)


def _code_from_secret(secret: str) -> str:
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return str(totp(key)).zfill(6)


def test_the_sample_owner_sets_up_totp_sees_tomorrows_appointments_and_switches_to_english(
    browser_page, screenshot, alphasms_settings
):
    ensure_sample_data()
    plan()
    page, url = browser_page
    page.goto(url + "/")
    assert page.url.startswith(url + "/login/")
    assert page.locator("h1").inner_text() == "Anmelden"
    screenshot(page, "login")
    page.get_by_label("Benutzername").fill("praxis")
    page.get_by_label("Passwort").fill("praxis")
    page.get_by_role("button", name="Anmelden").click()

    page.wait_for_url(url + "/login/setup/")
    assert page.locator(".qr svg").count() == 1
    screenshot(page, "totp-setup")
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code aus Ihrer Authenticator-App").fill(_code_from_secret(secret))
    page.get_by_role("button", name="Bestätigen und anmelden").click()

    page.wait_for_url(url + "/")
    assert page.locator("h1").inner_text() == "Dashboard"
    tomorrow = page.locator("section.day").nth(1)
    assert "Morgen" in tomorrow.locator("h2").inner_text()
    rows = tomorrow.locator("tbody tr")
    assert rows.count() == 2  # the sample's two appointments tomorrow
    assert "Jörg Bäcker" in rows.nth(0).inner_text()
    assert "geplant" in rows.nth(0).inner_text()  # the SMS reminder is planned
    assert (
        page.locator("nav[aria-label='Hauptnavigation'] a[aria-current='page']").inner_text() == "Dashboard"
    )
    screenshot(page, "dashboard-de")

    page.keyboard.press("Tab")  # the first stop is the skip link, visible when focused
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    assert page.locator(".skip-link").is_visible()
    page.set_viewport_size({"width": 768, "height": 1024})  # a tablet: no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "dashboard-tablet")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_label("Sprache").select_option("en")
    page.get_by_role("button", name="Wechseln").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Tomorrow" in page.locator("section.day").nth(1).locator("h2").inner_text()
    assert "planned" in page.locator("section.day").nth(1).locator("tbody tr").nth(0).inner_text()
    screenshot(page, "dashboard-en")
    page.reload()  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "en"


def test_an_owner_signs_in_with_the_code_of_their_device_and_a_wrong_code_is_refused(
    browser_page, screenshot
):
    owner = make_web_user(Role.OWNER, username="chefin")
    page, url = browser_page
    page.goto(url + "/login/")
    page.get_by_label("Benutzername").fill("chefin")
    page.get_by_label("Passwort").fill(owner.password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(url + "/login/code/")
    right = totp_code(owner.device)
    page.get_by_label("Code aus Ihrer Authenticator-App").fill("000000" if right != "000000" else "111111")
    page.get_by_role("button", name="Bestätigen").click()
    assert "Dieser Code ist falsch" in page.locator("p.error").inner_text()
    screenshot(page, "totp-wrong")

    owner.device.refresh_from_db()
    owner.device.throttle_reset()  # django-otp makes the next try wait after a wrong code
    page.get_by_label("Code aus Ihrer Authenticator-App").fill(totp_code(owner.device))
    page.get_by_role("button", name="Bestätigen").click()
    page.wait_for_url(url + "/")
    assert page.get_by_text("chefin").is_visible()


def test_five_wrong_passwords_show_the_lockout_page(browser_page, screenshot):
    make_web_user(Role.STAFF, username="empfang")
    page, url = browser_page
    page.goto(url + "/login/")
    for _ in range(5):
        page.get_by_label("Benutzername").fill("empfang")
        page.get_by_label("Passwort").fill("falsch")
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Anmeldung gesperrt"
    screenshot(page, "lockout")
