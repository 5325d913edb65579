"""`alphasms send-test`: one real send through a gateway, and a diagnosis that names what is wrong."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.cli import main
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer
from alphasms.testing.fake_smtp import FakeSmtpServer


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sevenio():
    with (
        FakeHttpServer() as server,
        override_settings(
            ALPHASMS={
                **settings.ALPHASMS,
                "SEVENIO_BASE_URL": server.url,
                "SEVENIO_API_KEY": "k",
                "HTTP_TIMEOUT_S": 2,
            }
        ),
    ):
        yield server


@pytest.mark.django_db
def test_a_test_sms_goes_out_through_the_named_gateway(sevenio, capsys):
    message = {"id": "123", "parts": 1, "success": True, "error": None, "error_text": None}
    sevenio.enqueue(CannedResponse.json({"success": "100", "messages": [message]}))
    code, out, _ = run("send-test", "--gateway", "sevenio", "--to", "0151 12345678", capsys=capsys)
    assert code == 0 and "123" in out
    assert sevenio.requests[0].form()["to"] == ["+4915112345678"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (CannedResponse.json({"error": "x"}, status=401), "Zugangsdaten"),
        (CannedResponse(503, {}, b""), "Netzwerk"),
        (CannedResponse.json({"success": "202"}), "Nummer"),
        (CannedResponse.json({"success": "201"}), "Absenderkennung"),
    ],
)
def test_a_failed_test_send_says_what_is_wrong(sevenio, capsys, answer, expected):
    sevenio.enqueue(answer)
    code, _, err = run("send-test", "--gateway", "sevenio", "--to", "+4915112345678", capsys=capsys)
    assert code == 1
    assert expected in err


@pytest.mark.django_db
def test_a_closed_port_is_a_network_problem(capsys):
    with override_settings(
        ALPHASMS={**settings.ALPHASMS, "SEVENIO_BASE_URL": "http://127.0.0.1:9", "SEVENIO_API_KEY": "k"}
    ):
        code, _, err = run("send-test", "--gateway", "sevenio", "--to", "+4915112345678", capsys=capsys)
    assert code == 1 and "Netzwerk" in err


# One command per test: a management command closes the database connection when it ends, and on
# PostgreSQL that ends the test's transaction too.
@pytest.mark.django_db
def test_missing_credentials_are_a_usage_error_naming_the_setting(capsys):
    with override_settings(ALPHASMS={**settings.ALPHASMS, "SEVENIO_API_KEY": ""}):
        code, _, err = run("send-test", "--gateway", "sevenio", "--to", "+4915112345678", capsys=capsys)
    assert code == 2 and "ALPHASMS_SEVENIO_API_KEY" in err


@pytest.mark.django_db
def test_a_landline_is_a_usage_error(capsys):
    code, _, err = run("send-test", "--gateway", "outbox", "--to", "030 1234567", capsys=capsys)
    assert code == 2 and "keine Mobilnummer" in err


@pytest.mark.django_db
def test_a_test_email_goes_through_the_mail_server(capsys):
    with FakeSmtpServer() as smtp, override_settings(**smtp.django_settings()):
        code, _, _ = run("send-test", "--gateway", "smtp", "--to", "anna@example.org", capsys=capsys)
    assert code == 0
    assert smtp.envelopes[0].rcpt_tos == ("anna@example.org",)
