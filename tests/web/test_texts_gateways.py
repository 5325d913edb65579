"""Settings → Gateways → "Send test": German sentences, no internal codes, reasons as a list."""

from __future__ import annotations

import pytest

from alphasms.testing.fake_http import FakeHttpServer
from alphasms.web.roles import Role


@pytest.fixture
def sevenio(alphasms_settings, secret_store):
    with FakeHttpServer() as server:
        alphasms_settings.update(SEVENIO_BASE_URL=server.url, SEVENIO_API_KEY="", HTTP_TIMEOUT_S=2)
        yield server


def test_an_unconfigured_gateway_is_explained_in_german_without_codes(web_client, sevenio):
    owner = web_client(Role.OWNER, HTTP_ACCEPT_LANGUAGE="de")
    html = owner.post(
        "/settings/gateways/test/", {"gateway": "sevenio", "to": "+4915112345678"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Fehlgeschlagen. Einstellung fehlt: ALPHASMS_SEVENIO_API_KEY ist nicht gesetzt." in html
    assert "unter Einstellungen → Gateways speichern" in html
    for english in ("misconfigured", "is not set", "create an API key"):
        assert english not in html
    assert sevenio.requests == []


def test_in_english_the_gateway_s_own_sentence_is_shown(web_client, sevenio):
    owner = web_client(Role.OWNER, HTTP_ACCEPT_LANGUAGE="en")
    html = owner.post(
        "/settings/gateways/test/", {"gateway": "sevenio", "to": "+4915112345678"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Failed. Setting missing or wrong: ALPHASMS_SEVENIO_API_KEY is not set" in html
    assert "(misconfigured)" not in html


def test_a_word_instead_of_a_number_gives_a_sentence_and_its_reasons_as_a_list(
    web_client, alphasms_settings, tmp_path, secret_store
):
    alphasms_settings.update(SMS_GATEWAY="outbox", OUTBOX_DIR=str(tmp_path / "outbox"))
    owner = web_client(Role.OWNER, HTTP_ACCEPT_LANGUAGE="de")
    html = owner.post(
        "/settings/gateways/test/", {"gateway": "outbox", "to": "hallo"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Fehlgeschlagen. &#x27;hallo&#x27; ist keine Mobilnummer (keine gültige Nummer)." in html
    assert '<ul class="test-hints">' in html
    assert "<li>Das Feld enthält keine Ziffern.</li>" in html
    assert "<li>Text im Feld wurde ignoriert – bitte prüfen, ob er etwas bedeutet.</li>" in html
    assert ".;" not in html and "(input)" not in html
    page = owner.post("/settings/gateways/test/", {"gateway": "outbox", "to": "hallo"})  # without htmx
    assert page.status_code == 400
    text = page.content.decode()
    assert text.count('id="id_outbox_test_to_error"') >= 3  # headline and each reason on its own line
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").iterdir())
