"""Sending through seven.io over real sockets: request encoding, the failure drill, body return codes."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import DeliveryStatus, OutboundSms
from alphasms.messaging.gateways.sevenio.gateway import RETURN_CODES, SevenioGateway
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer
from alphasms.testing.prism import REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"
SPEC = REPO_ROOT / "tests" / "data" / "provider-specs" / "seven-io.openapi.json"
API_KEY = "test-key-7d41"
NUMBER = "+4915112345678"
TEXT = "Erinnerung: Ihr Termin bei Dr. Müller ist morgen um 09:30. Absagen: 0551 123456"
SMS = OutboundSms(
    reference="0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60", to_e164=NUMBER, text=TEXT, sender_id="Praxis"
)


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    with FakeHttpServer() as fake:
        yield fake
    assert fake.unanswered == 0, "a request reached the fake server with no canned answer"


def configure(base_url: str, **extra: Any) -> override_settings:
    values = {
        "SEVENIO_BASE_URL": base_url,
        "SEVENIO_API_KEY": API_KEY,
        "SMS_SENDER_ID": "",
        "HTTP_TIMEOUT_S": 2,
    }
    return override_settings(ALPHASMS={**settings.ALPHASMS, **values, **extra})


@pytest.fixture
def gateway(server: FakeHttpServer) -> Iterator[SevenioGateway]:
    with configure(server.url + "/api"):
        yield SevenioGateway()


def fixture(name: str, **overrides: Any) -> CannedResponse:
    return CannedResponse.from_fixture(FIXTURES / name, **overrides)


class TestRequestEncoding:
    def test_it_posts_exactly_to_text_from_and_foreign_id_as_a_form(self, server, gateway):
        server.enqueue(fixture("sms-sent.json"))
        gateway.send(SMS)

        (request,) = server.requests
        assert (request.method, request.path) == ("POST", "/api/sms")
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.form() == {
            "to": [NUMBER],
            "text": [TEXT],
            "from": ["Praxis"],
            "foreign_id": ["0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"],
        }

    def test_it_authenticates_with_the_api_key_header_only(self, server, gateway):
        server.enqueue(fixture("sms-sent.json"))
        gateway.send(SMS)

        headers = server.requests[0].headers
        assert headers["x-api-key"] == API_KEY
        assert "authorization" not in headers
        assert headers["accept"] == "application/json"

    def test_it_encodes_plus_umlauts_and_separators_in_utf8(self, server, gateway):
        server.enqueue(fixture("sms-sent.json"))
        gateway.send(OutboundSms(reference="r-1", to_e164=NUMBER, text="Grüße & 50 % = 1+1 €"))

        raw = server.requests[0].body.decode("ascii")
        assert "to=%2B4915112345678" in raw  # a raw "+" would arrive as a space
        assert server.requests[0].form()["text"] == ["Grüße & 50 % = 1+1 €"]

    def test_it_uses_the_configured_sender_id_when_the_message_has_none(self, server):
        server.enqueue(fixture("sms-sent.json"), fixture("sms-sent.json"))
        with configure(server.url, SMS_SENDER_ID="PraxisBlau"):
            SevenioGateway().send(OutboundSms(reference="r-1", to_e164=NUMBER, text="Hallo"))
        with configure(server.url):
            SevenioGateway().send(OutboundSms(reference="r-2", to_e164=NUMBER, text="Hallo"))

        assert server.requests[0].form()["from"] == ["PraxisBlau"]
        assert "from" not in server.requests[1].form()

    @pytest.mark.parametrize(
        "number", ["4915112345678", "+49 151 12345678", f"{NUMBER},+4917012345678", "Praxis"]
    )
    def test_it_refuses_a_recipient_that_is_not_e164_before_sending(self, server, gateway, number):
        with pytest.raises(errors.InvalidRecipient) as caught:
            gateway.send(OutboundSms(reference="r-1", to_e164=number, text="Hallo"))

        assert caught.value.permanent
        assert server.requests == []

    def test_it_names_the_missing_api_key_setting(self, server):
        with configure(server.url, SEVENIO_API_KEY=""), pytest.raises(errors.GatewayMisconfigured) as caught:
            SevenioGateway().send(SMS)

        assert "ALPHASMS_SEVENIO_API_KEY" in str(caught.value)
        assert not isinstance(caught.value, errors.GatewayError)
        assert server.requests == []


class TestAcceptedAnswer:
    def test_it_returns_the_message_id_and_segments(self, server, gateway):
        server.enqueue(fixture("sms-sent.json"))
        result = gateway.send(SMS)

        assert result.gateway_message_id == "77229135982"
        assert result.status == DeliveryStatus.ACCEPTED
        assert result.segments == 1

    def test_it_reads_the_parts_of_a_long_message(self, server, gateway):
        body = json.loads((FIXTURES / "sms-sent.json").read_text())["body"]
        body["messages"][0]["parts"] = 3
        server.enqueue(CannedResponse.json(body))

        assert gateway.send(SMS).segments == 3

    def test_the_fixtures_fit_the_published_response_schema(self):
        schema = json.loads(SPEC.read_text())["components"]["schemas"]["SmsResponse"]
        for name in ("sms-sent.json", "sms-invalid-recipient.json"):
            assert_fits(json.loads((FIXTURES / name).read_text())["body"], schema, name)


def assert_fits(value: Any, schema: dict[str, Any], where: str) -> None:
    """Names and JSON types against an OpenAPI schema; null is allowed because seven.io sends it
    (js-client types: ``error: string | null``) although the spec does not say nullable."""
    kinds: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "number": (int, float),
        "integer": int,
        "boolean": bool,
        "array": list,
        "object": dict,
    }
    if value is None:
        return
    assert isinstance(value, kinds[schema.get("type", "object")]), (
        f"{where}: {value!r} is not {schema['type']}"
    )
    if isinstance(value, dict):
        unknown = set(value) - set(schema.get("properties", {}))
        assert not unknown, f"{where}: fields {unknown} are not in the spec"
        for key, item in value.items():
            assert_fits(item, schema["properties"][key], f"{where}.{key}")
    if isinstance(value, list):
        for index, item in enumerate(value):
            assert_fits(item, schema["items"], f"{where}[{index}]")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DRILL = [
    ("400", CannedResponse(400, {}, b"Bad Request"), errors.RejectedByProvider, True, False),
    ("401", CannedResponse(401, {}, b"Unauthorized"), errors.AuthenticationFailed, True, False),
    ("403", CannedResponse(403, {}, b"Forbidden"), errors.AuthenticationFailed, True, False),
    ("429", CannedResponse(429, {"Retry-After": "30"}, b""), errors.RateLimited, False, False),
    ("500", CannedResponse(500, {}, b"Internal Server Error"), errors.OutcomeUnknown, False, True),
    ("503", CannedResponse(503, {}, b"Service Unavailable"), errors.GatewayUnavailable, False, False),
    ("slow", CannedResponse.json({"success": "100"}, delay_s=1.5), errors.OutcomeUnknown, False, True),
    (
        "malformed",
        CannedResponse(200, {}, b'{"success": "100", "mess'),
        errors.UnexpectedResponse,
        False,
        True,
    ),
    ("html", CannedResponse(200, {}, b"<html>Wartung</html>"), errors.UnexpectedResponse, False, True),
]


class TestFailureDrill:
    @pytest.mark.parametrize(
        ("case", "answer", "error_class", "permanent", "ambiguous"), DRILL, ids=[d[0] for d in DRILL]
    )
    def test_it_classifies_each_failure(self, server, case, answer, error_class, permanent, ambiguous):
        server.enqueue(answer)
        with configure(server.url, HTTP_TIMEOUT_S=0.5), pytest.raises(errors.GatewayError) as caught:
            SevenioGateway().send(SMS)

        error = caught.value
        assert type(error) is error_class, f"{case}: {error!r}"
        assert (error.permanent, error.ambiguous) == (permanent, ambiguous)
        assert error.user_message == error_class.default_user_message
        assert NUMBER[1:] not in str(error)

    def test_it_passes_retry_after_on(self, server, gateway):
        server.enqueue(CannedResponse(429, {"Retry-After": "30"}, b""))
        with pytest.raises(errors.RateLimited) as caught:
            gateway.send(SMS)

        assert caught.value.retry_after_s == 30.0

    def test_it_reports_a_closed_port_as_unavailable(self):
        with (
            configure(f"http://127.0.0.1:{closed_port()}/api"),
            pytest.raises(errors.GatewayUnavailable) as caught,
        ):
            SevenioGateway().send(SMS)

        assert not caught.value.permanent and not caught.value.ambiguous
        assert caught.value.user_message == errors.GatewayUnavailable.default_user_message


class TestReturnCodes:
    def test_it_marks_the_attempt_permanent_on_an_invalid_number_answered_with_http_200(
        self, server, gateway
    ):
        server.enqueue(fixture("sms-invalid-recipient.json"))
        with pytest.raises(errors.InvalidRecipient) as caught:
            gateway.send(SMS)

        error = caught.value
        assert (error.permanent, error.ambiguous, error.provider_code, error.http_status) == (
            True,
            False,
            "202",
            200,
        )
        assert error.user_message == "seven.io hält die Empfängernummer für ungültig."
        assert NUMBER[1:] not in str(error) and "Termin" not in str(error)

    def test_it_reads_a_bare_code_body_as_a_failed_login(self, server, gateway):
        server.enqueue(fixture("sms-auth-failed.json"))
        with pytest.raises(errors.AuthenticationFailed) as caught:
            gateway.send(SMS)

        assert caught.value.permanent and caught.value.provider_code == "900"
        assert "ALPHASMS_SEVENIO_API_KEY" in caught.value.user_message

    def test_it_prefers_a_known_code_in_a_4xx_body(self, server, gateway):
        server.enqueue(CannedResponse(400, {}, b"500"))
        with pytest.raises(errors.InsufficientFunds) as caught:
            gateway.send(SMS)

        assert caught.value.http_status == 400 and caught.value.provider_code == "500"

    @pytest.mark.parametrize("code", list(RETURN_CODES))
    def test_each_return_code_maps_to_its_error_and_sentence(self, server, gateway, code):
        server.enqueue(CannedResponse.json({"success": code, "messages": []}))
        with pytest.raises(errors.GatewayError) as caught:
            gateway.send(SMS)

        error_class, sentence = RETURN_CODES[code]
        assert type(caught.value) is error_class
        assert caught.value.user_message == sentence
        assert caught.value.provider_code == code

    @pytest.mark.parametrize(
        ("code", "error_class", "permanent", "ambiguous"),
        [
            ("201", errors.SenderNotAllowed, True, False),
            ("402", errors.RejectedByProvider, True, False),
            ("403", errors.RateLimited, False, False),
            ("500", errors.InsufficientFunds, True, False),
            ("600", errors.GatewayUnavailable, False, False),
            ("700", errors.OutcomeUnknown, False, True),
            ("903", errors.AuthenticationFailed, True, False),
        ],
    )
    def test_it_decides_retry_by_code(self, server, gateway, code, error_class, permanent, ambiguous):
        server.enqueue(CannedResponse.json({"success": code}))
        with pytest.raises(error_class) as caught:
            gateway.send(SMS)

        assert (caught.value.permanent, caught.value.ambiguous) == (permanent, ambiguous)

    def test_an_unknown_code_is_ambiguous(self, server, gateway):
        server.enqueue(CannedResponse.json({"success": "999", "messages": []}))
        with pytest.raises(errors.UnexpectedResponse) as caught:
            gateway.send(SMS)

        assert caught.value.ambiguous and caught.value.provider_code == "999"

    def test_a_message_marked_failed_without_a_code_is_retried(self, server, gateway):
        server.enqueue(
            CannedResponse.json({"success": "101", "messages": [{"success": False, "error": None}]})
        )
        with pytest.raises(errors.GatewayError) as caught:
            gateway.send(SMS)

        assert type(caught.value) is errors.GatewayError
        assert not caught.value.permanent and not caught.value.ambiguous
