"""Which appointments a planning run looks at: every one (a full sweep) or only what changed.

The worker plans on every cycle (every few seconds). A full sweep checks every pending message against
its appointment and looks for missing messages over the whole horizon — seconds with a million
appointments (1 M appointments, 300,000 pending messages: about 4.5 s on a 2-core machine). An
incremental run looks only at

* appointments whose row changed since the last run (``Appointment.updated_at``: moved, cancelled,
  passed to another person, new), and the appointments of people whose row changed
  (``Customer.updated_at``: address, restriction lifted, a new opt-in — ``privacy.services.record_opt_in``
  touches the person), and
* appointments that entered the horizon since the last run (start after its ``now`` + horizon),

which is a few indexed queries (tens of milliseconds) when nothing changed. Changes are looked for from
the last run's start less ``SLACK_S``, so a change committed late (a long import transaction) or stamped
by a machine whose clock lags is still seen.

A full sweep still runs: on the first run (no ``PlanningState``), when the active rules or the horizon
changed (``rules_key``), when time went backwards, when more than ``MAX_CHANGED`` appointments changed,
and every ``SWEEP_S`` seconds as a safety net for changes that bypass ``updated_at`` (a raw SQL update, a
deleted message). Sending stays safe in any case: the worker re-checks consent, start and person of each
message at send time (DESIGN.md invariant 2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from alphasms.appointments.models import Appointment, Customer, PlanningState, ReminderRule

#: Seconds between full sweeps (the safety net for changes that bypass ``updated_at``).
SWEEP_S = 3600
#: Seconds before the last run's start from which changed rows are looked at again.
SLACK_S = 600
#: More changed appointments than this (a large import) → a full sweep, which is then cheaper.
MAX_CHANGED = 5000

M = TypeVar("M", bound=Model)

#: A rule's own columns that shape its messages: whom they go to, what they say and when. With
#: ``active`` and the appointment types they are all that planning reads of a rule
#: (``planning.rule_state``, ``rule_changes.PLANNING_FIELDS``); the name, the .ics attachment and the
#: unknown-outcome policy are read at send time instead.
MESSAGE_FIELDS = (
    "channel",
    "offset_s",
    "window_start",
    "window_end",
    "subject_template",
    "body_template",
    "subject_template_en",
    "body_template_en",
    "smart_encoding",
)

# The rule fields in the fingerprint: what decides who gets a message and what new messages say. A
# planning run that met a rule being edited skips it (``planning.create_missing``); the changed
# fingerprint makes the next run a full sweep, which plans what was skipped.
RULE_FIELDS = ("pk", *MESSAGE_FIELDS)


@dataclass(frozen=True)
class Scope:
    """One run's scope. ``full``: every appointment. Otherwise ``changed`` (appointment ids to
    re-check) and ``entering_after`` (UTC; appointments starting later are new to the horizon).
    ``started_at`` is the run's wall-clock start (UTC), ``now`` its planning instant, ``horizon_end``
    ``now`` + horizon, ``rules_key`` the fingerprint of the active rules and the horizon."""

    full: bool
    changed: frozenset[int]
    entering_after: dt.datetime | None
    started_at: dt.datetime
    now: dt.datetime
    horizon_end: dt.datetime
    rules_key: str
    reason: str = ""

    def messages(self, qs: QuerySet[M]) -> QuerySet[M]:
        """``qs`` (messages) limited to the run's changed appointments; unchanged in a full sweep."""
        if self.full:
            return qs
        return qs.filter(appointment_id__in=sorted(self.changed))

    def appointments(self, qs: QuerySet[Appointment]) -> QuerySet[Appointment]:
        """``qs`` (appointments) limited to changed ones and those new to the horizon."""
        if self.full:
            return qs
        assert self.entering_after is not None
        return qs.filter(Q(pk__in=sorted(self.changed)) | Q(start_at__gt=self.entering_after))


def rules_key(horizon: dt.timedelta) -> str:
    """A fingerprint (hex SHA-256) of the active rules (``RULE_FIELDS`` and their appointment types)
    and the horizon. Two queries."""
    rules = ReminderRule.objects.filter(active=True).order_by("pk")
    parts: list[object] = [horizon.total_seconds()]
    parts += list(rules.values_list(*RULE_FIELDS))
    through = ReminderRule.appointment_types.through.objects.filter(reminderrule__active=True)
    parts += sorted(through.values_list("reminderrule_id", "appointmenttype_id"))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _ids(values: Iterable[int]) -> set[int]:
    return set(values)


def changed_appointments(since: dt.datetime) -> set[int] | None:
    """Ids of appointments whose row or whose person's row changed at or after ``since`` (UTC); None
    when more than ``MAX_CHANGED`` did (the caller sweeps instead). Three indexed queries."""
    ids = _ids(
        Appointment.objects.filter(updated_at__gte=since).values_list("pk", flat=True)[: MAX_CHANGED + 1]
    )
    if len(ids) > MAX_CHANGED:
        return None
    people = list(
        Customer.objects.filter(updated_at__gte=since).values_list("pk", flat=True)[: MAX_CHANGED + 1]
    )
    if len(people) > MAX_CHANGED:
        return None
    if people:
        ids |= _ids(
            Appointment.objects.filter(customer_id__in=people).values_list("pk", flat=True)[: MAX_CHANGED + 1]
        )
    return None if len(ids) > MAX_CHANGED else ids


def begin(now: dt.datetime, horizon: dt.timedelta, full: bool | None = None) -> Scope:
    """The scope of a run planning as of ``now`` (aware UTC) over ``horizon``. ``full`` True forces a
    full sweep; None sweeps when one is due (see the module docstring); False sweeps only when an
    incremental run would be wrong (no state, rules or horizon changed, time went backwards, too many
    changes) — for a preview that must be quick and equal to what the worker's next cycle does."""
    started = timezone.now()
    key = rules_key(horizon)
    state = PlanningState.objects.filter(pk=1).first()
    sweep = Scope(True, frozenset(), None, started, now, now + horizon, key)
    if full:
        return sweep
    if state is None:
        return _with_reason(sweep, "first run")
    if state.rules_key != key:
        return _with_reason(sweep, "rules changed")
    if now < state.planned_now or started < state.started_at:
        return _with_reason(sweep, "time went backwards")
    if full is None and (started - state.full_at).total_seconds() >= SWEEP_S:
        return _with_reason(sweep, "periodic")
    changed = changed_appointments(state.started_at - dt.timedelta(seconds=SLACK_S))
    if changed is None:
        return _with_reason(sweep, "many changes")
    return Scope(False, frozenset(changed), state.horizon_end, started, now, now + horizon, key)


def _with_reason(scope: Scope, reason: str) -> Scope:
    return replace(scope, reason=reason)


def finish(scope: Scope) -> None:
    """Record a completed run as the next run's starting point (one upsert)."""
    values = {
        "started_at": scope.started_at,
        "planned_now": scope.now,
        "horizon_end": scope.horizon_end,
        "rules_key": scope.rules_key,
    }
    if scope.full:
        values["full_at"] = scope.started_at
    updated = PlanningState.objects.filter(pk=1).update(**values)
    if not updated:
        values.setdefault("full_at", scope.started_at)
        PlanningState.objects.get_or_create(pk=1, defaults=values)
