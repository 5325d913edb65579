"""Sending through Vonage's SMS API over real sockets: request encoding, the failure drill, status codes."""

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
from alphasms.messaging.gateways.vonage.gateway import STATUS_CODES, VonageGateway
from alphasms.messaging.gateways.vonage.tests.spec import spec_keys
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY, API_SECRET = "ab12cd34", "s3cr3t-1a2b3c4d"
NUMBER = "+4915112345678"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"
TEXT = "Erinnerung: Ihr Termin bei Dr. Müller ist morgen um 09:30. Absagen: 0551 123456"
SMS = OutboundSms(reference=REFERENCE, to_e164=NUMBER, text=TEXT, sender_id="Praxis")


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    with FakeHttpServer() as fake:
        yield fake
    assert fake.unanswered == 0, "a request reached the fake server with no canned answer"


def configure(base_url: str, **extra: Any) -> override_settings:
    values = {
        "VONAGE_BASE_URL": base_url,
        "VONAGE_API_KEY": API_KEY,
        "VONAGE_API_SECRET": API_SECRET,
        "VONAGE_FROM": "",
        "SMS_SENDER_ID": "",
        "PUBLIC_URL": "https://praxis.example",
        "HTTP_TIMEOUT_S": 2,
    }
    return override_settings(ALPHASMS={**settings.ALPHASMS, **values, **extra})


@pytest.fixture
def gateway(server: FakeHttpServer) -> Iterator[VonageGateway]:
    with configure(server.url):
        yield VonageGateway()


def fixture(name: str, **overrides: Any) -> CannedResponse:
    return CannedResponse.from_fixture(FIXTURES / name, **overrides)


def answer(*statuses: str) -> CannedResponse:
    """A send answer with one part per status ("0" = queued, with an id; others with an error text)."""
    parts = [
        {"status": s, "message-id": f"0C00000000000{n:03d}"} if s == "0" else {"status": s, "error-text": "x"}
        for n, s in enumerate(statuses, 1)
    ]
    return CannedResponse.json({"message-count": str(len(parts)), "messages": parts})


class TestRequestEncoding:
    def test_it_posts_exactly_the_listed_fields_as_a_form(self, server, gateway):
        server.enqueue(fixture("sms-sent.json"))
        gateway.send(SMS)

        (request,) = server.requests
        assert (request.method, request.path) == ("POST", "/sms/json")
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.form() == {  # DESIGN.md invariant 6: nothing else leaves
            "api_key": [API_KEY],
            "api_secret": [API_SECRET],
            "from": ["Praxis"],
            "to": ["4915112345678"],
            "text": [TEXT],
            "type": ["text"],
            "client-ref": [REFERENCE],
            "callback": ["https://praxis.example/hooks/vonage/dlr/"],
        }

    def test_it_sends_credentials_only_in_the_form(self, server, gateway):
        server.enqueue(fixture("sms-sent.json"))
        gateway.send(SMS)

        headers = server.requests[0].headers
        assert "authorization" not in headers
        assert headers["accept"] == "application/json"

    @pytest.mark.parametrize(
        ("text", "kind"),
        [
            ("Grüße & 50 % = 1+1 € [ok]", "text"),
            ("Termin bestätigt ✓", "unicode"),
            ("Dzień dobry", "unicode"),
        ],
    )
    def test_it_chooses_unicode_only_for_text_outside_gsm7(self, server, gateway, text, kind):
        server.enqueue(fixture("sms-sent.json"))
        gateway.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text=text, sender_id="Praxis"))

        form = server.requests[0].form()
        assert (form["type"], form["text"]) == ([kind], [text])

    def test_the_reference_fits_vonages_client_ref_limit(self):
        assert len(REFERENCE) <= 40  # our DeliveryAttempt UUID; Vonage allows 40 characters

    def test_it_falls_back_to_the_vonage_then_the_general_sender_setting(self, server):
        server.enqueue(*(fixture("sms-sent.json") for _ in range(3)))
        plain = OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Hallo")
        with configure(server.url, VONAGE_FROM="PraxisBlau", SMS_SENDER_ID="Praxis"):
            VonageGateway().send(plain)
        with configure(server.url, SMS_SENDER_ID="Praxis"):
            VonageGateway().send(plain)
        with configure(server.url, VONAGE_FROM="+4930123456"):
            VonageGateway().send(plain)

        assert [r.form()["from"] for r in server.requests] == [["PraxisBlau"], ["Praxis"], ["4930123456"]]

    @pytest.mark.parametrize("missing", ["VONAGE_API_KEY", "VONAGE_API_SECRET", "VONAGE_FROM"])
    def test_it_names_a_missing_setting_before_sending(self, server, missing):
        plain = OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Hallo")
        with configure(server.url, **{missing: ""}), pytest.raises(errors.GatewayMisconfigured) as caught:
            VonageGateway().send(plain)

        assert f"ALPHASMS_{missing}" in str(caught.value)
        assert not isinstance(caught.value, errors.GatewayError)
        assert server.requests == []

    @pytest.mark.parametrize("number", ["4915112345678", "+49 151 12345678", "+0151123", "Praxis"])
    def test_it_refuses_a_recipient_that_is_not_e164_before_sending(self, server, gateway, number):
        with pytest.raises(errors.InvalidRecipient) as caught:
            gateway.send(OutboundSms(reference=REFERENCE, to_e164=number, text="Hallo"))

        assert caught.value.permanent
        assert server.requests == []


