"""Reminder planning: appointments × active rules → one OutboundMessage per (occurrence, rule, channel).

The planner is idempotent (DESIGN.md invariant 1: a unique constraint, and ``ignore_conflicts``), so it
runs on every worker cycle and after every import. Due instants are UTC; sending windows are read in
the location's IANA time zone, so DST is exact (invariant 5).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from alphasms.appointments.models import Appointment, AppointmentStatus, Channel, ReminderRule
from alphasms.appointments.services import planning_scope
from alphasms.appointments.services.planning_scope import Scope
from alphasms.conf import app_settings
from alphasms.messaging.encoding import Replacement, analyse, smart_replace
from alphasms.messaging.models import PENDING, MessageStatus, OutboundMessage
from alphasms.messaging.sender_id import SenderDecision, SenderIdError, choose_sender
from alphasms.messaging.services.lifecycle import cancel_pending, in_batches, transition
from alphasms.messaging.templates import ReminderContext, render
from alphasms.privacy.models import Consent
from alphasms.privacy.services import has_consent

log = logging.getLogger("alphasms.planning")


@dataclass(frozen=True)
class PlanResult:
    """Counts of one planning run: messages created, re-planned (moved appointment), cancelled."""

    created: int
    replanned: int
    cancelled: int


def shift_into_window(
    due_at: dt.datetime, start_at: dt.datetime, rule: ReminderRule, tz: dt.tzinfo
) -> dt.datetime:
    """Move ``due_at`` (UTC) into the rule's local sending window, never later than ``start_at``.

    Before the window opens → the window's opening that day if that is still before the start, else
    the previous day's closing. After it closes → that day's closing (earlier, so still in time).
    Returns an aware UTC datetime. Local times are built with zoneinfo, so DST days are exact.
    """
    local = due_at.astimezone(tz)
    opens = dt.datetime.combine(local.date(), rule.window_start, tzinfo=tz)
    closes = dt.datetime.combine(local.date(), rule.window_end, tzinfo=tz)
    if local < opens:
        candidate = opens if opens < start_at else closes - dt.timedelta(days=1)
        candidate = dt.datetime.combine(candidate.date(), candidate.timetz().replace(tzinfo=None), tzinfo=tz)
    elif local > closes:
        candidate = closes
    else:
        candidate = local
    return candidate.astimezone(dt.UTC)


def next_window_opening(now: dt.datetime, rule: ReminderRule, tz: dt.tzinfo) -> dt.datetime | None:
    """None if ``now`` (UTC) is inside the local sending window, else the next opening instant (UTC)."""
    local = now.astimezone(tz)
    opens = dt.datetime.combine(local.date(), rule.window_start, tzinfo=tz)
    closes = dt.datetime.combine(local.date(), rule.window_end, tzinfo=tz)
    if opens <= local <= closes:
        return None
    if local > closes:
        opens = dt.datetime.combine(local.date() + dt.timedelta(days=1), rule.window_start, tzinfo=tz)
    return opens.astimezone(dt.UTC)


def recipient_for(appointment: Appointment, channel: str) -> str:
    """The address for ``channel``: the customer's E.164 mobile if SMS can reach it, else ""."""
    customer = appointment.customer
    if customer is None:
        return ""
    if channel == Channel.SMS:
        return customer.mobile_e164 if customer.mobile_sms_ok else ""
    return customer.email


def render_texts(appointment: Appointment, rule: ReminderRule) -> tuple[str, str]:
    """(subject, body) of ``rule``'s templates for ``appointment`` in the customer's language."""
    subject, body, _ = render_with_replacements(appointment, rule)
    return subject, body


def render_with_replacements(
    appointment: Appointment, rule: ReminderRule
) -> tuple[str, str, tuple[Replacement, ...]]:
    """(subject, body, replacements): the body after smart encoding where the rule switches it on
    for SMS, with every replacement made (shown in the preview)."""
    customer = appointment.customer
    assert customer is not None
    location = appointment.location
    language, subject_template, body_template = rule.templates_for(customer.language)
    ctx = ReminderContext(
        given_name=customer.given_name,
        family_name=customer.family_name,
        location=location.name,
        practice_name=location.name,
        practice_phone=location.phone,
        language=language,
        start_local=None if appointment.all_day else appointment.start_at.astimezone(location.tz),
        all_day_date=appointment.start_date,
    )
    body = render(body_template, ctx)
    replacements: tuple[Replacement, ...] = ()
    if rule.channel == Channel.SMS and rule.smart_encoding:
        body, replacements = smart_replace(body, normalize_nfc=True)
    return render(subject_template, ctx), body, replacements


