"""Sending through Twilio over real sockets: request encoding, the failure drill, Twilio error codes."""

from __future__ import annotations

import base64
import json
import socket
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import resolve

from alphasms.messaging import views
from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import DeliveryStatus, OutboundSms
from alphasms.messaging.gateways.twilio.gateway import ERROR_CODES, TwilioGateway
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer
from alphasms.testing.prism import REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"
SPEC = REPO_ROOT / "tests" / "data" / "provider-specs" / "twilio-api-v2010.openapi.json"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
SERVICE_SID = "MG" + "fedcba9876543210" * 2
AUTH_TOKEN = "test-token-5f0c"
NUMBER = "+4915112345678"
TEXT = "Erinnerung: Ihr Termin bei Dr. Müller ist morgen um 09:30. Absagen: 0551 123456"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"
SMS = OutboundSms(reference=REFERENCE, to_e164=NUMBER, text=TEXT, sender_id="Praxis", segments=1)
PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    with FakeHttpServer() as fake:
        yield fake
    assert fake.unanswered == 0, "a request reached the fake server with no canned answer"


def configure(base_url: str, **extra: Any) -> override_settings:
    values = {
        "TWILIO_BASE_URL": base_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": "",
        "TWILIO_MESSAGING_SERVICE_SID": "",
        "SMS_SENDER_ID": "",
        "PUBLIC_URL": "https://praxis.example",
        "HTTP_TIMEOUT_S": 2,
    }
    return override_settings(ALPHASMS={**settings.ALPHASMS, **values, **extra})


@pytest.fixture
def gateway(server: FakeHttpServer) -> Iterator[TwilioGateway]:
    with configure(server.url):
        yield TwilioGateway()


def fixture(name: str, **overrides: Any) -> CannedResponse:
    return CannedResponse.from_fixture(FIXTURES / name, **overrides)


class TestRequestEncoding:
    def test_it_posts_exactly_recipient_text_sender_and_callback_as_a_form(self, server, gateway):
        server.enqueue(fixture("message-queued.json"))
        gateway.send(SMS)

        (request,) = server.requests
        assert (request.method, request.path) == ("POST", PATH)
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.form() == {
            "To": [NUMBER],
            "Body": [TEXT],
            "From": ["Praxis"],
            "StatusCallback": [f"https://praxis.example/hooks/twilio/dlr/?ref={REFERENCE}"],
        }

    def test_the_status_callback_carries_only_our_reference_to_the_dlr_view(self, server, gateway):
        server.enqueue(fixture("message-queued.json"))
        gateway.send(SMS)

        callback = urllib.parse.urlsplit(server.requests[0].form()["StatusCallback"][0])
        assert urllib.parse.parse_qs(callback.query) == {"ref": [REFERENCE]}
        match = resolve(callback.path)
        assert (match.func, match.kwargs) == (views.delivery_report_hook, {"slug": "twilio"})

    def test_it_authenticates_with_basic_auth_of_account_sid_and_auth_token(self, server, gateway):
        server.enqueue(fixture("message-queued.json"))
        gateway.send(SMS)

        headers = server.requests[0].headers
        scheme, _, credentials = headers["authorization"].partition(" ")
        assert (scheme, base64.b64decode(credentials).decode()) == ("Basic", f"{ACCOUNT_SID}:{AUTH_TOKEN}")
        assert headers["accept"] == "application/json"

    def test_it_encodes_plus_umlauts_and_separators_in_utf8(self, server, gateway):
        server.enqueue(fixture("message-queued.json"))
        gateway.send(OutboundSms("r-1", NUMBER, "Grüße & 50 % = 1+1 €", sender_id="Praxis"))

        assert "To=%2B4915112345678" in server.requests[0].body.decode("ascii")  # "+" would be a space
        assert server.requests[0].form()["Body"] == ["Grüße & 50 % = 1+1 €"]

    def test_it_sends_through_a_messaging_service_without_a_sender(self, server):
        server.enqueue(fixture("message-accepted-messaging-service.json"))
        with configure(server.url, TWILIO_MESSAGING_SERVICE_SID=SERVICE_SID):
            TwilioGateway().send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Hallo"))

        form = server.requests[0].form()
        assert form["MessagingServiceSid"] == [SERVICE_SID]
        assert set(form) == {"To", "Body", "MessagingServiceSid", "StatusCallback"}

    @pytest.mark.parametrize(
        ("message_sender", "twilio_from", "general", "expected"),
        [
            ("Praxis", "+4930123456", "Allgemein", "Praxis"),
            ("", "+4930123456", "Allgemein", "+4930123456"),
            ("", "", "Allgemein", "Allgemein"),
        ],
    )
    def test_it_takes_the_message_sender_then_twilio_from_then_the_general_sender_id(
        self, server, message_sender, twilio_from, general, expected
    ):
        server.enqueue(fixture("message-queued.json"))
        with configure(server.url, TWILIO_FROM=twilio_from, SMS_SENDER_ID=general):
            TwilioGateway().send(OutboundSms("r-1", NUMBER, "Hallo", sender_id=message_sender))

        assert server.requests[0].form()["From"] == [expected]

    def test_it_leaves_out_the_status_callback_without_a_public_url(self, server):
        server.enqueue(fixture("message-queued.json"))
        with configure(server.url, PUBLIC_URL=""):
            TwilioGateway().send(SMS)

        assert "StatusCallback" not in server.requests[0].form()

    @pytest.mark.parametrize("number", ["4915112345678", "+49 151 12345678", f"{NUMBER},+4917012345678", ""])
    def test_it_refuses_a_recipient_that_is_not_e164_before_sending(self, server, gateway, number):
        with pytest.raises(errors.InvalidRecipient) as caught:
            gateway.send(OutboundSms(reference="r-1", to_e164=number, text="Hallo"))

        assert caught.value.permanent
        assert server.requests == []

    @pytest.mark.parametrize(
        ("overrides", "named"),
        [
            ({"TWILIO_ACCOUNT_SID": ""}, "ALPHASMS_TWILIO_ACCOUNT_SID"),
            ({"TWILIO_ACCOUNT_SID": "AC123/../Calls"}, "ALPHASMS_TWILIO_ACCOUNT_SID"),
            ({"TWILIO_AUTH_TOKEN": ""}, "ALPHASMS_TWILIO_AUTH_TOKEN"),
            ({"TWILIO_MESSAGING_SERVICE_SID": "MG1"}, "ALPHASMS_TWILIO_MESSAGING_SERVICE_SID"),
        ],
    )
    def test_it_names_a_missing_or_malformed_setting(self, server, overrides, named):
        with configure(server.url, **overrides), pytest.raises(errors.GatewayMisconfigured) as caught:
            TwilioGateway().send(SMS)

        assert named in str(caught.value)
        assert not isinstance(caught.value, errors.GatewayError)
        assert server.requests == []

    def test_it_names_both_sender_settings_when_there_is_no_sender(self, server):
        with configure(server.url), pytest.raises(errors.GatewayMisconfigured) as caught:
            TwilioGateway().send(OutboundSms(reference="r-1", to_e164=NUMBER, text="Hallo"))

        assert "ALPHASMS_TWILIO_FROM" in str(caught.value)
        assert "ALPHASMS_TWILIO_MESSAGING_SERVICE_SID" in str(caught.value)
        assert server.requests == []


