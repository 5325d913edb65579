"""The message log: filtered list, newest first, keyset pagination; one message's timeline; resend.

Fast on big tables: the list never counts (no ``COUNT(*)`` over millions of rows) and pages by the
last row's (``due_at``, id) instead of ``OFFSET`` (the index on ``due_at`` serves both the order and the
date range). A customer search first finds the matching customers (name, customer number, number or
address), then their messages.

The timeline merges the message's status events, delivery attempts (with the staff sentence of their
error), the providers' delivery reports and the replies, by time. Raw provider payloads are for owners
only (the view decides, ``with_raw``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alphasms.appointments.models import Customer
from alphasms.messaging.models import (
    DeliveryAttempt,
    DeliveryReport,
    InboundMessage,
    MessageStatus,
    OutboundMessage,
    ResendBatch,
    StatusEvent,
)
from alphasms.messaging.services import resend as resends

PAGE_SIZE = 50
SEARCH_CUSTOMER_LIMIT = 1000  # customers matched by one search; a broader one asks for more letters

# Staff sentences of ``ResendRefused.code`` (and a batch's "gone"), translated.
REFUSALS = {
    "not_resendable": _("Only failed, undeliverable, expired or unclear messages can be resent."),
    "appointment_cancelled": _("The appointment is no longer scheduled."),
    "appointment_started": _("The appointment has already begun."),
    "other_person": _("The appointment now belongs to another person."),
    "restricted": _("Processing of this person is restricted (GDPR Art. 18)."),
    "no_consent": _("There is no (longer any) consent for this channel."),
    "no_recipient": _("The customer has no usable mobile number or e-mail address."),
    "gone": _("The message no longer exists."),
}

# Labels of ``AttemptOutcome`` and ``ReplyOutcome`` values (English msgids; the models' are German).
ATTEMPT_OUTCOMES = {
    "sending": _("in progress"),
    "sent": _("accepted by the provider"),
    "retry": _("not sent, will retry"),
    "unknown": _("outcome unknown"),
    "failed": _("failed"),
    "skipped": _("not sent (checks)"),
}
REPLY_OUTCOMES = {
    "confirm": _("confirmed the appointment"),
    "cancel": _("cancelled the appointment"),
    "stop": _("unsubscribed (STOP)"),
    "unknown": _("for staff to read"),
}


@dataclass(frozen=True)
class Filters:
    """The list's filters; empty values filter nothing. ``date_from``/``date_to`` are local days
    (inclusive) of the due instant; ``q`` searches customers."""

    status: str = ""
    channel: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""


@dataclass(frozen=True)
class Page:
    """One page of the log; ``newer``/``older`` are cursors (``"<iso>|<id>"``) or "" at an end."""

    messages: list[OutboundMessage]
    newer: str
    older: str


def filtered(filters: Filters) -> QuerySet[OutboundMessage]:
    """The messages matching ``filters`` (unordered)."""
    query = OutboundMessage.objects.all()
    if filters.status:
        query = query.filter(status=filters.status)
    if filters.channel:
        query = query.filter(channel=filters.channel)
    tz = timezone.get_current_timezone()
    if filters.date_from:
        query = query.filter(due_at__gte=dt.datetime.combine(filters.date_from, dt.time(0), tzinfo=tz))
    if filters.date_to:
        end = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
        query = query.filter(due_at__lt=end)
    if filters.q.strip():
        query = query.filter(customer_id__in=_customer_ids(filters.q.strip()))
    return query


def _customer_ids(text: str) -> list[int]:
    condition = Q(customer_number=text) | Q(email__iexact=text)
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) >= 4:
        condition |= Q(mobile_e164__endswith=digits[-9:])
    words = text.split()
    if words:
        names = Q()
        for word in words:
            names &= Q(given_name__icontains=word) | Q(family_name__icontains=word)
        condition |= names
    return list(Customer.objects.filter(condition).values_list("pk", flat=True)[:SEARCH_CUSTOMER_LIMIT])


def _cursor(message: OutboundMessage) -> str:
    return f"{message.due_at.isoformat()}|{message.pk}"


def _parse_cursor(cursor: str) -> tuple[dt.datetime, int] | None:
    try:
        instant, pk = cursor.split("|")
        return dt.datetime.fromisoformat(instant), int(pk)
    except ValueError:
        return None


def page(filters: Filters, older: str = "", newer: str = "") -> Page:
    """The page after cursor ``older`` (or before cursor ``newer``; else the newest), ``PAGE_SIZE``
    rows, newest first. A malformed cursor is ignored (first page). Two queries."""
    query = filtered(filters).select_related("customer", "appointment__location", "rule")
    before, after = _parse_cursor(older), _parse_cursor(newer)
    if after is not None:
        at, pk = after
        rows = list(
            query.filter(Q(due_at__gt=at) | Q(due_at=at, pk__gt=pk)).order_by("due_at", "pk")[: PAGE_SIZE + 1]
        )
        more_newer = len(rows) > PAGE_SIZE
        messages = list(reversed(rows[:PAGE_SIZE]))
        return Page(messages, _cursor(messages[0]) if more_newer and messages else "", _older_of(messages))
    if before is not None:
        at, pk = before
        query = query.filter(Q(due_at__lt=at) | Q(due_at=at, pk__lt=pk))
    rows = list(query.order_by("-due_at", "-pk")[: PAGE_SIZE + 1])
    messages = rows[:PAGE_SIZE]
    newer_cursor = _cursor(messages[0]) if before is not None and messages else ""
    return Page(messages, newer_cursor, _cursor(messages[-1]) if len(rows) > PAGE_SIZE else "")


def _older_of(messages: list[OutboundMessage]) -> str:
    return _cursor(messages[-1]) if messages else ""


@dataclass(frozen=True)
class Entry:
    """One line of a message's timeline: ``kind`` is status, attempt, report or reply; ``item`` the
    row (StatusEvent, DeliveryAttempt, DeliveryReport, InboundMessage)."""

    at: dt.datetime
    kind: str
    item: Any
    label: str = ""


def timeline(message: OutboundMessage) -> list[Entry]:
    """Everything that happened to ``message``, oldest first. Four queries."""
    entries = [Entry(e.at, "status", e) for e in StatusEvent.objects.filter(message=message)]
    attempts = list(DeliveryAttempt.objects.filter(message=message))
    entries += [
        Entry(a.started_at, "attempt", a, str(ATTEMPT_OUTCOMES.get(a.outcome, a.outcome))) for a in attempts
    ]
    reports = DeliveryReport.objects.filter(attempt__in=attempts).select_related("attempt")
    entries += [Entry(r.occurred_at or r.received_at, "report", r) for r in reports]
    replies = InboundMessage.objects.filter(message=message)
    entries += [
        Entry(r.received_at, "reply", r, str(REPLY_OUTCOMES.get(r.outcome, r.outcome))) for r in replies
    ]
    order = {"status": 0, "attempt": 1, "report": 2, "reply": 3}
    return sorted(entries, key=lambda e: (e.at, order[e.kind]))


def detail(message_id: int) -> OutboundMessage:
    """The message with customer, appointment, location and rule. Raises DoesNotExist."""
    return OutboundMessage.objects.select_related("customer", "appointment__location", "rule").get(
        pk=message_id
    )


def can_resend(message: OutboundMessage) -> bool:
    """True when the message's status allows a resend (the other checks run on the click)."""
    return message.status in resends.RESENDABLE


