"""Sending through Kannel's sendsms over real sockets: the exact request, the failure drill, Kannel's answers.

The real smsbox is exercised in test_kannel_live.py; here a fake HTTP peer answers with Kannel's recorded
answers (fixtures) so every branch is reached deterministically.
"""

from __future__ import annotations

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
from alphasms.messaging.gateways.kannel import webhooks
from alphasms.messaging.gateways.kannel.gateway import ANSWERS, KannelGateway
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer

FIXTURES = Path(__file__).parent / "fixtures"
NUMBER = "+4915112345678"
TEXT = "Erinnerung: Ihr Termin bei Dr. Müller ist morgen um 09:30. Absagen: 0551 123456"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"
SMS = OutboundSms(reference=REFERENCE, to_e164=NUMBER, text=TEXT, sender_id="Praxis")
SECRET = "kannel-dlr-secret-for-tests"


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    with FakeHttpServer() as fake:
        yield fake
    assert fake.unanswered == 0, "a request reached the fake server with no canned answer"


def configure(base_url: str, **extra: Any) -> override_settings:
    values = {
        "KANNEL_BASE_URL": base_url,
        "KANNEL_USERNAME": "alphasms",
        "KANNEL_PASSWORD": "s3cret&pw",
        "KANNEL_DLR_SECRET": SECRET,
        "PUBLIC_URL": "https://praxis.example",
        "SMS_SENDER_ID": "",
        "HTTP_TIMEOUT_S": 2,
    }
    return override_settings(ALPHASMS={**settings.ALPHASMS, **values, **extra})


@pytest.fixture
def gateway(server: FakeHttpServer) -> Iterator[KannelGateway]:
    with configure(server.url):
        yield KannelGateway()


def fixture(name: str, **overrides: Any) -> CannedResponse:
    return CannedResponse.from_fixture(FIXTURES / name, **overrides)


class TestRequestEncoding:
    def test_it_sends_exactly_the_listed_query_parameters(self, server, gateway):
        server.enqueue(fixture("sendsms-accepted.json"))
        gateway.send(SMS)

        (request,) = server.requests
        assert request.method == "GET" and request.body == b""
        assert urllib.parse.urlsplit(request.path).path == "/cgi-bin/sendsms"
        query = request.query
        dlr_url = query.pop("dlr-url")
        assert query == {
            "username": ["alphasms"],
            "password": ["s3cret&pw"],
            "to": [NUMBER],
            "text": [TEXT],
            "from": ["Praxis"],
            "charset": ["UTF-8"],
            "coding": ["0"],
            "dlr-mask": ["31"],
        }
        assert dlr_url[0].startswith("https://praxis.example/hooks/kannel/dlr/?ref=" + REFERENCE + "&ts=")
        assert dlr_url[0].endswith("&type=%d&smsc=%i&at=%T&reply=%A&fid=%F")

    def test_the_dlr_url_carries_a_signature_of_reference_and_time(self, server, gateway):
        server.enqueue(fixture("sendsms-accepted.json"))
        gateway.send(SMS)

        dlr_url = server.requests[0].query["dlr-url"][0]
        ours = urllib.parse.parse_qs(urllib.parse.urlsplit(dlr_url).query)
        assert ours["ref"] == [REFERENCE]
        assert ours["sig"] == [webhooks.sign(REFERENCE, int(ours["ts"][0]))]

    def test_it_asks_for_ucs2_when_the_text_is_not_gsm7(self, server, gateway):
        server.enqueue(fixture("sendsms-accepted.json"))
        gateway.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Termin 🙂 Ελλάδα"))

        assert server.requests[0].query["coding"] == ["2"]
        assert server.requests[0].query["text"] == ["Termin 🙂 Ελλάδα"]

    def test_it_keeps_gsm7_extension_characters_in_7_bit(self, server, gateway):
        server.enqueue(fixture("sendsms-accepted.json"))
        gateway.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Preis 10 € [inkl.]"))

        assert server.requests[0].query["coding"] == ["0"]

    def test_it_encodes_plus_ampersand_and_percent(self, server, gateway):
        server.enqueue(fixture("sendsms-accepted.json"))
        gateway.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="1+1 & 50 % = ?"))

        raw = urllib.parse.urlsplit(server.requests[0].path).query
        assert "to=%2B4915112345678" in raw  # a raw "+" would arrive as a space: two receivers
        assert server.requests[0].query["text"] == ["1+1 & 50 % = ?"]

    def test_it_uses_the_configured_sender_id_or_leaves_from_out(self, server):
        server.enqueue(fixture("sendsms-accepted.json"), fixture("sendsms-accepted.json"))
        with configure(server.url, SMS_SENDER_ID="PraxisBlau"):
            KannelGateway().send(OutboundSms(reference="r-1", to_e164=NUMBER, text="Hallo"))
        with configure(server.url):
            KannelGateway().send(OutboundSms(reference="r-2", to_e164=NUMBER, text="Hallo"))

        assert server.requests[0].query["from"] == ["PraxisBlau"]
        assert "from" not in server.requests[1].query

    @pytest.mark.parametrize("number", ["4915112345678", "+49 151 12345678", f"{NUMBER} +4917012345678"])
    def test_it_refuses_a_recipient_that_is_not_e164_before_sending(self, server, gateway, number):
        with pytest.raises(errors.InvalidRecipient) as caught:
            gateway.send(OutboundSms(reference="r-1", to_e164=number, text="Hallo"))

        assert caught.value.permanent
        assert server.requests == []

    @pytest.mark.parametrize(
        "setting", ["KANNEL_BASE_URL", "KANNEL_USERNAME", "KANNEL_PASSWORD", "KANNEL_DLR_SECRET"]
    )
    def test_it_names_a_missing_setting(self, server, setting):
        with configure(server.url, **{setting: ""}), pytest.raises(errors.GatewayMisconfigured) as caught:
            KannelGateway().send(SMS)

        assert f"ALPHASMS_{setting}" in str(caught.value)
        assert not isinstance(caught.value, errors.GatewayError)
        assert server.requests == []


