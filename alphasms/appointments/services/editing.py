"""Changes staff make to one appointment by hand (the web app): save it, cancel it, reactivate a
cancelled one, mark a no-show.

Each change re-plans or cancels that appointment's reminders at once, with the same rules as the
worker's planner (``services.planning``: ``build_message``, ``replan``, ``reassign``) and the same
cancellation as a calendar import (``messaging.services.lifecycle.cancel_pending``), so nothing waits
for the next worker cycle and nothing differs from an import. History is never deleted: a cancelled
reminder stays as a message in status ``cancelled`` with a ``StatusEvent`` naming why (DESIGN.md
invariant 4). Each change writes an audit entry (ids only; GDPR Art. 5(2)).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from alphasms.appointments.models import Appointment, AppointmentStatus, Channel, ReminderRule
from alphasms.appointments.services.planning import (
    PlanResult,
    build_message,
    due_instant,
    reassign,
    recipient_for,
    render_texts,
    replan,
)
from alphasms.conf import app_settings
from alphasms.messaging.encoding import analyse
from alphasms.messaging.models import PENDING, MessageStatus, OutboundMessage
from alphasms.messaging.services.lifecycle import cancel_pending, transition
from alphasms.privacy.audit import audit
from alphasms.privacy.models import AuditAction
from alphasms.privacy.services import has_consent

CANCEL_NOTE = "appointment cancelled by staff"
NO_SHOW_NOTE = "appointment marked as no-show by staff"
REACTIVATE_NOTE = "appointment reactivated by staff"


class AppointmentStateError(ValueError):
    """The change is not possible in the appointment's state (e.g. a no-show before the start)."""


def plan_appointment(
    appointment: Appointment, now: dt.datetime | None = None, *, rerender: bool = False
) -> PlanResult:
    """Bring the reminders of one appointment in line with it, right after it was created or changed.

    * not scheduled (cancelled, no-show…): every pending reminder is cancelled;
    * scheduled: pending reminders whose start or person changed (all of them with ``rerender``, e.g.
      after a move to another location) are re-rendered and re-timed (``planning.replan``; a new
      person without consent or address cancels them), reminders cancelled for a former person go to
      the new one where allowed (``planning.reassign``), and missing reminders of active rules are
      created when the start lies within the planning horizon
      (``ALPHASMS_PLANNING_HORIZON_DAYS``), exactly as ``planning.plan`` would.

    ``now`` is an aware UTC datetime (default: now). Returns the counts. Side effects: inserts and
    updates of ``OutboundMessage`` and ``StatusEvent`` rows. Idempotent (the one-message unique
    constraint, DESIGN.md invariant 1).
    """
    now = now or timezone.now()
    if appointment.status != AppointmentStatus.SCHEDULED:
        note = NO_SHOW_NOTE if appointment.status == AppointmentStatus.NO_SHOW else CANCEL_NOTE
        cancelled = cancel_pending(OutboundMessage.objects.filter(appointment=appointment), note=note)
        return PlanResult(created=0, replanned=0, cancelled=cancelled)
    replanned = cancelled = 0
    messages = OutboundMessage.objects.filter(appointment=appointment).select_related(
        "appointment__location", "appointment__customer", "rule"
    )
    for message in messages:
        changed = (
            rerender
            or message.occurrence_start_at != appointment.start_at
            or message.customer_id != appointment.customer_id
        )
        if message.status in PENDING and changed:
            # replan writes only while the message is still pending as read: one a worker claimed
            # meanwhile is neither re-planned nor cancelled here (its send-time check does it).
            replanned += replan(message, now)
            cancelled += int(message.status == MessageStatus.CANCELLED)
        elif message.status == MessageStatus.CANCELLED and _passed_to_new_person(message, now):
            replanned += reassign(message, now)
    return PlanResult(created=_create_missing(appointment, now), replanned=replanned, cancelled=cancelled)


def _passed_to_new_person(message: OutboundMessage, now: dt.datetime) -> bool:
    appointment = message.appointment
    return (
        appointment.customer_id is not None
        and message.customer_id != appointment.customer_id
        and message.rule.active
        and appointment.start_at > now
    )


def _create_missing(appointment: Appointment, now: dt.datetime) -> int:
    horizon = now + dt.timedelta(days=app_settings.PLANNING_HORIZON_DAYS)
    if appointment.customer_id is None or not now < appointment.start_at <= horizon:
        return 0
    existing = set(OutboundMessage.objects.filter(appointment=appointment).values_list("rule_id", "channel"))
    new = []
    for rule in ReminderRule.objects.filter(active=True).prefetch_related("appointment_types"):
        type_ids = {t.pk for t in rule.appointment_types.all()}
        if (rule.pk, rule.channel) in existing or (
            type_ids and appointment.appointment_type_id not in type_ids
        ):
            continue
        message = build_message(appointment, rule, now)
        if message is not None:
            new.append(message)
    return len(OutboundMessage.objects.bulk_create(new, ignore_conflicts=True))


def save_appointment(
    appointment: Appointment, actor: str, *, previous_location_id: int | None = None
) -> PlanResult:
    """Save a new or changed appointment and re-plan its reminders in the same transaction.

    ``previous_location_id`` is the location before the change (None for a new appointment): a move to
    another location re-renders the texts (``{location}``) and re-times them in its sending window.
    ``actor`` is ``staff:<user id>`` (ids only). Returns the planning counts. Side effects: the
    appointment row, its messages, an audit entry ("created"/"changed").
    """
    created = appointment.pk is None
    with transaction.atomic():
        appointment.save()
        moved = previous_location_id is not None and previous_location_id != appointment.location_id
        result = plan_appointment(appointment, rerender=moved)
        audit(actor, AuditAction.CHANGE, "appointment", appointment.pk, "created" if created else "changed")
    return result


