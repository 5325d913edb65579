"""The failure drill end to end: the worker sends a planned reminder through GTX to a real loopback peer,
and each answer ends in the right state with the right sentence for staff; the API key is nowhere in what
is stored or logged."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from typing import Any

import pytest
import time_machine

from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.gtx.gateway import HTTP_STATUSES, GtxGateway
from alphasms.messaging.models import AttemptOutcome, DeliveryAttempt, MessageStatus, OutboundMessage
from alphasms.messaging.services.dispatch import Dispatcher
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer
from tests.conftest import alphasms_settings, location, make_appointment, make_customer, make_rule  # noqa: F401

START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=dt.UTC)  # 14:30 Berlin
DUE = dt.datetime(2026, 12, 3, 13, 30, tzinfo=dt.UTC)
KEY = "aaaaaaaa-bbbb-cccc-dddd-1234567890ab"
ACCEPTED = CannedResponse.json({"message-count": 1, "message-status": "OK", "message-id": "gtx-4711"})

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def planned(alphasms_settings, location):  # noqa: F811 - the project's fixtures
    make_rule()
    make_appointment(location, make_customer(), START)
    plan(DUE - dt.timedelta(days=1))
    return alphasms_settings


def dispatch(live_settings: dict[str, Any], base_url: str) -> dict[str, int]:
    live_settings.update(
        GTX_BASE_URL=base_url,
        GTX_AUTH_KEY=KEY,
        GTX_DLR_SECRET="gtx-dlr-secret-for-tests",
        PUBLIC_URL="https://praxis.example",
        HTTP_TIMEOUT_S=0.5,
    )
    with time_machine.travel(DUE, tick=True):
        return Dispatcher("w1", sms_gateway=GtxGateway()).run_once().outcomes


def sentence(status: int) -> str:
    return HTTP_STATUSES[status][1]


DRILL = [
    # case, answer, worker outcome, attempt outcome, message status, sentence for staff
    ("accepted", ACCEPTED, "sent", AttemptOutcome.SENT, MessageStatus.SENT, ""),
    (
        "400",
        CannedResponse(400, {}, b"{}"),
        "failed",
        AttemptOutcome.FAILED,
        MessageStatus.FAILED,
        sentence(400),
    ),
    ("401", CannedResponse(401), "failed", AttemptOutcome.FAILED, MessageStatus.FAILED, sentence(401)),
    ("403", CannedResponse(403), "failed", AttemptOutcome.FAILED, MessageStatus.FAILED, sentence(403)),
    (
        "429",
        CannedResponse(429, {"Retry-After": "30"}),
        "retry_wait",
        AttemptOutcome.RETRY,
        MessageStatus.RETRY_WAIT,
        sentence(429),
    ),
    (
        "500",
        CannedResponse(500, {}, b"Internal Server Error"),
        "unknown",
        AttemptOutcome.UNKNOWN,
        MessageStatus.QUEUED,  # default policy: resent, flagged as a possible duplicate
        sentence(500),
    ),
    (
        "503",
        CannedResponse(503),
        "retry_wait",
        AttemptOutcome.RETRY,
        MessageStatus.RETRY_WAIT,
        sentence(503),
    ),
    (
        "slow",
        CannedResponse.json({"message-status": "OK"}, delay_s=1.5),
        "unknown",
        AttemptOutcome.UNKNOWN,
        MessageStatus.QUEUED,
        errors.OutcomeUnknown.default_user_message,
    ),
    (
        "refused",
        None,
        "retry_wait",
        AttemptOutcome.RETRY,
        MessageStatus.RETRY_WAIT,
        errors.GatewayUnavailable.default_user_message,
    ),
    (
        "malformed",
        CannedResponse(200, {"Content-Type": "application/json"}, b'{"message-status": "OK", "mess'),
        "unknown",
        AttemptOutcome.UNKNOWN,
        MessageStatus.QUEUED,
        errors.UnexpectedResponse.default_user_message,
    ),
]


@pytest.mark.parametrize(
    ("case", "answer", "outcome", "attempt_outcome", "status", "staff_sentence"),
    DRILL,
    ids=[d[0] for d in DRILL],
)
def test_each_answer_ends_in_the_right_state(
    planned, caplog, case, answer, outcome, attempt_outcome, status, staff_sentence
):
    with FakeHttpServer() as server, caplog.at_level(logging.DEBUG):
        if answer is not None:
            server.enqueue(answer)
        base_url = server.url if answer is not None else f"http://127.0.0.1:{closed_port()}"
        outcomes = dispatch(planned, base_url)

    assert outcomes == {outcome: 1}
    message = OutboundMessage.objects.get()
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.gateway, attempt.outcome, message.status) == ("gtx", attempt_outcome, status)
    assert attempt.user_message == staff_sentence and message.user_message == staff_sentence
    if case == "accepted":
        assert attempt.gateway_message_id == "gtx-4711"
        assert server.requests[0].form()["to"] == ["4915112345678"]
    if case == "500":
        assert message.possible_duplicate
    if case == "429":
        assert message.next_attempt_at is not None and attempt.finished_at is not None
        assert 29 <= (message.next_attempt_at - attempt.finished_at).total_seconds() <= 31
    stored = [
        *DeliveryAttempt.objects.values(),
        *OutboundMessage.objects.values(),
        *message.events.values(),
    ]
    assert KEY not in repr(stored)
    if case not in ("refused", "slow"):  # these end before urllib3 logs the answer
        assert "/smsc/sendsms/***/json" in caplog.text  # urllib3's request line, key masked
    assert f"gateway=gtx outcome={outcome}" in caplog.text
    assert KEY not in caplog.text
