"""Settings → Gateways: owners only; every gateway with its settings masked whatever their source; a
credential stored through the page is encrypted, feeds the gateway, and appears in no HTML response, no
log record and no database column as plaintext; the "Send test" button sends and shows the diagnosis."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import connection

from alphasms.credentials import store
from alphasms.credentials.models import StoredSecret
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer
from alphasms.web.roles import Role

pytestmark = pytest.mark.django_db
API_KEY = "sk-live-4b1d9e7a0c2f5e8d3a61"
URLS = [
    ("get", "/settings/gateways/"),
    ("post", "/settings/gateways/credential/"),
    ("post", "/settings/gateways/test/"),
]


@pytest.mark.parametrize("role", [Role.STAFF, Role.READONLY])
@pytest.mark.parametrize(("method", "url"), URLS)
def test_only_owners_see_and_change_gateway_settings(web_client, secret_store, role, method, url):
    client = web_client(role)
    data = {
        "gateway": "sevenio",
        "name": "SEVENIO_API_KEY",
        "value": API_KEY,
        "action": "save",
        "to": "+4915112345678",
    }
    response = getattr(client, method)(url, data)
    assert response.status_code == 403
    assert not StoredSecret.objects.exists()


def test_the_page_lists_each_gateway_with_its_settings_masked_whatever_the_source(
    web_client, secret_store, alphasms_settings, monkeypatch
):
    alphasms_settings.update(SMS_GATEWAY="outbox", TWILIO_AUTH_TOKEN="twilio-token-from-settings-7788")
    monkeypatch.setenv("ALPHASMS_VONAGE_API_SECRET", "vonage-secret-from-env-4455")
    monkeypatch.setenv("ALPHASMS_GTX_BASE_URL", "https://sms.example.test/api")
    html = web_client(Role.OWNER).get("/settings/gateways/").content.decode()

    for slug in (
        "outbox",
        "sevenio",
        "twilio",
        "vonage",
        "android",
        "websms",
        "sipgate",
        "kannel",
        "smpp",
        "gtx",
    ):
        assert f'id="gateway-{slug}"' in html
    assert 'id="gateway-fake"' not in html  # test-only gateway
    assert "twilio-token-from-settings-7788" not in html and "••••7788" in html
    assert "vonage-secret-from-env-4455" not in html and "••••4455" in html
    assert "https://sms.example.test/api" in html  # a plain setting is shown as it is
    assert "ALPHASMS_SEVENIO_API_KEY" in html and "nicht eingerichtet" in html


def test_a_credential_set_through_the_page_is_encrypted_and_never_shown_or_logged(
    web_client, secret_store, alphasms_settings, caplog
):
    alphasms_settings["SEVENIO_API_KEY"] = ""
    owner = web_client(Role.OWNER)
    caplog.set_level(logging.DEBUG)
    response = owner.post(
        "/settings/gateways/credential/",
        {"gateway": "sevenio", "name": "SEVENIO_API_KEY", "value": API_KEY, "action": "save"},
        follow=True,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert API_KEY not in html and API_KEY[:-4] not in html
    assert "••••3a61" in html and "verschlüsselt gespeichert" in html
    assert 'name="value"' in html and f'value="{API_KEY}"' not in html

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ciphertext, hint FROM credentials_storedsecret WHERE name = %s", ["SEVENIO_API_KEY"]
        )
        ciphertext, hint = cursor.fetchone()
    assert API_KEY not in ciphertext and hint == "3a61"
    assert store.stored_value("SEVENIO_API_KEY") == API_KEY
    html = owner.get("/settings/gateways/").content.decode()
    assert API_KEY not in html and "gespeichert (verschlüsselt)" in html
    assert not [r for r in caplog.records if API_KEY in r.getMessage() or API_KEY in repr(r.args)]

    response = owner.post(
        "/settings/gateways/credential/",
        {"gateway": "sevenio", "name": "SEVENIO_API_KEY", "value": "", "action": "clear"},
        follow=True,
    )
    assert "gespeicherte Wert wurde gelöscht" in response.content.decode()
    assert not StoredSecret.objects.exists()


def test_a_setting_the_gateway_does_not_read_or_an_empty_value_is_refused_at_its_field(
    web_client, secret_store
):
    owner = web_client(Role.OWNER)
    response = owner.post(
        "/settings/gateways/credential/",
        {"gateway": "sevenio", "name": "SECRET_KEY", "value": API_KEY, "action": "save"},
    )
    assert response.status_code == 400
    assert 'id="id_sevenio_name_error"' in response.content.decode()
    response = owner.post(
        "/settings/gateways/credential/",
        {"gateway": "sevenio", "name": "SEVENIO_API_KEY", "value": " ", "action": "save"},
    )
    assert response.status_code == 400 and 'id="id_sevenio_value_error"' in response.content.decode()
    assert not StoredSecret.objects.exists()


@pytest.fixture
def sevenio(alphasms_settings, secret_store):
    with FakeHttpServer() as server:
        alphasms_settings.update(SEVENIO_BASE_URL=server.url, SEVENIO_API_KEY="", HTTP_TIMEOUT_S=2)
        yield server


def test_send_test_uses_the_stored_credential_and_reports_acceptance(web_client, sevenio):
    owner = web_client(Role.OWNER)
    owner.post(
        "/settings/gateways/credential/",
        {"gateway": "sevenio", "name": "SEVENIO_API_KEY", "value": API_KEY, "action": "save"},
    )
    message = {"id": "77001", "parts": 1, "success": True, "error": None, "error_text": None}
    sevenio.enqueue(CannedResponse.json({"success": "100", "messages": [message]}))
    response = owner.post("/settings/gateways/test/", {"gateway": "sevenio", "to": "0151 12345678"})
    html = response.content.decode()
    assert response.status_code == 200 and "77001" in html and "Vom Anbieter angenommen" in html
    [request] = sevenio.requests
    assert request.headers["x-api-key"] == API_KEY  # the store fed the gateway
    assert request.form()["to"] == ["+4915112345678"]
    assert API_KEY not in html


def test_a_failed_test_send_shows_the_diagnosis_sentence(web_client, sevenio):
    owner = web_client(Role.OWNER, HTTP_ACCEPT_LANGUAGE="en")
    store.set_secret("SEVENIO_API_KEY", API_KEY, actor="test")
    sevenio.enqueue(CannedResponse.json({"error": "x"}, status=401))
    response = owner.post(
        "/settings/gateways/test/", {"gateway": "sevenio", "to": "+4915112345678"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div class="test-result"')
    assert "Failed. Credentials: the provider refuses" in html
    assert "authentication_failed" not in html  # no internal codes in the page
    assert "Credentials: the provider refuses the API key or password" in html
    assert API_KEY not in html


def test_missing_credentials_name_the_setting_and_a_bad_number_is_refused_at_its_field(web_client, sevenio):
    owner = web_client(Role.OWNER)
    html = owner.post(
        "/settings/gateways/test/", {"gateway": "sevenio", "to": "+4915112345678"}
    ).content.decode()
    assert "Einstellung fehlt: ALPHASMS_SEVENIO_API_KEY ist nicht gesetzt." in html
    assert "misconfigured" not in html and "is not set" not in html
    response = owner.post("/settings/gateways/test/", {"gateway": "sevenio", "to": "030 1234567"})
    assert response.status_code == 400 and 'id="id_sevenio_test_to_error"' in response.content.decode()
    assert sevenio.requests == []


def test_send_test_through_the_outbox_writes_the_message_file(
    web_client, alphasms_settings, tmp_path, secret_store
):
    alphasms_settings.update(SMS_GATEWAY="outbox", OUTBOX_DIR=str(tmp_path / "outbox"))
    response = web_client(Role.OWNER).post(
        "/settings/gateways/test/", {"gateway": "outbox", "to": "+4915112345678"}
    )
    assert response.status_code == 200 and "Vom Anbieter angenommen" in response.content.decode()
    [written] = (tmp_path / "outbox").glob("*.json")
    assert json.loads(written.read_text())["to"] == "+4915112345678"