class TestAcceptedAnswer:
    def test_it_returns_the_message_id_and_one_part(self, server, gateway):
        server.enqueue(fixture("sms-sent.json"))
        result = gateway.send(SMS)

        assert (result.gateway_message_id, result.status) == ("0C000000217B7F02", DeliveryStatus.ACCEPTED)
        assert (result.segments, result.part_ids) == (1, ("0C000000217B7F02",))

    def test_a_two_part_text_returns_both_part_ids_in_order(self, server, gateway):
        server.enqueue(fixture("sms-sent-two-parts.json"))
        result = gateway.send(
            OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Termin " * 30, sender_id="P")
        )

        assert result.part_ids == ("1A00000012AB34C1", "1A00000012AB34C2")
        assert (result.gateway_message_id, result.segments) == ("1A00000012AB34C1", 2)

    def test_an_accepted_part_without_an_id_is_ambiguous(self, server, gateway):
        server.enqueue(CannedResponse.json({"message-count": "1", "messages": [{"status": "0"}]}))
        with pytest.raises(errors.UnexpectedResponse) as caught:
            gateway.send(SMS)

        assert caught.value.ambiguous

    def test_the_fixtures_fit_the_published_response_schemas(self):
        answer_fields = spec_keys("components", "schemas", "SMS", "properties")
        for name, part_schema in [
            ("sms-sent.json", "Message"),
            ("sms-sent-two-parts.json", "Message"),
            ("sms-bad-credentials.json", "ErrorMessage"),
        ]:
            body = json.loads((FIXTURES / name).read_text())["body"]
            assert set(body) <= answer_fields, name
            for part in body["messages"]:
                assert set(part) <= spec_keys("components", "schemas", part_schema, "properties"), name
                assert all(isinstance(v, str) for v in part.values()), name  # the spec types all as string


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
    ("slow", CannedResponse(200, {}, b"{}", delay_s=1.5), errors.OutcomeUnknown, False, True),
    (
        "malformed",
        CannedResponse(200, {}, b'{"message-count": "1", "mess'),
        errors.UnexpectedResponse,
        False,
        True,
    ),
    ("html", CannedResponse(200, {}, b"<html>Wartung</html>"), errors.UnexpectedResponse, False, True),
    (
        "no parts",
        CannedResponse.json({"message-count": "0", "messages": []}),
        errors.UnexpectedResponse,
        False,
        True,
    ),
]