def build_message(appointment: Appointment, rule: ReminderRule, now: dt.datetime) -> OutboundMessage | None:
    """A new, unsaved message for ``appointment`` and ``rule``, or None when it must not be planned
    (no usable recipient, no consent, restricted person, or the start has passed)."""
    customer = appointment.customer
    if customer is None or customer.restricted_at is not None or appointment.start_at <= now:
        return None
    recipient = recipient_for(appointment, rule.channel)
    if not recipient or not has_consent(customer, rule.channel):
        return None
    subject, body = render_texts(appointment, rule)
    info = analyse(body) if rule.channel == Channel.SMS else None
    due_at = due_instant(appointment, rule, now)
    sender, sender_problem = choose_sms_sender(recipient) if rule.channel == Channel.SMS else (None, "")
    return OutboundMessage(
        appointment=appointment,
        rule=rule,
        channel=rule.channel,
        customer=customer,
        recipient=recipient,
        sender_id=sender.sender_id if sender else "",
        subject=subject,
        body=body,
        segments=info.segments if info else 0,
        encoding=info.encoding.value if info else "",
        occurrence_start_at=appointment.start_at,
        due_at=due_at,
        next_attempt_at=due_at,
        status=MessageStatus.HELD if sender_problem else MessageStatus.PLANNED,
        status_changed_at=now,
        error_code="sender_not_allowed" if sender_problem else "",
        user_message=(sender_problem or " ".join(sender.warnings if sender else ()))[:500],
    )


def choose_sms_sender(recipient: str) -> tuple[SenderDecision | None, str]:
    """The sender ID for ``recipient`` by the destination rules (``sender_id.choose_sender``), or the
    provider's default (None) when none is configured; the second value is the staff sentence when no
    configured sender may be used there (the message is then held)."""
    alphanumeric, numeric = app_settings.SMS_SENDER_ID, app_settings.SMS_SENDER_NUMBER
    if not alphanumeric and not numeric:
        return None, ""
    try:
        return choose_sender(recipient, alphanumeric, numeric, app_settings.SMS_SENDER_REGISTERED_IN), ""
    except SenderIdError as exc:
        return None, str(exc)


def due_instant(appointment: Appointment, rule: ReminderRule, now: dt.datetime) -> dt.datetime:
    """When the reminder is due (UTC): start − offset, moved into the window. A due instant already
    past (a late import) becomes ``now`` — or the window's next opening when that is before the start."""
    tz = appointment.location.tz
    due = shift_into_window(
        appointment.start_at - dt.timedelta(seconds=rule.offset_s), appointment.start_at, rule, tz
    )
    if due >= now:
        return due
    opening = next_window_opening(now, rule, tz)
    if opening is not None and opening < appointment.start_at:
        return opening
    return now.replace(microsecond=0)


def candidates(
    rule: ReminderRule, now: dt.datetime, horizon: dt.timedelta, scope: Scope | None = None
) -> QuerySet[Appointment]:
    """Scheduled appointments with a person, starting within the horizon, of the rule's types, that
    have no message for this rule and channel yet and whose person has a usable address and consent
    for the channel — one set-based query.

    The address and consent conditions repeat ``build_message``'s in SQL: without them every person
    who can never be reminded (a landline, no consent) would cost a consent query on every planning run
    (each worker cycle; with a million appointments, minutes). ``build_message`` still checks both.
    An incremental ``scope`` (``planning_scope``) keeps only its changed appointments and those new to
    the horizon."""
    if rule.channel == Channel.SMS:
        reachable = Q(customer__mobile_sms_ok=True) & ~Q(customer__mobile_e164="")
    else:
        reachable = ~Q(customer__email="")
    consent = Consent.objects.filter(
        customer_id=OuterRef("customer_id"), channel=rule.channel, opted_out_at__isnull=True
    )
    planned = OutboundMessage.objects.filter(appointment_id=OuterRef("pk"), rule=rule, channel=rule.channel)
    qs = Appointment.objects.filter(
        reachable,
        Exists(consent),
        status=AppointmentStatus.SCHEDULED,
        customer__isnull=False,
        customer__restricted_at__isnull=True,
        start_at__gt=now,
        start_at__lte=now + horizon,
    ).exclude(Exists(planned))
    type_ids = list(rule.appointment_types.values_list("id", flat=True))
    if type_ids:
        qs = qs.filter(appointment_type_id__in=type_ids)
    if scope is not None:
        qs = scope.appointments(qs)
    return qs.select_related("customer", "location")