class TestAcceptedAnswers:
    def test_it_returns_accepted_without_a_message_id(self, server, gateway):
        server.enqueue(fixture("sendsms-accepted.json"))
        result = gateway.send(SMS)

        assert (result.gateway_message_id, result.status, result.segments) == ("", DeliveryStatus.ACCEPTED, 1)

    def test_queued_for_later_delivery_is_a_success_with_status_queued(self, server, gateway):
        server.enqueue(fixture("sendsms-queued.json"))

        assert gateway.send(SMS).status == DeliveryStatus.QUEUED

    def test_it_counts_our_segments_and_kannels_splits(self, server, gateway):
        server.enqueue(fixture("sendsms-accepted.json"), CannedResponse(202, {}, b"Sent. Message splits: 3"))
        long_sms = OutboundSms(reference="r-1", to_e164=NUMBER, text="x" * 300, segments=2)

        assert gateway.send(long_sms).segments == 2
        assert gateway.send(long_sms).segments == 3


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
    (
        "slow",
        CannedResponse(202, {}, b"0: Accepted for delivery", delay_s=1.5),
        errors.OutcomeUnknown,
        False,
        True,
    ),
    ("malformed", CannedResponse(202, {}, b"0: Acc"), errors.UnexpectedResponse, False, True),
    ("html", CannedResponse(200, {}, b"<html>Wartung</html>"), errors.UnexpectedResponse, False, True),
]


class TestFailureDrill:
    @pytest.mark.parametrize(
        ("case", "answer", "error_class", "permanent", "ambiguous"), DRILL, ids=[d[0] for d in DRILL]
    )
    def test_it_classifies_each_failure(self, server, case, answer, error_class, permanent, ambiguous):
        server.enqueue(answer)
        with configure(server.url, HTTP_TIMEOUT_S=0.5), pytest.raises(errors.GatewayError) as caught:
            KannelGateway().send(SMS)

        error = caught.value
        assert type(error) is error_class, f"{case}: {error!r}"
        assert (error.permanent, error.ambiguous) == (permanent, ambiguous)
        assert error.user_message == error_class.default_user_message
        assert NUMBER[1:] not in str(error) and "s3cret" not in str(error)

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
            KannelGateway().send(SMS)

        assert not caught.value.permanent and not caught.value.ambiguous
        assert caught.value.user_message == errors.GatewayUnavailable.default_user_message


class TestKannelAnswers:
    @pytest.mark.parametrize(
        ("name", "error_class", "permanent", "ambiguous"),
        [
            ("sendsms-auth-failed.json", errors.AuthenticationFailed, True, False),
            ("sendsms-not-routable.json", errors.RejectedByProvider, True, False),
            ("sendsms-temporal-failure.json", errors.GatewayUnavailable, False, False),
            ("sendsms-missing-receiver.json", errors.RejectedByProvider, True, False),
            ("sendsms-sender-missing.json", errors.SenderNotAllowed, True, False),
        ],
    )
    def test_it_maps_kannels_answer(self, server, gateway, name, error_class, permanent, ambiguous):
        server.enqueue(fixture(name))
        with pytest.raises(errors.GatewayError) as caught:
            gateway.send(SMS)

        error = caught.value
        assert type(error) is error_class
        assert (error.permanent, error.ambiguous) == (permanent, ambiguous)
        (entry,) = [v for (status, prefix), v in ANSWERS.items() if error.provider_code == prefix]
        assert error.user_message == entry[1]

    def test_a_failed_login_names_the_settings_to_check(self, server, gateway):
        server.enqueue(fixture("sendsms-auth-failed.json"))
        with pytest.raises(errors.AuthenticationFailed) as caught:
            gateway.send(SMS)

        assert "ALPHASMS_KANNEL_USERNAME" in caught.value.user_message
        assert caught.value.http_status == 403

    def test_an_unknown_403_is_an_authentication_failure(self, server, gateway):
        server.enqueue(CannedResponse(403, {}, b"Something else"))
        with pytest.raises(errors.AuthenticationFailed):
            gateway.send(SMS)
