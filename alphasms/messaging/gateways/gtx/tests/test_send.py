"""Sending through GTX over real sockets: the exact form request, the key kept out of logs and errors, the
failure drill (classification here; the resulting message states in test_drill.py).

A fake HTTP peer (alphasms.testing.fake_http) answers with hand-built bodies (fixtures/, provenance inside
each file); nothing is mocked.
"""

from __future__ import annotations

import logging
import socket
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import DeliveryStatus, OutboundSms, sign_callback
from alphasms.messaging.gateways.gtx.gateway import HTTP_STATUSES, GtxGateway
from alphasms.messaging.gateways.registry import get_gateway
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer

FIXTURES = Path(__file__).parent / "fixtures"
NUMBER = "+4915112345678"
TEXT = "Erinnerung: Ihr Termin bei Dr. Müller ist morgen um 09:30. Absagen: 0551 123456"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"
SMS = OutboundSms(reference=REFERENCE, to_e164=NUMBER, text=TEXT, sender_id="Praxis")
KEY = "aaaaaaaa-bbbb-cccc-dddd-1234567890ab"  # the manual's example key shape
SECRET = "gtx-dlr-secret-for-tests"


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    with FakeHttpServer() as fake:
        yield fake
    assert fake.unanswered == 0, "a request reached the fake server with no canned answer"


def configure(base_url: str, **extra: Any) -> override_settings:
    values = {
        "GTX_BASE_URL": base_url,
        "GTX_AUTH_KEY": KEY,
        "GTX_DLR_SECRET": SECRET,
        "PUBLIC_URL": "https://praxis.example",
        "SMS_SENDER_ID": "",
        "HTTP_TIMEOUT_S": 2,
    }
    return override_settings(ALPHASMS={**settings.ALPHASMS, **values, **extra})


@pytest.fixture
def gateway(server: FakeHttpServer) -> Iterator[GtxGateway]:
    with configure(server.url):
        yield GtxGateway()


def fixture(name: str, **overrides: Any) -> CannedResponse:
    return CannedResponse.from_fixture(FIXTURES / name, **overrides)