def resendable_ids(filters: Filters) -> list[int]:
    """Ids of the filtered messages that can be resent (failed, undeliverable, expired, unclear),
    newest first, at most ``BATCH_LIMIT + 1`` (one more tells the caller there are too many)."""
    query = filtered(filters).filter(status__in=resends.RESENDABLE).order_by("-due_at", "-pk")
    return list(query.values_list("pk", flat=True)[: resends.BATCH_LIMIT + 1])


def start_bulk_resend(filters: Filters, *, actor_id: int | None, now: dt.datetime) -> ResendBatch:
    """Start the background job that resends the filtered failed messages. Raises ValueError when
    there are more than ``BATCH_LIMIT`` (narrow the filter)."""
    batch = resends.start_batch(resendable_ids(filters), actor_id=actor_id, now=now)
    if batch.total:
        resends.resend_batch_task.enqueue(batch.pk)
    return batch


@dataclass(frozen=True)
class Progress:
    """A bulk resend's progress for the page: ``percent`` 0–100, ``refused`` as (sentence, count)."""

    batch: ResendBatch
    percent: int
    refused: list[tuple[str, int]]

    @property
    def finished(self) -> bool:
        """True once every message was handled."""
        return self.batch.finished_at is not None


def progress(batch_id: int) -> Progress:
    """The progress of batch ``batch_id``. Raises ResendBatch.DoesNotExist."""
    batch = ResendBatch.objects.get(pk=batch_id)
    percent = 100 if not batch.total else round(100 * batch.done_count / batch.total)
    refused = [(str(REFUSALS.get(code, code)), count) for code, count in sorted(batch.refused.items())]
    return Progress(batch, percent, refused)


STATUS_CHOICES = [status.value for status in MessageStatus]
