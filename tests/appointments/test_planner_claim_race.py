"""The planner (and every other writer of pending messages) never undoes a worker's claim.

DESIGN.md invariant 3: two workers never send the same message. The planner reads pending messages and
writes a moment later; a worker that claims one in between (another connection: the worker thread of
``alphasms run``, a second process, or PostgreSQL's READ COMMITTED) must find it still ``sending``
afterwards, or the next claim sends it a second time. Each test runs the real claim
(``Dispatcher.claim``) in another thread with its own database connection at the exact point between
the writer's read and its write, then lets the writer go on.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.db.models import QuerySet

from alphasms.appointments.models import AppointmentStatus
from alphasms.appointments.services import editing, planning_scope
from alphasms.appointments.services.editing import save_appointment
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import MessageStatus, OutboundMessage, StatusEvent
from alphasms.messaging.services import lifecycle
from alphasms.messaging.services.dispatch import Dispatcher
from alphasms.privacy.services import withdraw
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)  # Fri 14:30 Berlin
DUE = dt.datetime(2026, 12, 3, 13, 30, tzinfo=UTC)  # 24 h before: the worker claims it then
MOVED = START + dt.timedelta(days=1)

pytestmark = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="inside a write transaction: SQLite's BEGIN IMMEDIATE makes the claim wait, no race",
)


def claim_elsewhere(at: dt.datetime) -> list[int]:
    """Worker "w2" claims what is due at ``at`` in another thread (its own connection) and commits."""
    claimed: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            claimed.append(Dispatcher("w2").claim(at, 10))
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=60)
    if errors:
        raise errors[0]
    assert claimed, "the claim did not finish"
    return claimed[0]


class Race:
    """Claims message ``target`` in another connection right after a planner query first read it."""

    def __init__(self) -> None:
        self.target: int | None = None
        self.claimed: list[int] | None = None

    def after_read(self, qs: QuerySet[Any]) -> QuerySet[Any]:
        """``qs`` whose first evaluation that returns the target runs the claim before returning."""
        race = self

        class ClaimAfterRead(type(qs)):  # type: ignore[misc]
            def _fetch_all(self) -> None:
                first = self._result_cache is None
                super()._fetch_all()
                rows = self._result_cache or []
                if (
                    first
                    and race.claimed is None
                    and any(getattr(r, "pk", None) == race.target for r in rows)
                ):
                    race.claimed = claim_elsewhere(DUE)

        chained = qs._chain()
        chained.__class__ = ClaimAfterRead
        return chained


@pytest.fixture
def race(monkeypatch: pytest.MonkeyPatch) -> Iterator[Race]:
    """Every message query of the planner (``Scope.messages``) and every ``cancel_pending`` input races."""
    race = Race()
    messages = planning_scope.Scope.messages
    cancel_pending = lifecycle.cancel_pending
    monkeypatch.setattr(
        planning_scope.Scope, "messages", lambda scope, qs: race.after_read(messages(scope, qs))
    )
    monkeypatch.setattr(
        lifecycle, "cancel_pending", lambda qs, note: cancel_pending(race.after_read(qs), note)
    )
    yield race


@pytest.fixture
def planned(alphasms_settings: dict[str, Any], location: Any) -> OutboundMessage:
    """One planned SMS, due at ``DUE``; the planner has run once (its incremental state exists)."""
    make_rule()
    make_appointment(location, make_customer(), START)
    plan(NOW)
    return OutboundMessage.objects.get()


def history(message: OutboundMessage) -> list[tuple[str, str]]:
    return list(
        StatusEvent.objects.filter(message=message).order_by("at", "pk").values_list("status", "note")
    )


def assert_still_claimed(message: OutboundMessage, race: Race) -> OutboundMessage:
    """The claim went through, and nothing the planner decided from its stale read was written."""
    assert race.claimed == [message.pk]
    fresh = OutboundMessage.objects.get(pk=message.pk)
    assert (fresh.status, fresh.claimed_by) == (MessageStatus.SENDING, "w2")
    assert history(fresh)[-1] == (MessageStatus.SENDING, "w2")
    assert Dispatcher("w3").claim(DUE, 10) == []  # no second worker gets it
    return fresh


def test_a_move_planned_while_a_worker_claims_leaves_the_claim_alone(planned, race):
    appointment = planned.appointment
    appointment.start_at, appointment.end_at = MOVED, MOVED + dt.timedelta(minutes=30)
    appointment.save()
    race.target = planned.pk
    result = plan(NOW)
    fresh = assert_still_claimed(planned, race)
    assert result.replanned == 0
    assert (fresh.occurrence_start_at, fresh.due_at) == (START, DUE)
    # Invariant 2 covers the move: the claiming worker re-plans instead of sending the old time.
    with time_machine.travel(DUE, tick=False):
        assert Dispatcher("w2").process(fresh.pk) == "replanned"
    fresh.refresh_from_db()
    assert (fresh.status, fresh.occurrence_start_at) == (MessageStatus.PLANNED, MOVED)


def test_a_cancellation_planned_while_a_worker_claims_leaves_the_claim_alone(planned, race):
    appointment = planned.appointment
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save()
    race.target = planned.pk
    result = plan(NOW)
    fresh = assert_still_claimed(planned, race)
    assert result.cancelled == 0
    assert (MessageStatus.CANCELLED, "appointment cancelled") not in history(fresh)
    with time_machine.travel(DUE, tick=False):
        assert Dispatcher("w2").process(fresh.pk) == "cancelled"  # checked again at send time


def test_a_new_person_planned_while_a_worker_claims_leaves_the_claim_alone(planned, race, location):
    other = make_customer(number="2002", given="Ada", mobile="+4915199999999")
    appointment = planned.appointment
    appointment.customer = other
    appointment.save()
    race.target = planned.pk
    result = plan(NOW)
    fresh = assert_still_claimed(planned, race)
    assert result.replanned == 0
    assert (fresh.customer_id, fresh.recipient) == (planned.customer_id, "+4915112345678")
    assert fresh.body == planned.body


@postgres_only
def test_a_consent_withdrawal_racing_a_claim_leaves_the_claim_alone(planned, race):
    race.target = planned.pk
    assert withdraw(planned.customer, "sms", source="test") == 0
    fresh = assert_still_claimed(planned, race)
    assert not [event for event in history(fresh) if event[0] == MessageStatus.CANCELLED]
    with time_machine.travel(DUE, tick=False):
        assert Dispatcher("w2").process(fresh.pk) == "cancelled"  # consent is checked at send time


@postgres_only
def test_a_staff_move_racing_a_claim_leaves_the_claim_alone(planned, race, monkeypatch):
    replan: Callable[[OutboundMessage, dt.datetime], int] = editing.replan

    def claim_then_replan(message: OutboundMessage, now: dt.datetime) -> int:
        race.claimed = claim_elsewhere(DUE)  # after save_appointment read the message as planned
        return replan(message, now)

    monkeypatch.setattr(editing, "replan", claim_then_replan)
    appointment = planned.appointment
    appointment.start_at, appointment.end_at = MOVED, MOVED + dt.timedelta(minutes=30)
    with time_machine.travel(NOW, tick=False):
        result = save_appointment(appointment, "staff:1")
    fresh = assert_still_claimed(planned, race)
    assert (result.replanned, result.cancelled) == (0, 0)
    assert fresh.occurrence_start_at == START


def test_without_a_claim_the_planner_still_replans_and_cancels(planned, alphasms_settings, location):
    second = make_appointment(location, make_customer(number="3003"), START)
    plan(NOW)
    appointment = planned.appointment
    appointment.start_at, appointment.end_at = MOVED, MOVED + dt.timedelta(minutes=30)
    appointment.save()
    second.status = AppointmentStatus.CANCELLED
    second.save()
    result = plan(NOW)
    assert (result.replanned, result.cancelled) == (1, 1)
    planned.refresh_from_db()
    assert (planned.status, planned.occurrence_start_at) == (MessageStatus.PLANNED, MOVED)
    assert history(planned)[-1] == (MessageStatus.PLANNED, "appointment moved to 2026-12-05T13:30Z")
    cancelled = OutboundMessage.objects.get(appointment=second)
    assert history(cancelled)[-1] == (MessageStatus.CANCELLED, "appointment cancelled")


def test_transition_writes_only_from_the_expected_status(planned):
    from alphasms.messaging.services.lifecycle import transition

    OutboundMessage.objects.filter(pk=planned.pk).update(status=MessageStatus.SENDING)
    events = history(planned)
    assert not transition(
        planned, from_statuses=[MessageStatus.PLANNED], to=MessageStatus.CANCELLED, note="x"
    )
    assert planned.status == MessageStatus.PLANNED  # the stale copy is left as it was
    assert OutboundMessage.objects.get(pk=planned.pk).status == MessageStatus.SENDING
    assert history(planned) == events
    assert transition(planned, from_statuses=[MessageStatus.SENDING], to=MessageStatus.QUEUED, note="y")
    assert OutboundMessage.objects.get(pk=planned.pk).status == MessageStatus.QUEUED
    assert history(planned)[-1] == (MessageStatus.QUEUED, "y")