class TestRequestEncoding:
    def test_it_posts_exactly_the_listed_form_fields_to_the_key_path(self, server, gateway):
        server.enqueue(fixture("send-accepted.json"))
        gateway.send(SMS)

        (request,) = server.requests
        assert request.method == "POST"
        assert request.path == f"/smsc/sendsms/{KEY}/json"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.headers["accept"] == "application/json"
        assert "authorization" not in request.headers
        form = request.form()
        dlr_url = form.pop("dlr-url")
        assert form == {"from": ["Praxis"], "to": [NUMBER[1:]], "text": [TEXT], "dlr-mask": ["3"]}
        assert dlr_url[0].startswith(f"https://praxis.example/hooks/gtx/dlr/?ref={REFERENCE}&ts=")

    def test_the_dlr_url_carries_a_signature_of_reference_and_time_and_nothing_else(self, server, gateway):
        server.enqueue(fixture("send-accepted.json"))
        gateway.send(SMS)

        dlr_url = server.requests[0].form()["dlr-url"][0]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(dlr_url).query)
        assert set(query) == {"ref", "ts", "sig"}
        assert query["sig"] == [sign_callback("GTX_DLR_SECRET", REFERENCE, int(query["ts"][0]))]

    @pytest.mark.parametrize(
        "text", ["Termin bei Dr. Włodarczyk morgen", "Bis morgen 🙂"], ids=["ł", "emoji"]
    )
    def test_it_asks_for_ucs2_when_the_text_is_not_gsm7(self, server, gateway, text):
        server.enqueue(fixture("send-accepted.json"))
        gateway.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text=text, sender_id="Praxis"))

        form = server.requests[0].form()
        assert form["coding"] == ["3"]
        assert form["text"] == [text]  # UTF-8 in the form; GTX converts to UCS-2

    def test_it_keeps_gsm7_text_including_extension_characters_without_coding(self, server, gateway):
        server.enqueue(fixture("send-accepted.json"))
        gateway.send(
            OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Preis 10 € [inkl.] ÄÖÜß", sender_id="P")
        )

        assert "coding" not in server.requests[0].form()

    def test_a_long_text_goes_whole_in_one_request_with_our_segment_count(self, server, gateway):
        server.enqueue(fixture("send-accepted.json"))
        long_sms = OutboundSms(
            reference=REFERENCE, to_e164=NUMBER, text="Zeile " * 60, sender_id="P", segments=3
        )

        result = gateway.send(long_sms)

        assert len(server.requests) == 1 and server.requests[0].form()["text"] == ["Zeile " * 60]
        assert result.segments == 3

    def test_it_encodes_plus_ampersand_and_percent(self, server, gateway):
        server.enqueue(fixture("send-accepted.json"))
        gateway.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="1+1 & 50 % = ?", sender_id="P"))

        assert server.requests[0].form()["text"] == ["1+1 & 50 % = ?"]

    def test_it_uses_the_configured_sender_id(self, server):
        server.enqueue(fixture("send-accepted.json"))
        with configure(server.url, SMS_SENDER_ID="PraxisBlau"):
            GtxGateway().send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Hallo"))

        assert server.requests[0].form()["from"] == ["PraxisBlau"]

    def test_it_escapes_a_key_that_is_not_url_safe(self, server):
        server.enqueue(fixture("send-accepted.json"))
        with configure(server.url, GTX_AUTH_KEY="a/b?c"):
            GtxGateway().send(SMS)

        assert server.requests[0].path == "/smsc/sendsms/a%2Fb%3Fc/json"

    @pytest.mark.parametrize("number", ["4915112345678", "+49 151 12345678", "0151 12345678"])
    def test_it_refuses_a_recipient_that_is_not_e164_before_sending(self, server, gateway, number):
        with pytest.raises(errors.InvalidRecipient) as caught:
            gateway.send(OutboundSms(reference="r-1", to_e164=number, text="Hallo", sender_id="P"))

        assert caught.value.permanent
        assert server.requests == []

    @pytest.mark.parametrize("setting", ["GTX_AUTH_KEY", "GTX_DLR_SECRET", "SMS_SENDER_ID"])
    def test_it_names_a_missing_setting_and_sends_nothing(self, server, setting):
        sms = OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Hallo")
        with configure(server.url, **{"SMS_SENDER_ID": "Praxis", setting: ""}):
            with pytest.raises(errors.GatewayMisconfigured) as caught:
                GtxGateway().send(sms)

        assert f"ALPHASMS_{setting}" in str(caught.value)
        assert not isinstance(caught.value, errors.GatewayError)
        assert server.requests == []

    def test_it_is_registered_and_defaults_to_the_gtx_host(self):
        with override_settings(ALPHASMS={**settings.ALPHASMS, "GTX_BASE_URL": ""}):
            gateway = get_gateway("gtx")
            assert isinstance(gateway, GtxGateway)
            assert gateway.base_url() == "https://rest.gtx-messaging.net"


class TestAcceptedAnswers:
    def test_ok_is_accepted_with_the_message_id(self, server, gateway):
        server.enqueue(fixture("send-accepted.json"))
        result = gateway.send(SMS)

        assert result.status == DeliveryStatus.ACCEPTED
        assert result.gateway_message_id == "0f32bc8f-7271-4228-bf05-ba32403af065"
        assert result.segments == 1

    def test_gtxs_part_count_wins_when_larger(self, server, gateway):
        server.enqueue(fixture("send-accepted-two-parts.json"))

        assert gateway.send(SMS).segments == 2

    @pytest.mark.parametrize(
        "answer",
        [
            fixture("send-not-ok.json"),
            CannedResponse.json(["OK"]),
            CannedResponse.json({"message-id": "x"}),
            CannedResponse(200, {}, b"0: Accepted for delivery"),
        ],
        ids=["status-not-ok", "not-an-object", "no-status", "plain-text"],
    )
    def test_any_other_2xx_answer_is_ambiguous(self, server, gateway, answer):
        server.enqueue(answer)
        with pytest.raises(errors.UnexpectedResponse) as caught:
            gateway.send(SMS)

        assert caught.value.ambiguous and not caught.value.permanent


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DRILL = [
    ("400", fixture("send-invalid-parameters.json"), errors.RejectedByProvider, True, False),
    ("401", CannedResponse(401, {}, b"Unauthorized"), errors.AuthenticationFailed, True, False),
    ("402", CannedResponse(402, {}, b"Payment Required"), errors.InsufficientFunds, True, False),
    ("403", CannedResponse(403, {}, b"Forbidden"), errors.AuthenticationFailed, True, False),
    ("429", CannedResponse(429, {"Retry-After": "30"}, b""), errors.RateLimited, False, False),
    ("500", CannedResponse(500, {}, b"Internal Server Error"), errors.OutcomeUnknown, False, True),
    ("503", CannedResponse(503, {}, b"Service Unavailable"), errors.GatewayUnavailable, False, False),
    ("slow", fixture("send-accepted.json", delay_s=1.5), errors.OutcomeUnknown, False, True),
    (
        "malformed",
        CannedResponse(200, {}, b'{"message-status": "OK"'),
        errors.UnexpectedResponse,
        False,
        True,
    ),
]