class TestAcceptedAnswer:
    def test_it_returns_the_sid_status_and_segments(self, server, gateway):
        server.enqueue(fixture("message-queued.json"))
        result = gateway.send(SMS)

        assert result.gateway_message_id == "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        assert result.status == DeliveryStatus.QUEUED
        assert result.segments == 1

    def test_it_counts_segments_itself_when_a_messaging_service_answers_zero(self, server):
        server.enqueue(fixture("message-accepted-messaging-service.json"))
        with configure(server.url, TWILIO_MESSAGING_SERVICE_SID=SERVICE_SID):
            result = TwilioGateway().send(OutboundSms(REFERENCE, NUMBER, "Hallo " * 40, segments=2))

        assert (result.status, result.segments) == (DeliveryStatus.ACCEPTED, 2)

    def test_it_reads_the_segments_of_a_long_message(self, server, gateway):
        body = json.loads((FIXTURES / "message-queued.json").read_text())["body"]
        server.enqueue(CannedResponse.json({**body, "num_segments": "3"}, status=201))

        assert gateway.send(SMS).segments == 3

    def test_an_answer_without_a_sid_is_ambiguous_and_keeps_the_text_out(self, server, gateway):
        body = json.loads((FIXTURES / "message-queued.json").read_text())["body"]
        server.enqueue(CannedResponse.json({**body, "sid": None, "body": TEXT}, status=201))
        with pytest.raises(errors.UnexpectedResponse) as caught:
            gateway.send(SMS)

        assert caught.value.ambiguous and not caught.value.permanent
        assert "Termin" not in str(caught.value) and NUMBER[1:] not in str(caught.value)

    def test_the_fixtures_fit_the_published_response_schema(self):
        spec = json.loads(SPEC.read_text())
        schema = spec["components"]["schemas"]["api.v2010.account.message"]
        statuses = spec["components"]["schemas"]["message_enum_status"]["enum"]
        for name in ("message-queued.json", "message-accepted-messaging-service.json"):
            body = json.loads((FIXTURES / name).read_text())["body"]
            assert set(body) <= set(schema["properties"]), name
            assert body["status"] in statuses
            for key, value in body.items():
                kind = schema["properties"][key].get("type")
                if value is not None and kind in ("string", "integer", "object"):
                    assert isinstance(value, {"string": str, "integer": int, "object": dict}[kind]), key


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


