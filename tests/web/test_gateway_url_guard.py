"""Gateway addresses entered under Settings → Gateways (DESIGN.md invariant 8): only https addresses of
public hosts are stored, a stored address is checked again when a gateway reads it, changing it deletes
the gateway's stored keys, and the "Value" column shows no credentials kept in a URL.

Regression tests of the security review: an owner session pointed SEVENIO_BASE_URL at a local server and
"Send test" posted the stored API key there.
"""

from __future__ import annotations

import logging

import pytest

from alphasms.credentials import store
from alphasms.credentials.models import StoredSecret
from alphasms.credentials.url_guard import shown_value
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer
from alphasms.web.roles import Role

pytestmark = pytest.mark.django_db
API_KEY = "sk-live-9f8e7d6c5b4a39281706"
CREDENTIAL = "/settings/gateways/credential/"


def _save(client, name, value, slug="sevenio"):
    return client.post(CREDENTIAL, {"gateway": slug, "name": name, "value": value, "action": "save"})


@pytest.fixture
def server(alphasms_settings, secret_store):
    """A local provider the owner might try to redirect the key to; SEVENIO_BASE_URL unset in settings,
    so a stored value is the one the gateway reads."""
    alphasms_settings.pop("SEVENIO_BASE_URL", None)
    alphasms_settings.update(SEVENIO_API_KEY="", HTTP_TIMEOUT_S=2)
    with FakeHttpServer() as fake:
        fake.enqueue(CannedResponse.json({"success": "100", "messages": [{"id": "1", "success": True}]}))
        yield fake


def test_a_loopback_http_url_is_refused_at_its_field_and_the_key_goes_nowhere(web_client, server):
    owner = web_client(Role.OWNER)
    assert _save(owner, "SEVENIO_API_KEY", API_KEY).status_code == 302
    response = _save(owner, "SEVENIO_BASE_URL", f"{server.url}/api")
    html = response.content.decode()
    assert response.status_code == 400 and 'id="id_sevenio_value_error"' in html
    assert "ALPHASMS_SEVENIO_BASE_URL: eine https-Adresse des Anbieters eingeben" in html
    assert store.stored_value("SEVENIO_BASE_URL") == ""

    owner.post("/settings/gateways/test/", {"gateway": "sevenio", "to": "+4915112345678"})
    assert server.requests == []  # the default address is public: nothing reached the local server


def test_an_https_url_of_a_private_host_is_refused_in_english_too(web_client, server, alphasms_settings):
    alphasms_settings["ALLOWED_PRIVATE_HOSTS"] = []
    owner = web_client(Role.OWNER, HTTP_ACCEPT_LANGUAGE="en")
    response = _save(owner, "TWILIO_BASE_URL", "https://127.0.0.1:8443/api", slug="twilio")
    html = response.content.decode()
    assert response.status_code == 400
    assert "ALPHASMS_TWILIO_BASE_URL: host 127.0.0.1 resolves to the non-public address 127.0.0.1" in html
    assert "ALPHASMS_ALLOWED_PRIVATE_HOSTS" in html
    assert not StoredSecret.objects.filter(name="TWILIO_BASE_URL").exists()


def test_a_url_stored_before_the_guard_is_refused_at_send_time(web_client, server):
    store.set_secret("SEVENIO_API_KEY", API_KEY, actor="test")
    store.set_secret("SEVENIO_BASE_URL", f"{server.url}/api", actor="test")  # as stored by an old version
    owner = web_client(Role.OWNER)
    html = owner.post(
        "/settings/gateways/test/", {"gateway": "sevenio", "to": "+4915112345678"}
    ).content.decode()
    assert "Einstellung falsch: ALPHASMS_SEVENIO_BASE_URL hat einen unbrauchbaren Wert." in html
    assert server.requests == []
    assert API_KEY not in html


def test_a_url_from_the_settings_file_stays_trusted(web_client, server, alphasms_settings):
    alphasms_settings["SEVENIO_BASE_URL"] = f"{server.url}/api"  # an admin's value: not checked
    store.set_secret("SEVENIO_API_KEY", API_KEY, actor="test")
    response = web_client(Role.OWNER).post(
        "/settings/gateways/test/", {"gateway": "sevenio", "to": "+4915112345678"}
    )
    assert response.status_code == 200 and "Vom Anbieter angenommen" in response.content.decode()
    [request] = server.requests
    assert request.headers["x-api-key"] == API_KEY


