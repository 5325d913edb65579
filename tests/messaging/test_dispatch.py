"""The dispatch step: atomic claims, send-time checks, retries, unknown outcomes, lease recovery."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from alphasms.appointments.models import AppointmentStatus, UnknownOutcomePolicy
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.errors import (
    GatewayUnavailable,
    InvalidRecipient,
    OutcomeUnknown,
    RateLimited,
)
from alphasms.messaging.gateways.fake.gateway import FakeGateway
from alphasms.messaging.models import AttemptOutcome, DeliveryAttempt, MessageStatus, OutboundMessage
from alphasms.messaging.services.dispatch import Dispatcher, backoff_s
from alphasms.privacy.services import withdraw
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)  # 14:30 Berlin
DUE = dt.datetime(2026, 12, 3, 13, 30, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(alphasms_settings, location):
    customer = make_customer()
    rule = make_rule()
    appointment = make_appointment(location, customer, START)
    plan(DUE - dt.timedelta(days=1))
    return OutboundMessage.objects.get(), appointment, customer, rule


def run_at(instant: dt.datetime, dispatcher: Dispatcher | None = None):
    with time_machine.travel(instant, tick=False):
        return (dispatcher or Dispatcher("w1")).run_once()


def test_it_sends_a_due_message_exactly_once(planned):
    assert run_at(DUE - dt.timedelta(minutes=1)).claimed == 0
    assert run_at(DUE).outcomes == {"sent": 1}
    assert run_at(DUE + dt.timedelta(minutes=1)).claimed == 0
    message = OutboundMessage.objects.get()
    assert message.status == MessageStatus.SENT
    assert len(FakeGateway.outbox) == 1
    sms = FakeGateway.outbox[0]
    assert (sms.to_e164, sms.sender_id) == ("+4915112345678", "Praxis")
    attempt = DeliveryAttempt.objects.get()
    assert sms.reference == str(attempt.id)
    assert attempt.outcome == AttemptOutcome.SENT
    assert list(message.events.values_list("status", flat=True)) == ["sending", "sent"]


def test_two_workers_never_claim_the_same_message(planned, location):
    for i in range(5):
        make_appointment(location, make_customer(number=f"x{i}", mobile=f"+4915112345{i:03d}"), START)
    plan(DUE - dt.timedelta(days=1))
    with time_machine.travel(DUE, tick=False):
        first = Dispatcher("w1").claim(DUE, 3)
        second = Dispatcher("w2").claim(DUE, 10)
    assert len(first) == 3 and len(second) == 3
    assert not set(first) & set(second)
    assert set(OutboundMessage.objects.values_list("claimed_by", flat=True)) == {"w1", "w2"}


def test_a_transient_error_waits_with_exponential_backoff(planned):
    FakeGateway.script.append(GatewayUnavailable("refused"))
    assert run_at(DUE).outcomes == {"retry_wait": 1}
    message = OutboundMessage.objects.get()
    assert message.status == MessageStatus.RETRY_WAIT
    assert message.next_attempt_at == DUE + dt.timedelta(seconds=backoff_s(1))
    assert message.user_message.startswith("Der Anbieter ist gerade nicht erreichbar")
    assert run_at(DUE + dt.timedelta(seconds=29)).claimed == 0
    assert run_at(DUE + dt.timedelta(seconds=30)).outcomes == {"sent": 1}
    assert [backoff_s(n) for n in (1, 2, 3, 9)] == [30, 60, 120, 3600]


def test_a_rate_limit_honours_retry_after(planned):
    FakeGateway.script.append(RateLimited("429", retry_after_s=90))
    run_at(DUE)
    assert OutboundMessage.objects.get().next_attempt_at == DUE + dt.timedelta(seconds=90)


def test_a_permanent_error_fails_with_a_staff_sentence(planned):
    FakeGateway.script.append(InvalidRecipient("21211", provider_code="21211"))
    assert run_at(DUE).outcomes == {"failed": 1}
    message = OutboundMessage.objects.get()
    assert message.status == MessageStatus.FAILED
    assert message.error_code == "invalid_recipient"
    assert message.user_message == "Die Nummer oder Adresse ist ungültig oder nicht erreichbar."
    assert DeliveryAttempt.objects.get().provider_code == "21211"


def test_attempts_are_exhausted_after_the_maximum(planned, alphasms_settings):
    alphasms_settings["MAX_ATTEMPTS"] = 2
    FakeGateway.script.extend([GatewayUnavailable("a"), GatewayUnavailable("b")])
    run_at(DUE)
    run_at(DUE + dt.timedelta(hours=1))
    message = OutboundMessage.objects.get()
    assert (message.status, message.attempt_count) == (MessageStatus.FAILED, 2)


def test_an_unknown_outcome_is_resent_and_flagged_by_default(planned):
    FakeGateway.script.append(OutcomeUnknown("read timeout"))
    assert run_at(DUE).outcomes == {"unknown": 1}
    message = OutboundMessage.objects.get()
    assert message.status == MessageStatus.QUEUED
    assert message.possible_duplicate is True
    assert "unknown" in list(message.events.values_list("status", flat=True))
    assert DeliveryAttempt.objects.get().outcome == AttemptOutcome.UNKNOWN
    run_at(DUE + dt.timedelta(minutes=1))
    assert OutboundMessage.objects.get().status == MessageStatus.SENT


def test_an_unknown_outcome_is_held_for_staff_under_the_hold_policy(planned):
    _, _, _, rule = planned
    rule.unknown_outcome_policy = UnknownOutcomePolicy.HOLD
    rule.save()
    FakeGateway.script.append(OutcomeUnknown("read timeout"))
    run_at(DUE)
    assert OutboundMessage.objects.get().status == MessageStatus.HELD
    assert run_at(DUE + dt.timedelta(hours=1)).claimed == 0


def test_an_expired_lease_with_an_attempt_in_flight_becomes_unknown(planned):
    message, *_ = planned
    with time_machine.travel(DUE, tick=False):
        Dispatcher("dead").claim(DUE, 10)
        DeliveryAttempt.objects.create(message=message, gateway="fake", started_at=DUE)
    stats = run_at(DUE + dt.timedelta(minutes=5))
    assert stats.recovered == 1
    message.refresh_from_db()
    assert message.possible_duplicate is True
    assert DeliveryAttempt.objects.filter(outcome=AttemptOutcome.UNKNOWN).count() == 1
    run_at(DUE + dt.timedelta(minutes=6))
    assert OutboundMessage.objects.get().status == MessageStatus.SENT


def test_an_expired_lease_without_an_attempt_goes_back_to_the_queue_unflagged(planned):
    with time_machine.travel(DUE, tick=False):
        Dispatcher("dead").claim(DUE, 10)
    assert run_at(DUE + dt.timedelta(minutes=1)).claimed == 0  # lease still running
    stats = run_at(DUE + dt.timedelta(minutes=3))
    assert (stats.recovered, stats.outcomes) == (1, {"sent": 1})
    assert OutboundMessage.objects.get().possible_duplicate is False


def test_it_cancels_at_send_time_when_consent_was_withdrawn_meanwhile(planned):
    _, _, customer, _ = planned
    from alphasms.privacy.models import Consent

    Consent.objects.filter(customer=customer).update(opted_out_at=DUE)  # bypassing the service on purpose
    assert run_at(DUE).outcomes == {"cancelled": 1}
    assert FakeGateway.outbox == []
    assert withdraw(customer, "sms", source="staff") == 0


def test_it_cancels_at_send_time_when_the_appointment_was_cancelled(planned):
    _, appointment, _, _ = planned
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save()
    assert run_at(DUE).outcomes == {"cancelled": 1}
    assert FakeGateway.outbox == []


def test_it_never_sends_a_stale_reminder_after_the_start(planned):
    assert run_at(START + dt.timedelta(minutes=1)).outcomes == {"cancelled": 1}
    assert FakeGateway.outbox == []


def test_it_replans_at_send_time_when_the_appointment_moved(planned):
    _, appointment, _, _ = planned
    appointment.start_at = START + dt.timedelta(days=2)
    appointment.save()
    assert run_at(DUE).outcomes == {"replanned": 1}
    message = OutboundMessage.objects.get()
    assert (message.status, message.next_attempt_at) == (MessageStatus.PLANNED, DUE + dt.timedelta(days=2))


def test_it_defers_outside_the_sending_window(planned):
    message, *_ = planned
    night = dt.datetime(2026, 12, 3, 22, 0, tzinfo=UTC)  # 23:00 Berlin
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=night)
    assert run_at(night).outcomes == {"deferred": 1}
    message.refresh_from_db()
    assert message.next_attempt_at == dt.datetime(2026, 12, 4, 7, 0, tzinfo=UTC)


def test_a_stopping_worker_releases_claimed_messages_it_has_not_started(planned):
    dispatcher = Dispatcher("w1")
    dispatcher.stopping.set()
    assert run_at(DUE, dispatcher).outcomes == {"released": 1}
    assert OutboundMessage.objects.get().status == MessageStatus.QUEUED
    assert run_at(DUE + dt.timedelta(seconds=1)).outcomes == {"sent": 1}


def test_the_worker_loop_outlives_a_failing_cycle(alphasms_settings, monkeypatch):
    from alphasms.messaging.services.worker import Worker

    worker = Worker(Dispatcher("w"))
    calls = []

    def failing_then_stopping():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        worker.stop()
        return worker.dispatcher.run_once()

    monkeypatch.setattr(worker, "cycle", failing_then_stopping)
    alphasms_settings["WORKER_POLL_S"] = 0
    worker.run()
    assert len(calls) == 2  # the first failure did not end the loop


def test_the_outbox_file_holds_exactly_the_fields_that_may_leave(alphasms_settings, location, tmp_path):
    import json
    from pathlib import Path

    alphasms_settings["SMS_GATEWAY"] = "outbox"
    make_rule()
    make_appointment(location, make_customer(), START)
    plan(DUE - dt.timedelta(days=1))
    run_at(DUE)
    (written,) = Path(alphasms_settings["OUTBOX_DIR"]).glob("*.json")
    payload = json.loads(written.read_text(encoding="utf-8"))
    assert set(payload) == {"to", "text", "sender_id", "reference"}  # DESIGN.md invariant 6
    assert payload["to"] == "+4915112345678" and payload["sender_id"] == "Praxis"
    assert payload["reference"] == str(DeliveryAttempt.objects.get().id)