class TestFailureDrill:
    @pytest.mark.parametrize(
        ("case", "answer", "error_class", "permanent", "ambiguous"), DRILL, ids=[d[0] for d in DRILL]
    )
    def test_it_classifies_each_failure(self, server, case, answer, error_class, permanent, ambiguous):
        server.enqueue(answer)
        with configure(server.url, HTTP_TIMEOUT_S=0.5), pytest.raises(errors.GatewayError) as caught:
            GtxGateway().send(SMS)

        error = caught.value
        assert type(error) is error_class, f"{case}: {error!r}"
        assert (error.permanent, error.ambiguous) == (permanent, ambiguous)
        status = int(case) if case.isdigit() else None
        expected = HTTP_STATUSES[status][1] if status else error_class.default_user_message
        assert error.user_message == expected
        assert KEY not in str(error) and NUMBER[1:] not in str(error)

    def test_a_rejected_key_names_the_setting_to_check(self, server, gateway):
        server.enqueue(CannedResponse(401, {}, b""))
        with pytest.raises(errors.AuthenticationFailed) as caught:
            gateway.send(SMS)

        assert "ALPHASMS_GTX_AUTH_KEY" in caught.value.user_message

    def test_it_passes_retry_after_on(self, server, gateway):
        server.enqueue(CannedResponse(429, {"Retry-After": "30"}, b""))
        with pytest.raises(errors.RateLimited) as caught:
            gateway.send(SMS)

        assert caught.value.retry_after_s == 30.0

    def test_it_reports_a_closed_port_as_unavailable(self):
        with (
            configure(f"http://127.0.0.1:{closed_port()}"),
            pytest.raises(errors.GatewayUnavailable) as caught,
        ):
            GtxGateway().send(SMS)

        assert not caught.value.permanent and not caught.value.ambiguous
        assert caught.value.user_message == errors.GatewayUnavailable.default_user_message


class TestTheKeyStaysSecret:
    """The API key is in the URL path (GTX's design): it must not reach logs, errors or attempt data."""

    @pytest.mark.parametrize(
        "answer",
        [
            CannedResponse(404, {}, f"No route for POST /smsc/sendsms/{KEY}/json".encode()),
            CannedResponse(200, {}, f"<html>/smsc/sendsms/{KEY}/json is down</html>".encode()),
            CannedResponse(500, {}, f'{{"error": "key {KEY} blocked"}}'.encode()),
        ],
        ids=["404-echo", "2xx-echo", "500-echo"],
    )
    def test_an_answer_echoing_the_key_leaves_no_key_in_the_error_or_the_log(self, server, caplog, answer):
        server.enqueue(answer)
        with (
            configure(server.url),
            caplog.at_level(logging.DEBUG),
            pytest.raises(errors.GatewayError) as caught,
        ):
            GtxGateway().send(SMS)

        error = caught.value
        texts = [
            str(error),
            repr(error),
            error.detail,
            error.excerpt,
            error.user_message,
            *map(str, error.args),
        ]
        assert not [text for text in texts if KEY in text]
        assert "***" in error.excerpt  # the echo is still visible as such
        assert "/smsc/sendsms/" in caplog.text  # urllib3 logged the request line …
        assert KEY not in caplog.text  # … with the key masked

    def test_a_timeout_leaves_no_key_in_the_error_or_the_log(self, server, caplog):
        server.enqueue(fixture("send-accepted.json", delay_s=1.0))
        with (
            configure(server.url, HTTP_TIMEOUT_S=0.3),
            caplog.at_level(logging.DEBUG),
            pytest.raises(errors.OutcomeUnknown) as caught,
        ):
            GtxGateway().send(SMS)

        assert KEY not in str(caught.value) and KEY not in caplog.text

    def test_a_successful_send_logs_no_key_either(self, server, gateway, caplog):
        server.enqueue(fixture("send-accepted.json"))
        with caplog.at_level(logging.DEBUG):
            gateway.send(SMS)

        assert "/smsc/sendsms/***/json" in caplog.text
        assert KEY not in caplog.text
