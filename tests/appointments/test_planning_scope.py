"""Incremental planning (``planning_scope``): a run with nothing changed looks at nothing, and every kind
of change a reminder depends on is still planned by the next run — without a full sweep."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alphasms.appointments.models import AppointmentStatus, Channel, PlanningState
from alphasms.appointments.services import planning_scope
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.privacy.models import ConsentSource
from alphasms.privacy.services import record_opt_in
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def full_at() -> dt.datetime:
    return PlanningState.objects.get(pk=1).full_at


def incremental(now: dt.datetime = NOW) -> tuple[Any, int]:
    """One run that must not be a full sweep; returns its result and its number of SQL queries."""
    before = full_at()
    with CaptureQueriesContext(connection) as captured:
        result = plan(now)
    assert full_at() == before, "expected an incremental run, got a full sweep"
    return result, len(captured.captured_queries)


def test_the_first_run_sweeps_and_records_where_it_stopped(alphasms_settings, location):
    make_rule()
    make_appointment(location, make_customer(), START)
    assert not PlanningState.objects.exists()
    assert plan(NOW).created == 1
    state = PlanningState.objects.get()
    assert state.planned_now == NOW
    assert state.horizon_end == NOW + dt.timedelta(days=alphasms_settings["PLANNING_HORIZON_DAYS"])
    assert state.full_at == state.started_at


def test_a_run_with_nothing_changed_costs_a_few_queries_however_many_appointments(
    alphasms_settings, location, time_machine
):
    time_machine.move_to(NOW, tick=False)
    make_rule(Channel.SMS)
    make_rule(Channel.EMAIL, offset_s=48 * 3600)

    def quiet_run() -> int:
        plan(NOW)  # plans what was just added
        for _ in range(2):  # past the look-back of the run after the changes
            time_machine.shift(dt.timedelta(seconds=planning_scope.SLACK_S + 1))
            result, queries = incremental()
        assert result.created == result.replanned == result.cancelled == 0
        return queries

    make_appointment(location, make_customer(), START)
    few = quiet_run()
    for number in range(20):
        make_appointment(location, make_customer(number=f"p{number}"), START + dt.timedelta(hours=number))
    assert quiet_run() == few
    assert OutboundMessage.objects.count() == 42
    # the rules' fingerprint (2), the state, changed appointments, changed people, the active rules;
    # per rule a few (its types, one candidate query); the state's update
    assert few <= 13


def test_a_moved_appointment_is_replanned_by_an_incremental_run(alphasms_settings, location):
    make_rule()
    appointment = make_appointment(location, make_customer(), START)
    plan(NOW)
    appointment.start_at = START + dt.timedelta(days=1)
    appointment.save()
    result, _ = incremental()
    assert result.replanned == 1
    assert OutboundMessage.objects.get().occurrence_start_at == START + dt.timedelta(days=1)


def test_a_cancelled_appointment_cancels_its_reminder_in_an_incremental_run(alphasms_settings, location):
    make_rule()
    appointment = make_appointment(location, make_customer(), START)
    plan(NOW)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save(update_fields=["status", "updated_at"])
    result, _ = incremental()
    assert result.cancelled == 1
    assert OutboundMessage.objects.get().status == MessageStatus.CANCELLED


def test_an_appointment_passed_to_another_person_is_readdressed(alphasms_settings, location):
    make_rule()
    appointment = make_appointment(location, make_customer(), START)
    plan(NOW)
    other = make_customer(number="2", mobile="+4915199999999")
    appointment.customer = other
    appointment.save()
    result, _ = incremental()
    assert result.replanned == 1
    assert OutboundMessage.objects.get().recipient == "+4915199999999"


def test_a_new_appointment_is_planned_by_an_incremental_run(alphasms_settings, location):
    make_rule()
    make_appointment(location, make_customer(), START)
    plan(NOW)
    make_appointment(location, make_customer(number="2"), START + dt.timedelta(hours=1))
    result, _ = incremental()
    assert result.created == 1


def test_an_appointment_entering_the_horizon_is_planned_though_its_row_did_not_change(
    alphasms_settings, location, time_machine
):
    time_machine.move_to(NOW, tick=False)
    make_rule()
    make_appointment(location, make_customer(), NOW + dt.timedelta(days=61))
    assert plan(NOW).created == 0
    time_machine.shift(dt.timedelta(seconds=planning_scope.SLACK_S + 1))
    assert plan(NOW + dt.timedelta(hours=12)).created == 0  # still beyond the horizon
    time_machine.shift(dt.timedelta(seconds=planning_scope.SLACK_S + 1))
    # no longer a recent change: only its entering the horizon brings it in
    assert planning_scope.begin(NOW, dt.timedelta(days=60)).changed == frozenset()
    result, _ = incremental(NOW + dt.timedelta(days=1, hours=1))
    assert result.created == 1


def test_an_opt_in_recorded_later_is_planned(alphasms_settings, location):
    make_rule(Channel.EMAIL)
    person = make_customer(consent=())
    make_appointment(location, person, START)
    assert plan(NOW).created == 0
    record_opt_in(person, Channel.EMAIL, source=ConsentSource.PHONE, wording_version="v1", recorded_by="t")
    result, _ = incremental()
    assert result.created == 1


def test_a_new_mobile_number_is_planned(alphasms_settings, location):
    make_rule()
    person = make_customer(mobile="")
    make_appointment(location, person, START)
    assert plan(NOW).created == 0
    person.mobile_e164, person.mobile_sms_ok = "+4915112345678", True
    person.save()
    result, _ = incremental()
    assert result.created == 1


def test_a_lifted_restriction_is_planned(alphasms_settings, location):
    make_rule()
    person = make_customer()
    make_appointment(location, person, START)
    person.restricted_at = NOW
    person.save()
    assert plan(NOW).created == 0
    person.restricted_at = None
    person.save()
    result, _ = incremental()
    assert result.created == 1


def test_a_changed_rule_makes_the_next_run_a_full_sweep(alphasms_settings, location):
    rule = make_rule()
    make_appointment(location, make_customer(), START)
    plan(NOW)
    before = full_at()
    rule.active = False
    rule.save()
    plan(NOW)
    assert full_at() > before
    second = make_rule(Channel.EMAIL)
    plan(NOW)
    assert OutboundMessage.objects.filter(rule=second).count() == 1


def test_a_change_that_bypasses_updated_at_is_caught_by_the_periodic_sweep(
    alphasms_settings, location, time_machine
):
    time_machine.move_to(NOW, tick=False)
    make_rule()
    appointment = make_appointment(location, make_customer(), START)
    plan(NOW)
    time_machine.shift(dt.timedelta(seconds=planning_scope.SLACK_S + 1))
    plan(NOW)  # the appointment's creation is no longer a recent change after this run
    type(appointment).objects.filter(pk=appointment.pk).update(start_at=START + dt.timedelta(hours=3))
    assert plan(NOW).replanned == 0  # not seen: the row's change marker did not move
    time_machine.move_to(NOW + dt.timedelta(seconds=planning_scope.SWEEP_S + 1), tick=False)
    assert plan(NOW).replanned == 1
    assert plan(NOW, full=True).replanned == 0


def test_time_going_backwards_or_many_changes_sweep(alphasms_settings, location, monkeypatch):
    make_rule()
    make_appointment(location, make_customer(), START)
    plan(NOW)
    assert planning_scope.begin(NOW - dt.timedelta(hours=1), dt.timedelta(days=60)).reason == (
        "time went backwards"
    )
    monkeypatch.setattr(planning_scope, "MAX_CHANGED", 0)
    assert planning_scope.begin(NOW, dt.timedelta(days=60)).reason == "many changes"
    assert planning_scope.begin(NOW, dt.timedelta(days=61), full=False).reason == "rules changed"
