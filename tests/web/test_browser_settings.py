"""Browser flow (Playwright, Debian's Chromium): an owner signs in with a TOTP code, opens Settings →
Gateways, sees a credential masked, stores one (never shown back), and sends a test through the outbox
gateway with htmx. Screenshot: tests/screenshots/settings-gateways.png."""

from __future__ import annotations

import json

import pytest

from alphasms.testing.web import make_web_user, totp_code
from alphasms.web.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "twilio-auth-token-from-env-90ab"
STORED = "sk-live-stored-in-browser-77cd"


def test_an_owner_sees_masked_credentials_and_sends_a_test_through_the_outbox(
    browser_page, screenshot, alphasms_settings, secret_store, monkeypatch, tmp_path
):
    alphasms_settings.update(SMS_GATEWAY="outbox", OUTBOX_DIR=str(tmp_path / "outbox"), SEVENIO_API_KEY="")
    monkeypatch.setenv("ALPHASMS_TWILIO_AUTH_TOKEN", TOKEN)
    owner = make_web_user(Role.OWNER, username="chefin")
    page, url = browser_page
    page.goto(url + "/settings/gateways/")
    page.get_by_label("Benutzername").fill("chefin")
    page.get_by_label("Passwort").fill(owner.password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(url + "/login/code/**")
    page.get_by_label("Code aus Ihrer Authenticator-App").fill(totp_code(owner.device))
    page.get_by_role("button", name="Bestätigen").click()
    page.wait_for_url(url + "/settings/gateways/")
    assert page.locator("h1").inner_text() == "Gateways"

    twilio = page.locator("#gateway-twilio")
    assert "••••90ab" in twilio.locator(".gateway-settings").inner_text()
    assert TOKEN not in page.content()

    sevenio = page.locator("#gateway-sevenio")
    sevenio.get_by_label("Einstellung").select_option("SEVENIO_API_KEY")
    sevenio.get_by_label("Neuer Wert").fill(STORED)
    sevenio.get_by_role("button", name="Verschlüsselt speichern").click()
    page.wait_for_load_state()
    assert "verschlüsselt gespeichert (••••77cd)" in page.locator(".messages").inner_text()
    assert STORED not in page.content()
    assert page.locator("#gateway-sevenio").get_by_label("Neuer Wert").input_value() == ""

    outbox = page.locator("#gateway-outbox")
    outbox.get_by_label("Empfänger (Mobilnummer oder E-Mail-Adresse)").fill("0151 12345678")
    outbox.get_by_role("button", name="Test senden").click()
    result = page.locator("#test-result-outbox")
    result.locator(".message.success").wait_for()
    assert "Vom Anbieter angenommen" in result.inner_text()
    assert page.url == url + "/settings/gateways/"  # htmx swapped the result in place
    [written] = (tmp_path / "outbox").glob("*.json")
    assert json.loads(written.read_text())["to"] == "+4915112345678"
    outbox.scroll_into_view_if_needed()
    screenshot(page, "settings-gateways")
