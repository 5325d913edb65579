"""Sending through sipgate over real sockets: the exact request, sipgate's answers, the failure drill.

sipgate publishes its Swagger spec only live (api.sipgate.com/v2/swagger.json), not in a repository, so
the fake peer answers from hand-written fixtures (provenance in each file).
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import DeliveryStatus, OutboundSms
from alphasms.messaging.gateways.sipgate.gateway import ANSWERS, SipgateGateway
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer

FIXTURES = Path(__file__).parent / "fixtures"
NUMBER = "+4915112345678"
TEXT = "Erinnerung: Ihr Termin bei Dr. Müller ist morgen um 09:30. Absagen: 0551 123456"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"
SMS = OutboundSms(reference=REFERENCE, to_e164=NUMBER, text=TEXT, sender_id="Praxis")
TOKEN = "sipgate-pat-for-tests"


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    with FakeHttpServer() as fake:
        yield fake
    assert fake.unanswered == 0, "a request reached the fake server with no canned answer"


def configure(base_url: str, **extra: Any) -> override_settings:
    values = {
        "SIPGATE_BASE_URL": base_url + "/v2",
        "SIPGATE_TOKEN_ID": "token-ABC123",
        "SIPGATE_TOKEN": TOKEN,
        "SIPGATE_SMS_ID": "s0",
        "SMS_SENDER_ID": "PraxisBlau",
        "HTTP_TIMEOUT_S": 2,
    }
    return override_settings(ALPHASMS={**settings.ALPHASMS, **values, **extra})


@pytest.fixture
def gateway(server: FakeHttpServer) -> Iterator[SipgateGateway]:
    with configure(server.url):
        yield SipgateGateway()


def fixture(name: str, **overrides: Any) -> CannedResponse:
    return CannedResponse.from_fixture(FIXTURES / name, **overrides)


class TestRequestEncoding:
    def test_it_sends_exactly_sms_id_recipient_and_message(self, server, gateway):
        server.enqueue(fixture("sms-sent.json"))
        gateway.send(SMS)

        (request,) = server.requests
        assert (request.method, request.path) == ("POST", "/v2/sessions/sms")
        assert request.headers["content-type"] == "application/json"
        assert request.json() == {"smsId": "s0", "recipient": NUMBER, "message": TEXT}

    def test_our_reference_and_sender_id_do_not_leave(self, server, gateway):
        server.enqueue(fixture("sms-sent.json"))
        gateway.send(SMS)

        raw = server.requests[0].body.decode()
        assert REFERENCE not in raw and "Praxis" not in raw and REFERENCE not in server.requests[0].path

    def test_it_authenticates_with_the_personal_access_token(self, server, gateway):
        server.enqueue(fixture("sms-sent.json"))
        gateway.send(SMS)

        scheme, value = server.requests[0].headers["authorization"].split(" ")
        assert (scheme, base64.b64decode(value).decode()) == ("Basic", f"token-ABC123:{TOKEN}")

    def test_it_keeps_unicode_text_as_is(self, server, gateway):
        server.enqueue(fixture("sms-sent.json"))
        gateway.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Termin 🙂 Ελλάδα"))

        assert server.requests[0].json()["message"] == "Termin 🙂 Ελλάδα"

    @pytest.mark.parametrize("number", ["015112345678", "+49 151 12345678", "+0151"])
    def test_it_refuses_a_recipient_that_is_not_e164_before_sending(self, server, gateway, number):
        with pytest.raises(errors.InvalidRecipient) as caught:
            gateway.send(OutboundSms(reference=REFERENCE, to_e164=number, text="Hallo"))

        assert caught.value.permanent and server.requests == []

    @pytest.mark.parametrize("setting", ["SIPGATE_TOKEN_ID", "SIPGATE_TOKEN", "SIPGATE_SMS_ID"])
    def test_it_names_a_missing_setting(self, server, setting):
        with configure(server.url, **{setting: ""}), pytest.raises(errors.GatewayMisconfigured) as caught:
            SipgateGateway().send(SMS)

        assert f"ALPHASMS_{setting}" in str(caught.value)
        assert not isinstance(caught.value, errors.GatewayError)
        assert server.requests == []

    def test_it_defaults_to_the_sipgate_api(self):
        with override_settings(ALPHASMS={**settings.ALPHASMS, "SIPGATE_BASE_URL": ""}):
            assert SipgateGateway().base_url() == "https://api.sipgate.com/v2"


class TestAcceptedAnswer:
    def test_204_is_sent_without_a_message_id_and_with_our_segment_count(self, server, gateway):
        server.enqueue(fixture("sms-sent.json"))
        result = gateway.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="x" * 200, segments=2))

        assert (result.gateway_message_id, result.status, result.segments) == ("", DeliveryStatus.SENT, 2)

    def test_an_unexpected_200_body_is_still_sent(self, server, gateway):
        server.enqueue(CannedResponse(200, {}, b"<html>ok</html>"))

        assert gateway.send(SMS).status == DeliveryStatus.SENT

    def test_the_gateway_declares_no_reports_and_no_alphanumeric_sender(self):
        assert not SipgateGateway.supports_dlr and not SipgateGateway.supports_alphanumeric_sender
        assert not SipgateGateway.supports_mo


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DRILL = [
    ("400", fixture("sms-400.json"), errors.RejectedByProvider, True, False, ANSWERS[400][1]),
    ("401", fixture("sms-401.json"), errors.AuthenticationFailed, True, False, ANSWERS[401][1]),
    ("402", fixture("sms-402.json"), errors.InsufficientFunds, True, False, ANSWERS[402][1]),
    ("403", fixture("sms-403.json"), errors.AuthenticationFailed, True, False, ANSWERS[403][1]),
    ("429", CannedResponse(429, {"Retry-After": "30"}, b""), errors.RateLimited, False, False, None),
    ("500", CannedResponse(500, {}, b"Internal Server Error"), errors.OutcomeUnknown, False, True, None),
    ("503", CannedResponse(503, {}, b"Service Unavailable"), errors.GatewayUnavailable, False, False, None),
    ("slow", CannedResponse(204, {}, b"", delay_s=1.5), errors.OutcomeUnknown, False, True, None),
]


class TestFailureDrill:
    @pytest.mark.parametrize(
        ("case", "answer", "error_class", "permanent", "ambiguous", "sentence"),
        DRILL,
        ids=[d[0] for d in DRILL],
    )
    def test_it_classifies_each_failure(
        self, server, case, answer, error_class, permanent, ambiguous, sentence
    ):
        server.enqueue(answer)
        with configure(server.url, HTTP_TIMEOUT_S=0.5), pytest.raises(errors.GatewayError) as caught:
            SipgateGateway().send(SMS)

        error = caught.value
        assert type(error) is error_class, f"{case}: {error!r}"
        assert (error.permanent, error.ambiguous) == (permanent, ambiguous)
        assert error.user_message == (sentence or error_class.default_user_message)
        assert NUMBER[1:] not in str(error) and TOKEN not in str(error)

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
            SipgateGateway().send(SMS)

        assert not caught.value.permanent and not caught.value.ambiguous
        assert caught.value.user_message == errors.GatewayUnavailable.default_user_message
