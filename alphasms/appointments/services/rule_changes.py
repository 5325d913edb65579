"""A saved reminder rule governs its reminders that no gateway has been handed yet.

``replan_rule`` runs in the transaction that saves a rule (the web editor, the admin). After it:

- a rule switched off has no pending message left: planned, queued, retry-waiting and held ones are
  ``cancelled``, each with a StatusEvent "rule change: switched off (was …)"; the rows and their
  history stay (DESIGN.md invariant 4). Deleting a rule that has messages is refused by the model
  (``OutboundMessage.rule`` is PROTECT), so history is never deleted; switching off is the way;
- a rule whose channel changed cancels the old channel's pending messages and plans the new channel's
  at once (the unique constraint is per occurrence, rule *and* channel — invariant 1 — so both fit);
- a rule that no longer covers an appointment type cancels the pending messages of such appointments;
- every other pending message of the rule is re-rendered with the new templates and re-timed with the
  new offset and sending window (``planning.render_texts``/``due_instant``, exactly as when planned).
  Held messages stay ``held`` (a hold is a person's decision or a problem only staff can solve; the
  rule does not undo it) but get the new text and time, so releasing one sends what the rule now says;
- messages that the rule's earlier change cancelled come back when the rule covers them again
  (switched on again, channel or type back): the one message per occurrence, rule and channel that
  the unique constraint allows is re-planned (``held`` again if it was held), else nobody would ever
  be reminded of those appointments;
- appointments newly covered get their messages (``planning.create_missing``).

Consent and restriction (GDPR Art. 7(3), 18) hold throughout: a pending message whose person withdrew
consent or is restricted is cancelled, never re-planned; revived and new messages are only for people
with consent. Messages in ``sending`` (a worker's claim), ``unknown``, or any final state are never
touched: the pending rows are locked first (``SELECT … FOR UPDATE``; on SQLite the ``BEGIN IMMEDIATE``
transaction holds the write lock), so the worker's claim (``FOR UPDATE SKIP LOCKED``) cannot take one
while it changes, and every write re-checks the status. The sender ID is not a rule setting (it comes
from the settings and the recipient's country, ``planning.choose_sms_sender``), so an edit keeps it;
new messages (a changed channel) get the current one.

Work is set-based where no text is involved (cancelling: one UPDATE and one bulk INSERT of events per
batch); rendering is per message, in batches of ``BATCH`` with one query per batch for the consent
check and one prepared UPDATE run over the batch, and only rows whose values changed are written.
Measured on 2 cores with 5,000 pending reminders of one rule: new text and offset 2.2 s on SQLite,
3.2 s on PostgreSQL; switching off 0.5 s / 0.8 s; on again 1.7 s / 2.5 s — inside the save request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, Field, OuterRef, Q, QuerySet, Subquery

from alphasms.appointments.models import AppointmentStatus, Channel, ReminderRule
from alphasms.appointments.services.planning import (
    RuleState,
    create_missing,
    due_instant,
    recipient_for,
    render_texts,
    rule_state,
)
from alphasms.appointments.services.planning_scope import MESSAGE_FIELDS
from alphasms.messaging.encoding import analyse
from alphasms.messaging.models import PENDING, MessageStatus, OutboundMessage, StatusEvent
from alphasms.messaging.services.lifecycle import set_status
from alphasms.privacy.models import Consent
from alphasms.privacy.statistics import count_status

#: Every StatusEvent written for a rule change starts with this; a message whose latest status
#: change carries it was cancelled by the rule and comes back when the rule covers it again.
NOTE = "rule change: "
#: Messages rendered per batch (one consent query and one bulk UPDATE each).
BATCH = 500
#: The rule's fields that shape its messages (``planning.rule_state``); a form that changed none of
#: them needs no re-planning.
PLANNING_FIELDS = frozenset({"active", *MESSAGE_FIELDS, "appointment_types"})
_RENDERED = ("subject", "body", "segments", "encoding", "recipient", "occurrence_start_at")


@dataclass(frozen=True)
class RuleChangeResult:
    """Counts of one ``replan_rule``: pending messages re-rendered or re-timed, pending ones cancelled
    (rule off, channel or type changed, consent gone, restricted), earlier cancelled ones planned
    again, and new ones planned."""

    rerendered: int = 0
    cancelled: int = 0
    revived: int = 0
    created: int = 0


def replan_rule(rule: ReminderRule, *, now: dt.datetime, before: RuleState | None = None) -> RuleChangeResult:
    """Make the pending messages of the saved ``rule`` follow it (see the module docstring).

    Call it in the transaction that saved the rule, after its appointment types are saved. ``now`` is
    an aware UTC datetime. ``before`` is ``planning.rule_state`` of the rule as it was stored before the
    save: when it equals the new state (only the name, the .ics attachment or the unknown-outcome policy
    changed) nothing is done; None (a new rule, or unknown) re-plans, which is idempotent. Raises
    nothing of its own. Side effects: UPDATEs of the rule's pending (and earlier rule-cancelled)
    messages, one StatusEvent per changed message, INSERTs of new messages."""
    if before is not None and before == rule_state(rule):
        return RuleChangeResult()
    with transaction.atomic():
        mine = OutboundMessage.objects.filter(rule=rule)
        if not rule.active:
            return RuleChangeResult(cancelled=_cancel(mine, now, "switched off"))
        moved_away = mine.exclude(channel=rule.channel)
        cancelled = _cancel(moved_away, now, f"the rule now sends by {rule.channel}")
        types = list(rule.appointment_types.values_list("id", flat=True))
        if types:
            uncovered = mine.exclude(appointment__appointment_type_id__in=types)
            cancelled += _cancel(uncovered, now, "the rule no longer covers this appointment type")
        rerendered, refused = _rerender(rule, now)
        revived = _revive(rule, now, types)
        created = create_missing(rule, now)
    return RuleChangeResult(rerendered, cancelled + refused, revived, created)


def _batches(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _lock(messages: QuerySet[OutboundMessage]) -> list[int]:
    """The ids of ``messages``, their rows locked until the transaction ends (PostgreSQL: a worker's
    claim skips them; SQLite: the immediate transaction already excludes every other writer)."""
    return list(messages.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True))


def _cancel(messages: QuerySet[OutboundMessage], now: dt.datetime, reason: str) -> int:
    """Cancel the pending ones of ``messages``: per batch one UPDATE and one bulk INSERT of events."""
    count = 0
    for ids in _batches(_lock(messages.filter(status__in=PENDING))):
        batch = list(
            OutboundMessage.objects.filter(pk__in=ids, status__in=PENDING).select_related(
                "appointment__location"
            )
        )
        OutboundMessage.objects.filter(pk__in=[m.pk for m in batch]).update(
            status=MessageStatus.CANCELLED, status_changed_at=now, lease_until=None
        )
        StatusEvent.objects.bulk_create(
            StatusEvent(
                message=m, at=now, status=MessageStatus.CANCELLED, note=f"{NOTE}{reason} (was {m.status})"
            )
            for m in batch
        )
        for message in batch:
            count_status(message, MessageStatus.CANCELLED)  # no query unless statistics are on
        count += len(batch)
    return count


def _consent() -> Exists:
    return Exists(
        Consent.objects.filter(
            customer_id=OuterRef("customer_id"), channel=OuterRef("channel"), opted_out_at__isnull=True
        )
    )


def _still_planned(rule: ReminderRule, now: dt.datetime) -> QuerySet[OutboundMessage]:
    """The rule's messages on its channel whose appointment is still on, in the future and for the same
    person. Others are the planner's and the worker's: a cancelled appointment cancels its messages, a
    started one is stale, an entry naming another person is re-addressed (``planning.reassign``)."""
    return OutboundMessage.objects.filter(
        rule=rule,
        channel=rule.channel,
        appointment__status=AppointmentStatus.SCHEDULED,
        appointment__start_at__gt=now,
        customer_id=F("appointment__customer_id"),
    )


def _loaded(ids: Sequence[int], **filters: Any) -> QuerySet[OutboundMessage]:
    return (
        OutboundMessage.objects.filter(pk__in=ids, **filters)
        .select_related("appointment__location", "appointment__customer")  # the same person
        .annotate(consented=_consent())
    )


def _rerender(rule: ReminderRule, now: dt.datetime) -> tuple[int, int]:
    """Re-render and re-time the rule's pending messages; returns (changed, cancelled for consent or
    restriction)."""
    changed = refused = 0
    for ids in _batches(_lock(_still_planned(rule, now).filter(status__in=PENDING))):
        updated: list[OutboundMessage] = []
        events: list[StatusEvent] = []
        fields: set[str] = set()
        for message in _loaded(ids, status__in=PENDING):
            reason = _refusal(message)
            if reason:
                set_status(message, MessageStatus.CANCELLED, note=reason, at=now, lease_until=None)
                refused += 1
                continue
            values = _fresh(message, rule, now)
            differing = {k: v for k, v in values.items() if getattr(message, k) != v}
            if not differing:
                continue
            for name, value in differing.items():
                setattr(message, name, value)
            fields |= differing.keys()
            updated.append(message)
            events.append(StatusEvent(message=message, at=now, status=message.status, note=_note(differing)))
        _write(updated, sorted(fields), events, PENDING)
        changed += len(updated)
    return changed, refused


def _write(
    messages: Sequence[OutboundMessage], fields: list[str], events: list[StatusEvent], statuses: Sequence[str]
) -> None:
    """Write ``fields`` of ``messages`` with one prepared UPDATE run for every row (``executemany``),
    each guarded by the status it was read in, then their events in one bulk INSERT.

    Not ``bulk_update``: its one CASE expression per field and row costs ~1 ms per message in Django's
    query compiler, 5 s for a rule with 5,000 pending reminders; this is a few ms per batch."""
    if not messages:
        return
    meta = OutboundMessage._meta
    quote = connection.ops.quote_name
    columns = [field for name in fields if isinstance(field := meta.get_field(name), Field)]
    assignments = ", ".join(f"{quote(column.attname)} = %s" for column in columns)  # no db_column
    marks = ", ".join(["%s"] * len(statuses))
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "
        f"WHERE {quote('id')} = %s AND {quote('status')} IN ({marks})"
    )
    rows = [
        [c.get_db_prep_save(getattr(m, c.attname), connection) for c in columns] + [m.pk, *statuses]
        for m in messages
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    StatusEvent.objects.bulk_create(events)


def _refusal(message: OutboundMessage) -> str:
    person = message.appointment.customer
    if person is None or person.restricted_at is not None:
        return "processing restricted (GDPR Art. 18)"
    if not getattr(message, "consented", False):
        return "no consent for this channel"
    return ""


def _fresh(message: OutboundMessage, rule: ReminderRule, now: dt.datetime) -> dict[str, Any]:
    """The values ``message`` gets from ``rule`` now: texts, parts, recipient, due instant, and the
    next attempt (the new due instant; for a message tried before, not earlier than its retry)."""
    appointment = message.appointment
    subject, body = render_texts(appointment, rule)
    info = analyse(body) if message.channel == Channel.SMS else None
    values: dict[str, Any] = {
        "subject": subject,
        "body": body,
        "segments": info.segments if info else 0,
        "encoding": info.encoding.value if info else "",
        "recipient": recipient_for(appointment, message.channel) or message.recipient,
        "occurrence_start_at": appointment.start_at,
    }
    due_at = due_instant(appointment, rule, now)
    if due_at <= now and message.due_at <= now:
        due_at = message.due_at  # due under the old rule and the new: it stays in line as it is
    if due_at != message.due_at:
        values["due_at"] = due_at
        values["next_attempt_at"] = (
            due_at if message.attempt_count == 0 else max(message.next_attempt_at, due_at)
        )
    return values


def _note(differing: dict[str, Any]) -> str:
    parts = ["text"] if differing.keys() & set(_RENDERED) else []
    if "due_at" in differing:
        parts.append(f"due {differing['due_at']:%Y-%m-%dT%H:%MZ}")
    return f"{NOTE}re-planned ({', '.join(parts)})"


def _revive(rule: ReminderRule, now: dt.datetime, types: list[int]) -> int:
    """Plan again the messages an earlier change of this rule cancelled, where the rule covers them
    again and the person may still be reminded; ``held`` again if they were held. Returns the count."""
    cancelled_by_rule = StatusEvent.objects.filter(
        message_id=OuterRef("pk"),
        at=OuterRef("status_changed_at"),
        status=MessageStatus.CANCELLED,
        note__startswith=NOTE,
    )
    if rule.channel == Channel.SMS:
        reachable = Q(customer__mobile_sms_ok=True) & ~Q(customer__mobile_e164="")
    else:
        reachable = ~Q(customer__email="")
    candidates = _still_planned(rule, now).filter(
        reachable,
        Exists(cancelled_by_rule),
        _consent(),
        status=MessageStatus.CANCELLED,
        customer__restricted_at__isnull=True,
    )
    if types:
        candidates = candidates.filter(appointment__appointment_type_id__in=types)
    before = StatusEvent.objects.filter(message_id=OuterRef("pk")).exclude(status=MessageStatus.CANCELLED)
    revived = 0
    fields = ["status", "status_changed_at", "due_at", "next_attempt_at", *_RENDERED]
    for ids in _batches(_lock(candidates)):
        batch = list(
            _loaded(ids, status=MessageStatus.CANCELLED).annotate(
                previous=Subquery(before.order_by("-at", "-id").values("status")[:1])
            )
        )
        for message in batch:
            values = _fresh(message, rule, now)
            values.pop("next_attempt_at", None)
            for name, value in values.items():
                setattr(message, name, value)
            if getattr(message, "previous", None) == MessageStatus.HELD:
                message.status = MessageStatus.HELD
            else:
                message.status = MessageStatus.QUEUED if message.attempt_count else MessageStatus.PLANNED
            message.status_changed_at = now
            message.next_attempt_at = max(message.due_at, now.replace(microsecond=0))
        events = [StatusEvent(message=m, at=now, status=m.status, note=f"{NOTE}covered again") for m in batch]
        _write(batch, fields, events, [MessageStatus.CANCELLED])
        revived += len(batch)
    return revived
