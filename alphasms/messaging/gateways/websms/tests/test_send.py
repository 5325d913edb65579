"""Sending through websms over real sockets: the exact JSON request, websms status codes, the failure drill.

A fake HTTP peer (alphasms.testing.fake_http) answers with bodies shaped as the API doc describes them
(fixtures/, provenance inside each file); nothing is mocked.
"""

from __future__ import annotations

import base64
import socket
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import DeliveryStatus, OutboundSms
from alphasms.messaging.gateways.websms import webhooks
from alphasms.messaging.gateways.websms.gateway import STATUS_CODES, WebsmsGateway, sender_address
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer

FIXTURES = Path(__file__).parent / "fixtures"
NUMBER = "+4366012345678"
TEXT = "Erinnerung: Ihr Termin bei Dr. Müller ist morgen um 09:30. Absagen: 0662 123456"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"
SMS = OutboundSms(reference=REFERENCE, to_e164=NUMBER, text=TEXT, sender_id="Praxis", segments=1)
TOKEN = "websms-token-for-tests"


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    with FakeHttpServer() as fake:
        yield fake
    assert fake.unanswered == 0, "a request reached the fake server with no canned answer"


def configure(base_url: str, **extra: Any) -> override_settings:
    values = {
        "WEBSMS_BASE_URL": base_url + "/rest",
        "WEBSMS_TOKEN": TOKEN,
        "WEBSMS_USERNAME": "",
        "WEBSMS_PASSWORD": "",
        "WEBSMS_DLR_SECRET": "websms-dlr-secret-for-tests",
        "PUBLIC_URL": "https://praxis.example",
        "SMS_SENDER_ID": "",
        "HTTP_TIMEOUT_S": 2,
    }
    return override_settings(ALPHASMS={**settings.ALPHASMS, **values, **extra})


@pytest.fixture
def gateway(server: FakeHttpServer) -> Iterator[WebsmsGateway]:
    with configure(server.url):
        yield WebsmsGateway()


def fixture(name: str, **overrides: Any) -> CannedResponse:
    return CannedResponse.from_fixture(FIXTURES / name, **overrides)


class TestRequestEncoding:
    def test_it_sends_exactly_the_listed_fields(self, server, gateway):
        server.enqueue(fixture("send-ok.json"))
        gateway.send(SMS)

        (request,) = server.requests
        assert (request.method, request.path) == ("POST", "/rest/smsmessaging/text")
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["content-type"] == "application/json"
        body = request.json()
        callback = body.pop("notificationCallbackUrl")
        assert body == {
            "recipientAddressList": ["4366012345678"],
            "messageContent": TEXT,
            "maxSmsPerMessage": 1,
            "clientMessageId": REFERENCE,
            "senderAddress": "Praxis",
            "senderAddressType": "alphanumeric",
        }
        assert callback.startswith("https://praxis.example/hooks/websms/dlr/?ref=" + REFERENCE + "&ts=")

    def test_the_callback_url_carries_a_signature_of_reference_and_time(self, server, gateway):
        server.enqueue(fixture("send-ok.json"))
        gateway.send(SMS)

        url = server.requests[0].json()["notificationCallbackUrl"]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        assert query["sig"] == [webhooks.sign(REFERENCE, int(query["ts"][0]))]

    @pytest.mark.parametrize(("segments", "expected"), [(0, 1), (2, 2), (3, 3), (25, 10)])
    def test_it_allows_our_segment_count_capped_at_max_segments(self, server, gateway, segments, expected):
        server.enqueue(fixture("send-ok.json"))
        gateway.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="x" * 200, segments=segments))

        assert server.requests[0].json()["maxSmsPerMessage"] == expected

    def test_it_uses_basic_auth_without_a_token(self, server):
        server.enqueue(fixture("send-ok.json"))
        with configure(server.url, WEBSMS_TOKEN="", WEBSMS_USERNAME="praxis", WEBSMS_PASSWORD="pw:ä"):
            WebsmsGateway().send(SMS)

        scheme, value = server.requests[0].headers["authorization"].split(" ")
        assert (scheme, base64.b64decode(value).decode()) == ("Basic", "praxis:pw:ä")

    def test_it_leaves_the_sender_out_when_there_is_none(self, server, gateway):
        server.enqueue(fixture("send-ok.json"))
        gateway.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Hallo"))

        assert not {"senderAddress", "senderAddressType"} & set(server.requests[0].json())

    @pytest.mark.parametrize(
        ("sender", "expected"),
        [
            ("Praxis Blau", ("Praxis Blau", "alphanumeric")),
            ("+436601234567", ("436601234567", "international")),
            ("06601234567", ("06601234567", "national")),
            ("828", ("828", "shortcode")),
            ("436601234567", ("436601234567", "international")),
        ],
    )
    def test_it_declares_the_sender_type(self, sender, expected):
        assert sender_address(sender) == expected

    @pytest.mark.parametrize("number", ["4366012345678", "+43 660 12345678", "+0660123"])
    def test_it_refuses_a_recipient_that_is_not_e164_before_sending(self, server, gateway, number):
        with pytest.raises(errors.InvalidRecipient) as caught:
            gateway.send(OutboundSms(reference=REFERENCE, to_e164=number, text="Hallo"))

        assert caught.value.permanent and server.requests == []

    @pytest.mark.parametrize("setting", ["WEBSMS_TOKEN", "WEBSMS_DLR_SECRET"])
    def test_it_names_a_missing_setting(self, server, setting):
        with configure(server.url, **{setting: ""}), pytest.raises(errors.GatewayMisconfigured) as caught:
            WebsmsGateway().send(SMS)

        assert f"ALPHASMS_{setting}" in str(caught.value)
        assert server.requests == []

    def test_it_defaults_to_the_linkmobility_host(self):
        with override_settings(ALPHASMS={**settings.ALPHASMS, "WEBSMS_BASE_URL": ""}):
            assert WebsmsGateway().base_url() == "https://api.linkmobility.eu/rest"


