"""Every status change of a message goes through ``set_status`` or ``transition`` (DESIGN.md invariant 4).

``set_status`` is for a caller that owns the row: it holds the row lock (``select_for_update``) or the
worker's claim (status ``sending`` under its lease). Everyone else — the planner, imports, consent
withdrawal, restriction, staff edits — changes a message it read a moment ago and may have lost to a
worker's claim since; it uses ``transition``, which writes only while the row is still in the status it
was read in (a conditional UPDATE), so a claimed message is never turned back into ``planned`` or
``cancelled`` under the worker (invariant 3: two workers never send the same message).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection, transaction
from django.utils import timezone

from alphasms.messaging.models import PENDING, MessageStatus, OutboundMessage, StatusEvent
from alphasms.privacy.statistics import count_status

T = TypeVar("T")

#: Transitions per SQLite transaction in ``in_batches``.
BATCH = 100


def set_status(
    message: OutboundMessage,
    status: MessageStatus,
    *,
    note: str = "",
    at: datetime | None = None,
    **fields: Any,
) -> None:
    """Set ``message.status`` (and any extra ``fields``), save, and record a StatusEvent at ``at`` (UTC).

    Unconditional: only for a row the caller owns (locked with ``select_for_update``, or claimed by
    this worker); otherwise use ``transition``. Side effects: one UPDATE of the message, one INSERT of
    the event. Call inside the transaction that made the decision, so state and history commit together.
    """
    at = at or timezone.now()
    message.status = status
    message.status_changed_at = at
    for name, value in fields.items():
        setattr(message, name, value)
    message.save(update_fields=["status", "status_changed_at", *fields])
    StatusEvent.objects.create(message=message, at=at, status=status, note=note[:500])
    count_status(message, status)


def transition(
    message: OutboundMessage,
    *,
    from_statuses: Iterable[str],
    to: MessageStatus,
    note: str = "",
    at: datetime | None = None,
    **fields: Any,
) -> bool:
    """Move ``message`` to status ``to`` (with ``fields``) only while its row is still in one of
    ``from_statuses``; returns whether it did.

    One ``UPDATE … WHERE id = %s AND status IN (…)``: on PostgreSQL (READ COMMITTED) a claim committed
    after the caller read the row makes it match nothing (a claim still in progress is waited for, then
    the condition is checked against its result); on SQLite the UPDATE runs under the write lock. Only
    when the row changed are the in-memory ``message`` updated, a StatusEvent recorded at ``at`` (UTC,
    default now) and the statistics counted — in the same transaction as the UPDATE (invariant 4).
    A message left alone was taken by someone else (a worker's claim, a staff hold); the worker checks a
    claimed message again before sending (invariant 2), so nothing stale goes out.
    """
    at = at or timezone.now()
    expected = list(dict.fromkeys(from_statuses))
    with transaction.atomic(savepoint=False):
        changed = OutboundMessage.objects.filter(pk=message.pk, status__in=expected).update(
            status=to, status_changed_at=at, **fields
        )
        if not changed:
            return False
        message.status = to
        message.status_changed_at = at
        for name, value in fields.items():
            setattr(message, name, value)
        StatusEvent.objects.create(message=message, at=at, status=to, note=note[:500])
        count_status(message, to)
    return True


def in_batches(items: Iterable[T], act: Callable[[T], int], size: int = BATCH) -> int:
    """``act`` on every item; returns the sum of its results.

    On SQLite ``size`` items share one (``BEGIN IMMEDIATE``) transaction: one commit (fsync) per batch
    instead of one per message, and the write lock is held for one batch only, so a worker's claim
    waits at most that long. On PostgreSQL each ``act`` commits alone (``transition``): a transaction
    holding the row locks of many messages could deadlock with a web request changing some of them in
    another order. Inside an outer transaction everything joins it."""
    batched = connection.vendor == "sqlite" and not connection.in_atomic_block
    pending = list(items)
    total = 0
    for start in range(0, len(pending), size):
        chunk = pending[start : start + size]
        if batched:
            with transaction.atomic():
                total += sum(act(item) for item in chunk)
        else:
            total += sum(act(item) for item in chunk)
    return total


def cancel_pending(messages: Any, note: str) -> int:
    """Cancel every still-pending message of a queryset; returns the count. Used when an appointment is
    cancelled or moved, consent is withdrawn, or a person is restricted or erased.

    Each message is cancelled only while it is still pending (``transition``): one a worker claimed
    after it was read stays ``sending``, and the worker's send-time check cancels it (invariant 2)."""
    pending = list(messages.filter(status__in=PENDING))

    def cancel(message: OutboundMessage) -> int:
        return int(transition(message, from_statuses=PENDING, to=MessageStatus.CANCELLED, note=note))

    return in_batches(pending, cancel)


def record(message: OutboundMessage, note: str) -> StatusEvent:
    """Record a note in the message's history without changing its status."""
    return StatusEvent.objects.create(
        message=message, at=timezone.now(), status=message.status, note=note[:500]
    )