def cancel_appointment(appointment: Appointment, actor: str, note: str = CANCEL_NOTE) -> int:
    """Cancel ``appointment`` and every still-pending reminder of it (as a calendar import does for an
    occurrence that was cancelled). Sent, delivered and failed reminders keep their status: history
    stays. Returns the number of reminders cancelled. Raises ``AppointmentStateError`` when the
    appointment is already cancelled. Side effects: appointment status, message statuses and their
    ``StatusEvent`` rows (``note``), an audit entry — in one transaction.
    """
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status == AppointmentStatus.CANCELLED:
            raise AppointmentStateError("already cancelled")
        appointment.status = AppointmentStatus.CANCELLED
        appointment.save(update_fields=["status", "updated_at"])
        count = cancel_pending(OutboundMessage.objects.filter(appointment=appointment), note=note)
        audit(actor, AuditAction.CHANGE, "appointment", appointment.pk, f"cancelled reminders={count}")
    return count


def reactivate_appointment(
    appointment: Appointment, actor: str, now: dt.datetime | None = None
) -> PlanResult:
    """Undo a cancellation: the appointment is scheduled again. When it still lies ahead (``now``,
    aware UTC), the reminders its cancellation cancelled (last event: ``CANCEL_NOTE``) are planned
    again — re-rendered and re-timed as ``planning.replan`` does, ``held`` again if they were held —
    where the person may still be reminded (same person, not restricted, consent and address for the
    channel, rule active); missing reminders of active rules are created. A past appointment gets no
    reminder. Raises ``AppointmentStateError`` unless the appointment is cancelled. Returns the counts
    (``replanned`` = reminders brought back). Side effects: appointment status, messages with their
    ``StatusEvent`` rows (``REACTIVATE_NOTE``), an audit entry — in one transaction.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status != AppointmentStatus.CANCELLED:
            raise AppointmentStateError(f"status is {locked.status}")
        appointment.status = AppointmentStatus.SCHEDULED
        appointment.save(update_fields=["status", "updated_at"])
        revived = created = 0
        if appointment.start_at > now:
            cancelled = OutboundMessage.objects.filter(
                appointment=appointment, status=MessageStatus.CANCELLED
            ).select_related("appointment__location", "appointment__customer", "rule")
            revived = sum(_revive(message, now) for message in cancelled)
            created = _create_missing(appointment, now)
        audit(actor, AuditAction.CHANGE, "appointment", appointment.pk, f"reactivated reminders={revived}")
    return PlanResult(created=created, replanned=revived, cancelled=0)


def _revive(message: OutboundMessage, now: dt.datetime) -> int:
    """Plan again one reminder the appointment's cancellation cancelled; 1 if it was, else 0."""
    events = list(message.events.order_by("-at", "-pk")[:2])
    if not events or events[0].status != MessageStatus.CANCELLED or events[0].note != CANCEL_NOTE:
        return 0  # cancelled for another reason (withdrawal, rule, restriction): stays cancelled
    appointment, rule = message.appointment, message.rule
    person = appointment.customer
    if (
        person is None
        or person.pk != message.customer_id
        or person.restricted_at is not None
        or not rule.active
        or not recipient_for(appointment, message.channel)
        or not has_consent(person, message.channel)
    ):
        return 0
    subject, body = render_texts(appointment, rule)
    due_at = due_instant(appointment, rule, now)
    info = analyse(body) if message.channel == Channel.SMS else None
    was_held = len(events) > 1 and events[1].status == MessageStatus.HELD
    status = (
        MessageStatus.HELD
        if was_held
        else MessageStatus.QUEUED
        if message.attempt_count
        else MessageStatus.PLANNED
    )
    done = transition(  # only while still cancelled (another request may have revived it meanwhile)
        message,
        from_statuses=(MessageStatus.CANCELLED,),
        to=status,
        note=REACTIVATE_NOTE,
        at=now,
        subject=subject,
        body=body,
        segments=info.segments if info else 0,
        occurrence_start_at=appointment.start_at,
        due_at=due_at,
        next_attempt_at=max(due_at, now.replace(microsecond=0)),
    )
    return int(done)


def mark_no_show(appointment: Appointment, actor: str, now: dt.datetime | None = None) -> int:
    """Record that the person did not come (status ``no_show``). Only a scheduled or completed
    appointment whose start has passed (``now``, aware UTC) can be a no-show; otherwise
    ``AppointmentStateError``. Pending reminders (a late one still waiting) are cancelled; returns their
    count. Side effects: appointment status, messages, an audit entry — in one transaction.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status not in (AppointmentStatus.SCHEDULED, AppointmentStatus.COMPLETED):
            raise AppointmentStateError(f"status is {locked.status}")
        if locked.start_at > now:
            raise AppointmentStateError("the appointment has not started yet")
        appointment.status = AppointmentStatus.NO_SHOW
        appointment.save(update_fields=["status", "updated_at"])
        count = cancel_pending(OutboundMessage.objects.filter(appointment=appointment), note=NO_SHOW_NOTE)
        audit(actor, AuditAction.CHANGE, "appointment", appointment.pk, "no-show")
    return count
