"""Rate limits, circuit breaker and failover to a secondary gateway."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import pytest
import time_machine

from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.base import OutboundSms
from alphasms.messaging.gateways.errors import (
    GatewayError,
    GatewayUnavailable,
    InvalidRecipient,
    OutcomeUnknown,
)
from alphasms.messaging.gateways.fake.gateway import FakeGateway
from alphasms.messaging.models import DeliveryAttempt, MessageStatus, OutboundMessage
from alphasms.messaging.services.dispatch import Dispatcher
from alphasms.messaging.services.routing import BreakerState, CircuitBreaker, GatewayPool, Pacer
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)
DUE = dt.datetime(2026, 12, 3, 13, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_the_threshold_and_probes_once_after_the_cooldown():
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown_s=60, clock=clock)
    for _ in range(2):
        breaker.record(GatewayUnavailable("x"))
    assert breaker.state == BreakerState.CLOSED
    breaker.record(InvalidRecipient("permanent errors say nothing about the gateway"))
    assert breaker.state == BreakerState.CLOSED
    breaker.record(OutcomeUnknown("timeout"))
    assert breaker.state == BreakerState.OPEN and not breaker.allow()
    clock.now += 60
    assert breaker.state == BreakerState.HALF_OPEN
    assert breaker.allow() is True and breaker.allow() is False  # one probe at a time
    breaker.record(GatewayUnavailable("still down"))
    assert breaker.state == BreakerState.OPEN
    clock.now += 60
    assert breaker.allow()
    breaker.record(None)
    assert breaker.state == BreakerState.CLOSED and breaker.failures == 0


def test_the_pacer_spaces_calls_at_the_configured_rate():
    clock = Clock()
    pacer = Pacer(rate_per_s=10, clock=clock)
    slots = []
    for _ in range(3):
        with pacer._lock:
            slot = max(clock(), pacer._next)
            pacer._next = slot + pacer.interval_s
        slots.append(round(slot - 1000.0, 3))
    assert slots == [0.0, 0.1, 0.2]


class Secondary(FakeGateway):
    slug = "secondary"
    outbox: ClassVar[list[OutboundSms]] = []
    script: ClassVar[list[GatewayError]] = []


@pytest.fixture
def messages(alphasms_settings, location):
    alphasms_settings["BREAKER_THRESHOLD"] = 2
    Secondary.outbox.clear()
    make_rule()
    for i in range(4):
        make_appointment(location, make_customer(number=str(i), mobile=f"+49151123456{i:02d}"), START)
    plan(DUE - dt.timedelta(days=1))
    return OutboundMessage.objects.order_by("id")


def test_while_the_primary_fails_the_secondary_takes_over(messages):
    FakeGateway.script.extend([GatewayUnavailable("down"), GatewayUnavailable("down")])
    dispatcher = Dispatcher("w", sms_gateway=FakeGateway())
    dispatcher._pool = GatewayPool(FakeGateway(), Secondary())
    with time_machine.travel(DUE, tick=False):
        stats = dispatcher.run_once()
    assert stats.outcomes == {"retry_wait": 2, "sent": 2}
    assert len(Secondary.outbox) == 2 and FakeGateway.outbox == []
    assert set(DeliveryAttempt.objects.values_list("gateway", flat=True)) == {"fake", "secondary"}


def test_a_message_with_an_unknown_outcome_never_moves_to_the_secondary(messages):
    FakeGateway.script.extend([OutcomeUnknown("timeout"), GatewayUnavailable("down")])
    dispatcher = Dispatcher("w")
    dispatcher._pool = GatewayPool(FakeGateway(), Secondary())
    with time_machine.travel(DUE, tick=False):
        dispatcher.run_once()  # two failures open the primary's breaker; the rest go to the secondary
    unknown = OutboundMessage.objects.get(possible_duplicate=True)
    with time_machine.travel(DUE + dt.timedelta(minutes=1), tick=False):
        dispatcher.run_once()
    unknown.refresh_from_db()
    assert unknown.status == MessageStatus.RETRY_WAIT  # waits for its own gateway
    assert not DeliveryAttempt.objects.filter(message=unknown, gateway="secondary").exists()
    with time_machine.travel(DUE + dt.timedelta(minutes=2), tick=False):
        dispatcher._pool.primary.breaker.record(None)  # the primary recovered
        dispatcher.run_once()
    unknown.refresh_from_db()
    assert unknown.status == MessageStatus.SENT
    assert set(DeliveryAttempt.objects.filter(message=unknown).values_list("gateway", flat=True)) == {"fake"}


def test_without_a_secondary_messages_wait_while_the_breaker_is_open(messages):
    FakeGateway.script.extend([GatewayUnavailable("down"), GatewayUnavailable("down")])
    dispatcher = Dispatcher("w")
    with time_machine.travel(DUE, tick=False):
        stats = dispatcher.run_once()
    assert stats.outcomes == {"retry_wait": 4}
    assert DeliveryAttempt.objects.count() == 2  # no call for the two that waited on the breaker
    waiting = OutboundMessage.objects.filter(attempt_count=0)
    assert {m.user_message for m in waiting} == {GatewayUnavailable.default_user_message}