class TestAnswers:
    def test_status_2000_is_accepted_with_the_transfer_id(self, server, gateway):
        server.enqueue(fixture("send-ok.json"))
        result = gateway.send(SMS)

        assert (result.gateway_message_id, result.status, result.segments) == (
            "0051949fe700053c4615",
            DeliveryStatus.ACCEPTED,
            1,
        )

    def test_status_2001_is_queued_with_websms_segment_count(self, server, gateway):
        server.enqueue(fixture("send-queued.json"))
        result = gateway.send(SMS)

        assert (result.status, result.segments) == (DeliveryStatus.QUEUED, 2)

    @pytest.mark.parametrize(
        ("name", "error_class", "permanent"),
        [
            ("send-invalid-credentials.json", errors.AuthenticationFailed, True),
            ("send-invalid-recipient.json", errors.InvalidRecipient, True),
            ("send-invalid-sender.json", errors.SenderNotAllowed, True),
            ("send-throttled.json", errors.RateLimited, False),
            ("send-too-many-segments.json", errors.RejectedByProvider, True),
            ("send-blacklisted.json", errors.RecipientOptedOut, True),
            ("send-unavailable.json", errors.GatewayUnavailable, False),
        ],
    )
    def test_it_maps_a_status_code_in_a_200_answer(self, server, gateway, name, error_class, permanent):
        server.enqueue(fixture(name))
        with pytest.raises(errors.GatewayError) as caught:
            gateway.send(SMS)

        error = caught.value
        assert type(error) is error_class and error.permanent is permanent
        assert error.user_message == STATUS_CODES[int(error.provider_code)][1]

    def test_a_status_code_wins_over_the_http_status(self, server, gateway):
        server.enqueue(fixture("send-invalid-recipient.json", status=400))
        with pytest.raises(errors.InvalidRecipient):
            gateway.send(SMS)

    def test_an_unknown_4xxx_code_is_a_rejection_and_an_unknown_other_code_ambiguous(self, server, gateway):
        server.enqueue(
            CannedResponse.json({"statusCode": 4099, "statusMessage": "new"}),
            CannedResponse.json({"statusCode": 3000, "statusMessage": "new"}),
        )
        with pytest.raises(errors.RejectedByProvider):
            gateway.send(SMS)
        with pytest.raises(errors.UnexpectedResponse):
            gateway.send(SMS)


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
    ("slow", CannedResponse.json({"statusCode": 2000}, delay_s=1.5), errors.OutcomeUnknown, False, True),
    ("malformed", CannedResponse(200, {}, b'{"statusCode": 20'), errors.UnexpectedResponse, False, True),
    ("no code", CannedResponse.json({"ok": True}), errors.UnexpectedResponse, False, True),
]


class TestFailureDrill:
    @pytest.mark.parametrize(
        ("case", "answer", "error_class", "permanent", "ambiguous"), DRILL, ids=[d[0] for d in DRILL]
    )
    def test_it_classifies_each_failure(self, server, case, answer, error_class, permanent, ambiguous):
        server.enqueue(answer)
        with configure(server.url, HTTP_TIMEOUT_S=0.5), pytest.raises(errors.GatewayError) as caught:
            WebsmsGateway().send(SMS)

        error = caught.value
        assert type(error) is error_class, f"{case}: {error!r}"
        assert (error.permanent, error.ambiguous) == (permanent, ambiguous)
        assert error.user_message == error_class.default_user_message
        assert NUMBER[1:] not in str(error) and TOKEN not in str(error)

    def test_it_passes_retry_after_on(self, server, gateway):
        server.enqueue(CannedResponse(429, {"Retry-After": "30"}, b""), fixture("send-throttled.json"))
        with pytest.raises(errors.RateLimited) as caught:
            gateway.send(SMS)
        assert caught.value.retry_after_s == 30.0
        with pytest.raises(errors.RateLimited) as caught:
            gateway.send(SMS)
        assert caught.value.retry_after_s is None

    def test_it_reports_a_closed_port_as_unavailable(self):
        with (
            configure(f"http://127.0.0.1:{closed_port()}"),
            pytest.raises(errors.GatewayUnavailable) as caught,
        ):
            WebsmsGateway().send(SMS)

        assert not caught.value.permanent and not caught.value.ambiguous
        assert caught.value.user_message == errors.GatewayUnavailable.default_user_message