def plan(now: dt.datetime | None = None, *, full: bool | None = None) -> PlanResult:
    """Create missing messages, re-plan pending ones whose appointment moved, cancel pending ones whose
    appointment was cancelled. Safe to run concurrently and repeatedly (unique constraint).

    Concurrent with the worker's claim: the pending messages are read first, outside any transaction,
    and each change is a ``lifecycle.transition`` that writes only while the message is still in the
    status it was read in, so one claimed meanwhile stays ``sending`` (DESIGN.md invariant 3) and the
    worker's send-time check re-plans or cancels it (invariant 2). The writes go in short batches
    (``lifecycle.in_batches``: on SQLite one transaction per batch), never one transaction over the
    whole run, so a claim waits at most one batch.

    Incremental (``planning_scope``): only appointments changed since the last run and those new to
    the horizon are looked at — tens of milliseconds with nothing changed — with a full sweep when one
    is due (``full`` None), always (True), or only when an incremental run would be wrong (False)."""
    now = now or timezone.now()
    horizon = dt.timedelta(days=app_settings.PLANNING_HORIZON_DAYS)
    scope = planning_scope.begin(now, horizon, full)
    cancelled = cancel_pending(
        scope.messages(OutboundMessage.objects.filter(~Q(appointment__status=AppointmentStatus.SCHEDULED))),
        note="appointment cancelled",
    )
    replanned = 0
    moved = scope.messages(OutboundMessage.objects.filter(status__in=PENDING)).exclude(
        occurrence_start_at=F("appointment__start_at")
    )
    related = ("appointment__location", "appointment__customer", "rule")
    replanned += in_batches(moved.select_related(*related), lambda message: replan(message, now))
    reassigned = scope.messages(OutboundMessage.objects.filter(status__in=PENDING)).exclude(
        customer_id=F("appointment__customer_id")
    )
    replanned += in_batches(reassigned.select_related(*related), lambda message: reassign(message, now))
    replanned += _revive_for_new_person(now, scope)
    created = 0
    for rule in ReminderRule.objects.filter(active=True):
        created += create_missing(rule, now, horizon, scope)
    planning_scope.finish(scope)
    if created or replanned or cancelled:
        log.info("planned created=%d replanned=%d cancelled=%d", created, replanned, cancelled)
    if scope.full:
        log.debug("full planning sweep (%s)", scope.reason or "requested")
    return PlanResult(created=created, replanned=replanned, cancelled=cancelled)


RuleState = tuple[object, ...]


def rule_state(rule: ReminderRule) -> RuleState:
    """What of a saved ``rule`` shapes its messages: active, channel, offset, window, the four
    templates, smart encoding and the appointment type ids. Two equal states plan equal messages;
    the name, the .ics attachment and the unknown-outcome policy are read at send time instead."""
    types = tuple(sorted(rule.appointment_types.values_list("id", flat=True))) if rule.pk else ()
    return (rule.active, *(getattr(rule, name) for name in planning_scope.MESSAGE_FIELDS), types)


def create_missing(
    rule: ReminderRule, now: dt.datetime, horizon: dt.timedelta | None = None, scope: Scope | None = None
) -> int:
    """Plan the missing messages of one active ``rule`` (``candidates`` → ``build_message``) for
    appointments starting within ``horizon`` (default: the planning horizon). Returns the count.

    The messages are built from ``rule`` as read before; the insert runs in a transaction that locks the
    rule's row and inserts only if the rule is still the same (``rule_state``). A rule saved meanwhile
    re-planned its own messages in its save (``rule_changes.replan_rule``); inserting texts built from
    the old rule after that would keep them for good, so this run skips the rule and the next plans it."""
    horizon = horizon or dt.timedelta(days=app_settings.PLANNING_HORIZON_DAYS)
    state = rule_state(rule)
    new = [m for a in candidates(rule, now, horizon, scope) if (m := build_message(a, rule, now))]
    if not new:
        return 0
    with transaction.atomic():
        current = ReminderRule.objects.select_for_update().filter(pk=rule.pk).first()
        if current is None or rule_state(current) != state:
            return 0
        return len(OutboundMessage.objects.bulk_create(new, ignore_conflicts=True))


