"""Every status change of a message goes through ``set_status`` (DESIGN.md invariant 4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from alphasms.messaging.models import MessageStatus, OutboundMessage, StatusEvent
from alphasms.privacy.statistics import count_status


def set_status(
    message: OutboundMessage,
    status: MessageStatus,
    *,
    note: str = "",
    at: datetime | None = None,
    **fields: Any,
) -> None:
    """Set ``message.status`` (and any extra ``fields``), save, and record a StatusEvent at ``at`` (UTC).

    Side effects: one UPDATE of the message, one INSERT of the event. Call inside the transaction that
    made the decision, so state and history commit together.
    """
    at = at or timezone.now()
    message.status = status
    message.status_changed_at = at
    for name, value in fields.items():
        setattr(message, name, value)
    message.save(update_fields=["status", "status_changed_at", *fields])
    StatusEvent.objects.create(message=message, at=at, status=status, note=note[:500])
    count_status(message, status)


def cancel_pending(messages: Any, note: str) -> int:
    """Cancel every still-pending message of a queryset; returns the count. Used when an appointment is
    cancelled or moved, consent is withdrawn, or a person is restricted or erased."""
    from alphasms.messaging.models import PENDING

    count = 0
    for message in messages.filter(status__in=PENDING):
        set_status(message, MessageStatus.CANCELLED, note=note)
        count += 1
    return count


def record(message: OutboundMessage, note: str) -> StatusEvent:
    """Record a note in the message's history without changing its status."""
    return StatusEvent.objects.create(
        message=message, at=timezone.now(), status=message.status, note=note[:500]
    )