def test_changing_the_stored_url_deletes_the_gateways_stored_keys(web_client, server):
    owner = web_client(Role.OWNER)
    _save(owner, "SEVENIO_API_KEY", API_KEY)
    _save(owner, "SEVENIO_SIGNING_SECRET", "signing-secret-0123456789")
    # "localhost" is in the tests' ALLOWED_PRIVATE_HOSTS, so no DNS is needed
    response = owner.post(
        CREDENTIAL,
        {
            "gateway": "sevenio",
            "name": "SEVENIO_BASE_URL",
            "value": "https://localhost/api",
            "action": "save",
        },
        follow=True,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "ALPHASMS_SEVENIO_API_KEY, ALPHASMS_SEVENIO_SIGNING_SECRET" in html
    assert "Die Adresse wurde geändert" in html
    assert sorted(StoredSecret.objects.values_list("name", flat=True)) == ["SEVENIO_BASE_URL"]
    assert store.stored_value("SEVENIO_BASE_URL") == "https://localhost/api"
    assert "gespeicherten Schlüssel dieses Gateways" in html  # the page says so beside the form

    _save(owner, "SEVENIO_API_KEY", API_KEY)  # entered again; the same address again keeps it
    assert _save(owner, "SEVENIO_BASE_URL", "https://localhost/api").status_code == 302
    assert store.stored_value("SEVENIO_API_KEY") == API_KEY


def test_no_url_is_stored_while_the_key_comes_from_the_environment(web_client, server, monkeypatch):
    monkeypatch.setenv("ALPHASMS_SEVENIO_API_KEY", API_KEY)
    response = _save(
        web_client(Role.OWNER, HTTP_ACCEPT_LANGUAGE="en"), "SEVENIO_BASE_URL", "https://localhost/x"
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert (
        "ALPHASMS_SEVENIO_BASE_URL cannot be changed here while ALPHASMS_SEVENIO_API_KEY comes from" in html
    )
    assert not StoredSecret.objects.exists()


def test_a_secret_in_a_refused_url_reaches_no_page_and_no_log(web_client, server, caplog):
    secret = "zz-TopSecretValue-9876"
    caplog.set_level(logging.DEBUG)
    owner = web_client(Role.OWNER)
    _save(owner, "SEVENIO_API_KEY", API_KEY)
    response = _save(owner, "SEVENIO_BASE_URL", f"http://127.0.0.1:9/api?k={secret}")
    test = owner.post("/settings/gateways/test/", {"gateway": "sevenio", "to": "+4915112345678"})
    assert response.status_code == 400
    for html in (response.content.decode(), test.content.decode()):
        assert secret not in html and API_KEY not in html
    assert not [r for r in caplog.records if secret in r.getMessage() or API_KEY in r.getMessage()]


def test_the_value_column_hides_credentials_kept_in_a_url(web_client, secret_store, monkeypatch):
    monkeypatch.setenv(
        "ALPHASMS_GTX_BASE_URL",
        "https://user:pw-8812@sms.example.test/smsc/sendsms/a1b2c3d4e5f6a7b8c9d0/json",
    )
    monkeypatch.setenv("ALPHASMS_TWILIO_BASE_URL", "https://gw.example.test/api?apikey=QQ77secret")
    html = web_client(Role.OWNER).get("/settings/gateways/").content.decode()
    assert "pw-8812" not in html and "a1b2c3d4e5f6a7b8c9d0" not in html and "QQ77secret" not in html
    assert "https://sms.example.test/…" in html
    assert "https://gw.example.test/api?apikey=…" in html


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("https://gateway.seven.io/api", "https://gateway.seven.io/api"),
        ("https://u:p@host.test/v2", "https://host.test/v2"),
        ("https://host.test/sendsms/abcdefgh12345678/json", "https://host.test/…"),
        ("https://host.test/a?token=x#f", "https://host.test/a?token=…#…"),
        ("Praxis", "Praxis"),
    ],
)
def test_shown_value(value, shown):
    assert shown_value(value) == shown