def _revive_for_new_person(now: dt.datetime, scope: Scope | None = None) -> int:
    """A reminder cancelled for an entry's first person (STOP, restriction) whose entry now names someone
    else who may be reminded: the one message per occurrence, rule and channel is re-planned for them,
    since the unique constraint leaves no room for a second. Others stay cancelled, untouched."""
    cancelled = (
        OutboundMessage.objects.filter(
            status=MessageStatus.CANCELLED,
            rule__active=True,
            channel=F("rule__channel"),  # not a message the rule's change of channel cancelled
            appointment__status=AppointmentStatus.SCHEDULED,
            appointment__start_at__gt=now,
            appointment__customer__isnull=False,
            appointment__customer__restricted_at__isnull=True,
        )
        .exclude(customer_id=F("appointment__customer_id"))
        .select_related("appointment__location", "appointment__customer", "rule")
    )
    if scope is not None:
        cancelled = scope.messages(cancelled)

    def revive(message: OutboundMessage) -> int:
        person = message.appointment.customer
        assert person is not None
        if recipient_for(message.appointment, message.channel) and has_consent(person, message.channel):
            return reassign(message, now)
        return 0

    return in_batches(cancelled, revive)


def reassign(message: OutboundMessage, now: dt.datetime) -> int:
    """A pending message whose appointment now names another person (a calendar entry's title changed):
    cancel it when the person has no consent, no usable address or no longer exists, else re-address and
    re-render it for them. Never sends the first person's text to the second. Returns 1 if re-planned.

    Writes only while the message is still in the status it was read in (``lifecycle.transition``):
    one claimed by a worker since is left to that worker's send-time check (returns 0)."""
    appointment, channel = message.appointment, message.channel
    person = appointment.customer
    recipient = recipient_for(appointment, channel) if person is not None else ""
    if (
        person is None
        or person.restricted_at is not None
        or not recipient
        or not has_consent(person, channel)
    ):
        transition(
            message,
            from_statuses=(message.status,),
            to=MessageStatus.CANCELLED,
            note="appointment now belongs to another person",
            lease_until=None,
        )
        return 0
    return _replan(message, now, customer=person, recipient=recipient)


def replan(message: OutboundMessage, now: dt.datetime) -> int:
    """Re-render and re-schedule a pending message whose appointment moved; cancel it if the new start
    has passed. Returns 1 if re-planned, 0 if cancelled — or if the message left the status it was read
    in meanwhile (a worker claimed it; ``lifecycle.transition``), when nothing is written."""
    if message.appointment.customer_id != message.customer_id:
        return reassign(message, now)  # the entry names another person (or nobody) now
    return _replan(message, now)


def _replan(message: OutboundMessage, now: dt.datetime, **person: Any) -> int:
    """``replan`` for the appointment's person; ``person`` (customer, recipient) re-addresses it too."""
    appointment = message.appointment
    expected = (message.status,)
    if appointment.start_at <= now:
        transition(
            message,
            from_statuses=expected,
            to=MessageStatus.CANCELLED,
            note="appointment moved into the past",
            **person,
        )
        return 0
    subject, body = render_texts(appointment, message.rule)
    due_at = due_instant(appointment, message.rule, now)
    info = analyse(body) if message.channel == Channel.SMS else None
    done = transition(
        message,
        from_statuses=expected,
        to=MessageStatus.PLANNED,
        note=f"appointment moved to {appointment.start_at:%Y-%m-%dT%H:%MZ}",
        subject=subject,
        body=body,
        segments=info.segments if info else 0,
        occurrence_start_at=appointment.start_at,
        due_at=due_at,
        next_attempt_at=due_at,
        **person,
    )
    return int(done)