E = errors
DRILL = [
    # case, answer, error class, permanent, ambiguous, staff sentence
    (
        "400",
        CannedResponse.json({"code": 21999, "message": "new", "status": 400}, status=400),
        E.RejectedByProvider,
        True,
        False,
        E.RejectedByProvider.default_user_message,
    ),
    (
        "401",
        fixture("error-20003-authenticate.json"),
        E.AuthenticationFailed,
        True,
        False,
        ERROR_CODES["20003"][1],
    ),
    ("403", CannedResponse(403, {}, b"Forbidden"), E.AuthenticationFailed, True, False, None),
    (
        "429",
        fixture("error-20429-too-many-requests.json"),
        E.RateLimited,
        False,
        False,
        ERROR_CODES["20429"][1],
    ),
    ("500", fixture("error-20500-internal.json"), E.OutcomeUnknown, False, True, ERROR_CODES["20500"][1]),
    ("503", CannedResponse(503, {}, b"Service Unavailable"), E.GatewayUnavailable, False, False, None),
    ("slow", fixture("message-queued.json", delay_s=1.5), E.OutcomeUnknown, False, True, None),
    ("malformed", CannedResponse(201, {}, b'{"sid": "SM1", "stat'), E.UnexpectedResponse, False, True, None),
    ("html", CannedResponse(201, {}, b"<html>Wartung</html>"), E.UnexpectedResponse, False, True, None),
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
            TwilioGateway().send(SMS)

        error = caught.value
        assert type(error) is error_class, f"{case}: {error!r}"
        assert (error.permanent, error.ambiguous) == (permanent, ambiguous)
        assert error.user_message == (sentence or error_class.default_user_message)
        assert NUMBER[1:] not in str(error)

    def test_it_passes_retry_after_on(self, server, gateway):
        server.enqueue(fixture("error-20429-too-many-requests.json"))
        with pytest.raises(errors.RateLimited) as caught:
            gateway.send(SMS)

        assert (caught.value.retry_after_s, caught.value.provider_code) == (30.0, "20429")

    def test_it_reports_a_closed_port_as_unavailable(self):
        with (
            configure(f"http://127.0.0.1:{closed_port()}"),
            pytest.raises(errors.GatewayUnavailable) as caught,
        ):
            TwilioGateway().send(SMS)

        assert not caught.value.permanent and not caught.value.ambiguous
        assert caught.value.user_message == errors.GatewayUnavailable.default_user_message

    def test_it_keeps_an_unknown_twilio_code_as_provider_code(self, server, gateway):
        server.enqueue(CannedResponse.json({"code": 21999, "message": "new", "status": 400}, status=400))
        with pytest.raises(errors.RejectedByProvider) as caught:
            gateway.send(SMS)

        assert (caught.value.provider_code, caught.value.http_status) == ("21999", 400)


class TestErrorCodes:
    def test_it_marks_the_attempt_permanent_on_an_invalid_number(self, server, gateway):
        server.enqueue(fixture("error-21211-invalid-to.json"))
        with pytest.raises(errors.InvalidRecipient) as caught:
            gateway.send(SMS)

        error = caught.value
        assert (error.permanent, error.ambiguous, error.provider_code, error.http_status) == (
            True,
            False,
            "21211",
            400,
        )
        assert error.user_message == "Twilio hält die Empfängernummer für ungültig."
        assert "21211" in str(error) and NUMBER[1:] not in str(error)  # Twilio's message quotes the number

    def test_it_reports_a_stop_by_the_recipient_as_opted_out(self, server, gateway):
        server.enqueue(fixture("error-21610-unsubscribed.json"))
        with pytest.raises(errors.RecipientOptedOut) as caught:
            gateway.send(SMS)

        assert caught.value.permanent and caught.value.provider_code == "21610"

    @pytest.mark.parametrize("code", list(ERROR_CODES))
    def test_each_code_maps_to_its_error_and_sentence(self, server, gateway, code):
        server.enqueue(CannedResponse.json({"code": int(code), "message": "x", "status": 400}, status=400))
        with pytest.raises(errors.GatewayError) as caught:
            gateway.send(SMS)

        error_class, sentence = ERROR_CODES[code]
        assert type(caught.value) is error_class
        assert (caught.value.user_message, caught.value.provider_code) == (sentence, code)