class TestFailureDrill:
    @pytest.mark.parametrize(
        ("case", "canned", "error_class", "permanent", "ambiguous"), DRILL, ids=[d[0] for d in DRILL]
    )
    def test_it_classifies_each_failure(self, server, case, canned, error_class, permanent, ambiguous):
        server.enqueue(canned)
        with configure(server.url, HTTP_TIMEOUT_S=0.5), pytest.raises(errors.GatewayError) as caught:
            VonageGateway().send(SMS)

        error = caught.value
        assert type(error) is error_class, f"{case}: {error!r}"
        assert (error.permanent, error.ambiguous) == (permanent, ambiguous)
        assert error.user_message == error_class.default_user_message
        assert NUMBER[1:] not in str(error) and API_SECRET not in str(error)

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
            VonageGateway().send(SMS)

        assert not caught.value.permanent and not caught.value.ambiguous
        assert caught.value.user_message == errors.GatewayUnavailable.default_user_message


class TestStatusCodes:
    def test_it_fails_permanently_on_bad_credentials_answered_with_http_200(self, server, gateway):
        server.enqueue(fixture("sms-bad-credentials.json"))
        with pytest.raises(errors.AuthenticationFailed) as caught:
            gateway.send(SMS)

        error = caught.value
        assert (error.permanent, error.ambiguous, error.provider_code, error.http_status) == (
            True,
            False,
            "4",
            200,
        )
        assert "ALPHASMS_VONAGE_API_KEY" in error.user_message
        assert "Bad Credentials" in error.excerpt and "Termin" not in str(error)

    @pytest.mark.parametrize("code", list(STATUS_CODES))
    def test_each_status_maps_to_its_error_and_sentence(self, server, gateway, code):
        server.enqueue(answer(code))
        with pytest.raises(errors.GatewayError) as caught:
            gateway.send(SMS)

        error_class, sentence = STATUS_CODES[code]
        assert type(caught.value) is error_class
        assert (caught.value.user_message, caught.value.provider_code) == (sentence, code)

    def test_every_documented_error_code_is_mapped(self):
        assert spec_keys("x-errors") == set(STATUS_CODES)

    @pytest.mark.parametrize(
        ("code", "error_class", "permanent", "ambiguous"),
        [
            ("1", errors.RateLimited, False, False),
            ("5", errors.GatewayUnavailable, False, False),
            ("7", errors.RecipientOptedOut, True, False),
            ("9", errors.InsufficientFunds, True, False),
            ("15", errors.SenderNotAllowed, True, False),
            ("33", errors.InvalidRecipient, True, False),
        ],
    )
    def test_it_decides_retry_by_status(self, server, gateway, code, error_class, permanent, ambiguous):
        server.enqueue(answer(code))
        with pytest.raises(error_class) as caught:
            gateway.send(SMS)

        assert (caught.value.permanent, caught.value.ambiguous) == (permanent, ambiguous)

    def test_a_failed_second_part_fails_the_message(self, server, gateway):
        server.enqueue(answer("0", "1"))
        with pytest.raises(errors.RateLimited) as caught:
            gateway.send(SMS)

        assert "part 2/2" in caught.value.excerpt

    def test_an_unknown_status_is_a_transient_failure(self, server, gateway):
        server.enqueue(answer("99"))
        with pytest.raises(errors.GatewayError) as caught:
            gateway.send(SMS)

        assert type(caught.value) is errors.GatewayError
        assert (caught.value.permanent, caught.value.ambiguous, caught.value.provider_code) == (
            False,
            False,
            "99",
        )

    def test_a_known_status_in_a_4xx_body_wins(self, server, gateway):
        server.enqueue(fixture("sms-bad-credentials.json", status=400))
        with pytest.raises(errors.AuthenticationFailed) as caught:
            gateway.send(SMS)

        assert (caught.value.http_status, caught.value.provider_code) == (400, "4")

    def test_the_error_excerpt_redacts_a_number_in_the_error_text(self, server, gateway):
        body = {"messages": [{"status": "6", "error-text": "Unroutable 4915112345678"}]}
        server.enqueue(CannedResponse.json(body))
        with pytest.raises(errors.RejectedByProvider) as caught:
            gateway.send(SMS)

        assert "4915112345678" not in str(caught.value) and "5678" in caught.value.excerpt
