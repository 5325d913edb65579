"""Evaluation mode in the dispatch worker: real gateways send at most N messages a month without a
licence; over the limit a message waits (never dropped); the outbox gateway is unlimited."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from alphasms.appointments.services.planning import plan
from alphasms.licensing.evaluation import licence_status, next_month_start
from alphasms.licensing.licence import set_licence
from alphasms.licensing.models import EvaluationUsage
from alphasms.licensing.testing import TestVendor
from alphasms.messaging.gateways.errors import GatewayUnavailable, OutcomeUnknown
from alphasms.messaging.gateways.fake.gateway import FakeGateway
from alphasms.messaging.models import DeliveryAttempt, MessageStatus, OutboundMessage
from alphasms.messaging.services.dispatch import Dispatcher
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)
DUE = dt.datetime(2026, 12, 3, 13, 30, tzinfo=UTC)
NAME = "Praxis Sonnenhof"

pytestmark = pytest.mark.django_db


@pytest.fixture
def vendor(alphasms_settings) -> TestVendor:
    vendor = TestVendor()
    alphasms_settings["VENDOR_SIGNING_PUBLIC_KEY"] = vendor.public_key_text
    alphasms_settings["EVALUATION_MONTHLY_LIMIT"] = 3
    return vendor


def due_messages(location, count: int) -> None:
    make_rule()
    for i in range(count):
        make_appointment(location, make_customer(number=f"c{i}", mobile=f"+4915112345{i:03d}"), START)
    plan(DUE - dt.timedelta(days=1))
    assert OutboundMessage.objects.count() == count


def run_at(instant: dt.datetime):
    with time_machine.travel(instant, tick=False):
        return Dispatcher("w1").run_once()


def test_without_a_licence_a_real_gateway_sends_at_most_the_limit_and_the_rest_waits(vendor, location):
    due_messages(location, 5)
    stats = run_at(DUE)
    assert stats.outcomes == {"sent": 3, "evaluation_limit": 2}
    assert len(FakeGateway.outbox) == 3
    assert EvaluationUsage.objects.get().sent == 3
    waiting = OutboundMessage.objects.filter(error_code="evaluation_limit")
    assert waiting.count() == 2
    for message in waiting:
        assert message.status == MessageStatus.RETRY_WAIT
        assert message.next_attempt_at == dt.datetime(2026, 12, 31, 23, 0, tzinfo=UTC)  # 1 Jan Berlin
        assert message.user_message.startswith("Testmodus ohne Lizenz: die 3 Nachrichten dieses Monats")
        assert "alphasms licence set" in message.user_message
        assert not message.attempts.exists()  # nothing left the machine
        last_event = message.events.order_by("id").last()
        assert last_event is not None and "evaluation mode" in last_event.note
    assert DeliveryAttempt.objects.count() == 3
    status = licence_status(DUE)
    assert (status.mode, status.sent_this_month, status.remaining) == ("evaluation", 3, 0)
    # A later cycle in the same month sends nothing more.
    assert run_at(DUE + dt.timedelta(minutes=5)).claimed == 0
    assert len(FakeGateway.outbox) == 3


def test_entering_a_licence_sends_the_waiting_messages_at_once(vendor, location):
    due_messages(location, 5)
    run_at(DUE)
    with time_machine.travel(DUE + dt.timedelta(minutes=1), tick=False):
        set_licence(NAME, vendor.licence(NAME))
    assert run_at(DUE + dt.timedelta(minutes=2)).outcomes == {"sent": 2}
    assert len(FakeGateway.outbox) == 5
    assert not OutboundMessage.objects.filter(error_code="evaluation_limit").exists()
    assert EvaluationUsage.objects.get().sent == 3  # licensed sends are not counted


def test_the_next_month_has_a_new_allowance(vendor, location, alphasms_settings):
    alphasms_settings["EVALUATION_MONTHLY_LIMIT"] = 1
    make_rule(offset_s=10 * 24 * 3600)  # due on 26 December
    early = dt.datetime(2027, 1, 5, 10, 0, tzinfo=UTC)
    for i in range(2):
        make_appointment(location, make_customer(number=f"c{i}", mobile=f"+4915112345{i:03d}"), early)
    plan(DUE - dt.timedelta(days=1))
    december = dt.datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
    assert run_at(december).outcomes == {"sent": 1, "evaluation_limit": 1}
    january = next_month_start(december)
    assert january == dt.datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    assert run_at(january + dt.timedelta(hours=8)).outcomes == {"sent": 1}  # 09:00 Berlin
    assert dict(EvaluationUsage.objects.values_list("month", "sent")) == {
        dt.date(2026, 12, 1): 1,
        dt.date(2027, 1, 1): 1,
    }


def test_the_outbox_gateway_is_unlimited(vendor, location, alphasms_settings):
    alphasms_settings["SMS_GATEWAY"] = "outbox"
    alphasms_settings["EVALUATION_MONTHLY_LIMIT"] = 1
    due_messages(location, 4)
    assert run_at(DUE).outcomes == {"sent": 4}
    assert not EvaluationUsage.objects.exists()


def test_a_call_that_surely_did_not_send_gives_its_message_back(vendor, location, alphasms_settings):
    alphasms_settings["EVALUATION_MONTHLY_LIMIT"] = 1
    due_messages(location, 1)
    FakeGateway.script.append(GatewayUnavailable("refused"))
    assert run_at(DUE).outcomes == {"retry_wait": 1}
    assert EvaluationUsage.objects.get().sent == 0
    assert run_at(DUE + dt.timedelta(hours=1)).outcomes == {"sent": 1}
    assert EvaluationUsage.objects.get().sent == 1


def test_an_ambiguous_call_counts(vendor, location, alphasms_settings):
    alphasms_settings["EVALUATION_MONTHLY_LIMIT"] = 1
    due_messages(location, 1)
    FakeGateway.script.append(OutcomeUnknown("timeout"))
    assert run_at(DUE).outcomes == {"unknown": 1}
    assert EvaluationUsage.objects.get().sent == 1  # it may have reached the provider
    assert run_at(DUE + dt.timedelta(minutes=5)).outcomes == {"evaluation_limit": 1}
    assert FakeGateway.outbox == []


def test_a_licensed_installation_is_not_limited(vendor, location):
    set_licence(NAME, vendor.licence(NAME))
    due_messages(location, 5)
    assert run_at(DUE).outcomes == {"sent": 5}
    assert not EvaluationUsage.objects.exists()


def test_an_expired_licence_falls_back_to_evaluation_mode(vendor, location):
    with time_machine.travel(dt.datetime(2026, 11, 1, tzinfo=UTC), tick=False):
        set_licence(NAME, vendor.licence(NAME, expires="2026-11-30"))
    due_messages(location, 5)
    assert run_at(DUE).outcomes == {"sent": 3, "evaluation_limit": 2}
    status = licence_status(DUE)
    assert (status.mode, status.reason) == ("evaluation", "expired")
    assert "The licence expired on 2026-11-30" in status.sentence_en
