"""Sending through SMS Gateway for Android over real sockets: request encoding, idempotency by our id,
the failure drill in local and cloud mode, and Android's part budget."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.messaging.encoding import analyse
from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.android.budget import PartBudget
from alphasms.messaging.gateways.android.gateway import CLOUD_BASE_URL, STATE_MAP, AndroidGateway
from alphasms.messaging.gateways.base import DeliveryStatus, OutboundSms
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer
from alphasms.testing.prism import REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"
SPEC = REPO_ROOT / "tests" / "data" / "provider-specs" / "android-sms-gateway.swagger.json"
USER, PASSWORD = "sms", "Pa55:wört-7d41"  # a colon and an umlaut: Basic auth must keep both
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"
NUMBER = "+4915112345678"
TEXT = "Erinnerung: Ihr Termin bei Dr. Müller ist morgen um 09:30. Absagen: 0551 123456"
SMS = OutboundSms(reference=REFERENCE, to_e164=NUMBER, text=TEXT, sender_id="Praxis")
#: mode -> (base URL suffix on the fake server, path the request must arrive at)
MODES = {"local": ("", "/messages"), "cloud": ("/3rdparty/v1", "/3rdparty/v1/messages")}


class Clock:
    """A hand-moved clock for the part budget (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    with FakeHttpServer() as fake:
        yield fake
    assert fake.unanswered == 0, "a request reached the fake server with no canned answer"


def configure(base_url: str, mode: str = "local", **extra: Any) -> override_settings:
    values = {
        "ANDROID_MODE": mode,
        "ANDROID_BASE_URL": base_url,
        "ANDROID_USERNAME": USER,
        "ANDROID_PASSWORD": PASSWORD,
        "HTTP_TIMEOUT_S": 2,
    }
    return override_settings(ALPHASMS={**settings.ALPHASMS, **values, **extra})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway(server: FakeHttpServer, clock: Clock) -> Iterator[AndroidGateway]:
    with configure(server.url):
        yield AndroidGateway(budget=PartBudget(clock=clock))


def fixture(name: str, **overrides: Any) -> CannedResponse:
    return CannedResponse.from_fixture(FIXTURES / name, **overrides)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestRequestEncoding:
    @pytest.mark.parametrize("mode", list(MODES))
    def test_it_posts_exactly_id_text_recipient_and_the_report_switch(self, server, clock, mode):
        server.enqueue(fixture("send-accepted-local.json"))
        with configure(server.url + MODES[mode][0], mode=mode):
            AndroidGateway(budget=PartBudget(clock=clock)).send(SMS)

        (request,) = server.requests
        assert (request.method, request.path) == ("POST", MODES[mode][1])
        assert request.headers["content-type"] == "application/json"
        assert request.json() == {  # DESIGN.md invariant 6: nothing else leaves
            "id": REFERENCE,
            "textMessage": {"text": TEXT},
            "phoneNumbers": [NUMBER],
            "withDeliveryReport": True,
        }

    def test_it_authenticates_with_basic_auth(self, server, gateway):
        server.enqueue(fixture("send-accepted-local.json"))
        gateway.send(SMS)

        scheme, _, token = server.requests[0].headers["authorization"].partition(" ")
        assert scheme == "Basic"
        assert base64.b64decode(token).decode("utf-8") == f"{USER}:{PASSWORD}"
        assert server.requests[0].headers["accept"] == "application/json"

    def test_it_sends_umlauts_and_emoji_as_utf8_json(self, server, gateway):
        server.enqueue(fixture("send-accepted-local.json"))
        gateway.send(OutboundSms(reference="r-1", to_e164=NUMBER, text="Grüße 😀 & 50 % = 1+1 €"))

        assert server.requests[0].json()["textMessage"]["text"] == "Grüße 😀 & 50 % = 1+1 €"
        assert "Grüße".encode() in server.requests[0].body

    @pytest.mark.parametrize("number", ["4915112345678", "+49 151 12345678", f"{NUMBER},+4917012345678"])
    def test_it_refuses_a_recipient_that_is_not_e164_before_sending(self, server, gateway, number):
        with pytest.raises(errors.InvalidRecipient) as caught:
            gateway.send(OutboundSms(reference="r-1", to_e164=number, text="Hallo"))

        assert caught.value.permanent
        assert server.requests == []

    @pytest.mark.parametrize(
        ("missing", "variable"),
        [
            ({"ANDROID_USERNAME": ""}, "ALPHASMS_ANDROID_USERNAME"),
            ({"ANDROID_PASSWORD": ""}, "ALPHASMS_ANDROID_PASSWORD"),
            ({"ANDROID_BASE_URL": ""}, "ALPHASMS_ANDROID_BASE_URL"),
            ({"ANDROID_MODE": "usb"}, "ALPHASMS_ANDROID_MODE"),
        ],
    )
    def test_it_names_the_missing_setting(self, server, clock, missing, variable):
        with configure(server.url, **missing), pytest.raises(errors.GatewayMisconfigured) as caught:
            AndroidGateway(budget=PartBudget(clock=clock)).send(SMS)

        assert variable in str(caught.value)
        assert not isinstance(caught.value, errors.GatewayError)
        assert server.requests == []

    def test_cloud_mode_defaults_to_the_public_server(self):
        with configure("", mode="cloud"):
            assert AndroidGateway().base_url() == CLOUD_BASE_URL == "https://api.sms-gate.app/3rdparty/v1"

    def test_it_leaves_the_sender_id_out(self, server, gateway):
        server.enqueue(fixture("send-accepted-local.json"))
        gateway.send(SMS)

        assert "Praxis" not in server.requests[0].body.decode()
        assert not AndroidGateway.supports_alphanumeric_sender


class TestAcceptedAnswer:
    @pytest.mark.parametrize("name", ["send-accepted-local.json", "send-accepted-cloud.json"])
    def test_it_returns_our_id_the_state_and_the_segments(self, server, gateway, name):
        server.enqueue(fixture(name))
        result = gateway.send(SMS)

        assert (result.gateway_message_id, result.status, result.segments) == (
            REFERENCE,
            DeliveryStatus.QUEUED,
            1,
        )
        assert result.part_ids == ()  # the phone reports per message, not per part

    def test_it_counts_the_parts_of_a_long_message_itself(self, server, gateway):
        text = "Ü" * 150  # GSM-7, 150 septets: one part; with "€" (2 septets each) it needs two
        server.enqueue(fixture("send-accepted-local.json"), fixture("send-accepted-local.json"))

        assert gateway.send(OutboundSms(reference="r-1", to_e164=NUMBER, text=text)).segments == 1
        assert gateway.send(OutboundSms(reference="r-2", to_e164=NUMBER, text=text + "€€€€€€")).segments == 2

    def test_a_recipient_that_failed_at_once_is_rejected(self, server, gateway):
        body = json.loads((FIXTURES / "send-accepted-local.json").read_text())["body"]
        body["recipients"][0].update(state="Failed", error="Invalid phone number")
        server.enqueue(CannedResponse.json(body, status=202))
        with pytest.raises(errors.RejectedByProvider) as caught:
            gateway.send(SMS)

        assert caught.value.permanent and caught.value.provider_code == "Invalid phone number"

    def test_the_fixtures_fit_the_published_response_schema(self):
        schemas = json.loads(SPEC.read_text())["components"]["schemas"]
        message, recipient = schemas["smsgateway.GetMessageResponse"], schemas["smsgateway.RecipientState"]
        states = set(schemas["smsgateway.ProcessingState"]["enum"])
        assert states == set(STATE_MAP)
        for name in ("send-accepted-local.json", "send-accepted-cloud.json"):
            body = json.loads((FIXTURES / name).read_text())["body"]
            assert set(body) <= set(message["properties"]), name
            assert body["state"] in states
            for item in body["recipients"]:
                assert set(item) <= set(recipient["properties"]) and item["state"] in states
        # the spec requires deviceId, which the phone's own server leaves out (PostMessageResponse.kt)
        assert set(message["required"]) - {"deviceId"} <= set(
            json.loads((FIXTURES / "send-accepted-local.json").read_text())["body"]
        )


class TestIdempotency:
    def test_a_retry_of_the_same_attempt_carries_the_same_id_and_a_409_counts_as_accepted(
        self, server, clock
    ):
        server.enqueue(fixture("send-accepted-cloud.json", delay_s=1.5), fixture("send-conflict.json"))
        with configure(server.url + "/3rdparty/v1", mode="cloud", HTTP_TIMEOUT_S=0.5):
            gateway = AndroidGateway(budget=PartBudget(clock=clock))
            with pytest.raises(errors.OutcomeUnknown):
                gateway.send(SMS)  # the request left, no answer in time: it may be queued already
            result = gateway.send(SMS)

        assert [r.json()["id"] for r in server.requests] == [REFERENCE, REFERENCE]
        assert (result.gateway_message_id, result.status) == (REFERENCE, DeliveryStatus.QUEUED)

    def test_the_local_server_answers_a_repeat_with_202_and_sends_once(self, server, gateway):
        # MessagesService.enqueueMessage ignores an id it already has and the route still answers 202
        server.enqueue(fixture("send-accepted-local.json"), fixture("send-accepted-local.json"))
        first, second = gateway.send(SMS), gateway.send(SMS)

        assert first.gateway_message_id == second.gateway_message_id == REFERENCE
        assert {r.json()["id"] for r in server.requests} == {REFERENCE}


_PHONE_OFF = "Das Telefon ist offline oder seine Warteschlange ist voll; neuer Versuch folgt."
_DOWN, _UNKNOWN, _UNREADABLE = errors.GatewayUnavailable, errors.OutcomeUnknown, errors.UnexpectedResponse
_AUTH, _REJECTED, _INVALID = errors.AuthenticationFailed, errors.RejectedByProvider, errors.InvalidRecipient
_ACCEPTED = "send-accepted-local.json"
#: case, answer, error class, permanent, ambiguous, (part of) the staff sentence (None: the class default)
DRILL = [
    ("400", CannedResponse(400, {}, b'{"message": "Bad request"}'), _REJECTED, True, False, None),
    ("401", fixture("send-unauthorized.json"), _AUTH, True, False, "ANDROID_USERNAME"),
    ("403", CannedResponse(403, {}, b'{"message": "Forbidden"}'), _AUTH, True, False, None),
    ("429", CannedResponse(429, {"Retry-After": "30"}, b""), errors.RateLimited, False, False, None),
    ("500", CannedResponse(500, {}, b'{"message": "boom"}'), _UNKNOWN, False, True, None),
    ("503", fixture("send-queue-full.json"), _DOWN, False, False, _PHONE_OFF),
    ("no-device", fixture("send-no-devices.json"), _DOWN, False, False, "kein Telefon angemeldet"),
    ("phone", CannedResponse(400, {}, b'{"message": "invalid phone number"}'), _INVALID, True, False, None),
    ("slow", fixture(_ACCEPTED, delay_s=1.5), _UNKNOWN, False, True, None),
    ("malformed", CannedResponse(202, {}, b'{"id": "0b7c5d2e", "sta'), _UNREADABLE, False, True, None),
    ("html", CannedResponse(202, {}, b"<html>Captive portal</html>"), _UNREADABLE, False, True, None),
]  # fmt: skip
_DRILL_ARGS = ("case", "answer", "error_class", "permanent", "ambiguous", "sentence")


class TestFailureDrill:
    @pytest.mark.parametrize("mode", list(MODES))
    @pytest.mark.parametrize(
        ("case", "answer", "error_class", "permanent", "ambiguous", "sentence"),
        DRILL,
        ids=[d[0] for d in DRILL],
    )
    def test_it_classifies_each_failure(
        self, server, clock, mode, case, answer, error_class, permanent, ambiguous, sentence
    ):
        server.enqueue(answer)
        with (
            configure(server.url + MODES[mode][0], mode=mode, HTTP_TIMEOUT_S=0.5),
            pytest.raises(errors.GatewayError) as caught,
        ):
            AndroidGateway(budget=PartBudget(clock=clock)).send(SMS)

        error = caught.value
        assert type(error) is error_class, f"{case}: {error!r}"
        assert (error.permanent, error.ambiguous) == (permanent, ambiguous)
        assert (sentence or error_class.default_user_message) in error.user_message
        assert NUMBER[1:] not in str(error)
        assert server.requests[0].path == MODES[mode][1]

    def test_it_passes_retry_after_on(self, server, gateway):
        server.enqueue(CannedResponse(429, {"Retry-After": "30"}, b""))
        with pytest.raises(errors.RateLimited) as caught:
            gateway.send(SMS)

        assert caught.value.retry_after_s == 30.0

    @pytest.mark.parametrize(
        ("mode", "sentence"),
        [
            ("local", "Das Telefon ist nicht erreichbar (WLAN, App, lokaler Server?); neuer Versuch folgt."),
            ("cloud", errors.GatewayUnavailable.default_user_message),
        ],
    )
    def test_it_reports_a_closed_port_as_unavailable(self, clock, mode, sentence):
        url = f"http://127.0.0.1:{closed_port()}" + MODES[mode][0]
        with configure(url, mode=mode), pytest.raises(errors.GatewayUnavailable) as caught:
            AndroidGateway(budget=PartBudget(clock=clock)).send(SMS)

        assert not caught.value.permanent and not caught.value.ambiguous
        assert caught.value.user_message == sentence


class TestPartBudget:
    """Android allows an app 30 SMS parts per 60 s (AOSP SmsUsageMonitor); we never hand it more."""

    def test_it_holds_back_the_31st_part_of_a_minute_without_a_request(self, server, gateway, clock):
        server.enqueue(*[fixture("send-accepted-local.json")] * 30)
        for n in range(30):
            gateway.send(OutboundSms(reference=f"r-{n}", to_e164=NUMBER, text="Hallo"))
            clock.now += 1.0  # one send a second: the first is 29 s old when the 31st comes
        with pytest.raises(errors.RateLimited) as caught:
            gateway.send(OutboundSms(reference="r-30", to_e164=NUMBER, text="Hallo"))

        assert len(server.requests) == 30
        assert caught.value.retry_after_s == pytest.approx(30.0)  # when the first part leaves the window
        assert not caught.value.permanent and not caught.value.ambiguous
        assert "30 SMS-Teile pro Minute" in caught.value.user_message

    def test_it_sends_again_once_the_window_has_room(self, server, gateway, clock):
        server.enqueue(*[fixture("send-accepted-local.json")] * 31)
        for n in range(30):
            gateway.send(OutboundSms(reference=f"r-{n}", to_e164=NUMBER, text="Hallo"))
        with pytest.raises(errors.RateLimited) as caught:
            gateway.send(SMS)
        clock.now += caught.value.retry_after_s

        assert gateway.send(SMS).gateway_message_id == REFERENCE

    def test_it_counts_parts_not_messages(self, server, gateway, clock):
        three_parts = "Termin " * 60  # 420 GSM-7 septets: 3 concatenated parts of 153
        assert analyse(three_parts).segments == 3
        server.enqueue(*[fixture("send-accepted-local.json")] * 10)
        for n in range(10):
            gateway.send(OutboundSms(reference=f"r-{n}", to_e164=NUMBER, text=three_parts))
        clock.now += 10
        with pytest.raises(errors.RateLimited) as caught:
            gateway.send(OutboundSms(reference="r-10", to_e164=NUMBER, text="Hallo"))

        assert caught.value.retry_after_s == pytest.approx(50.0)

    def test_a_message_larger_than_the_whole_budget_is_permanent(self, server, clock):
        with configure(server.url), pytest.raises(errors.RejectedByProvider) as caught:
            AndroidGateway(budget=PartBudget(limit_parts=2, clock=clock)).send(
                OutboundSms(reference="r", to_e164=NUMBER, text="x" * 400)
            )

        assert caught.value.permanent and server.requests == []

    @pytest.mark.parametrize(
        ("answer", "kept"),
        [
            (CannedResponse(503, {}, b"{}"), False),  # certainly not on the phone: refunded
            (CannedResponse(400, {}, b"{}"), False),
            (fixture("send-conflict.json"), False),  # the earlier try was charged already
            (CannedResponse(500, {}, b"{}"), True),  # may be on the phone: stays charged
            (fixture("send-accepted-local.json"), True),
        ],
    )
    def test_it_refunds_parts_the_phone_certainly_did_not_get(self, server, clock, answer, kept):
        budget = PartBudget(limit_parts=1, clock=clock)
        server.enqueue(answer)
        with configure(server.url):
            try:
                AndroidGateway(budget=budget).send(SMS)
            except errors.GatewayError:
                pass
            if kept:
                with pytest.raises(errors.RateLimited):
                    budget.take(1)
            else:
                budget.take(1)

    def test_a_misconfiguration_does_not_spend_the_budget(self, server, clock):
        budget = PartBudget(limit_parts=1, clock=clock)
        with configure(server.url, ANDROID_PASSWORD=""), pytest.raises(errors.GatewayMisconfigured):
            AndroidGateway(budget=budget).send(SMS)

        budget.take(1)

    def test_threads_never_overspend_it(self, clock):
        budget = PartBudget(clock=clock)
        granted: list[int] = []

        def take() -> None:
            try:
                budget.take(1)
                granted.append(1)
            except errors.RateLimited:
                pass

        threads = [threading.Thread(target=take) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert len(granted) == 30
