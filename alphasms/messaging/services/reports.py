"""Apply delivery reports to attempts and messages; status only moves forward (DESIGN.md invariant 3).

A report is stored once (``dedupe_key``); a repeat is ignored. A report for an unknown reference is
dropped with a log line (the webhook still answers 200 so the provider stops retrying).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from alphasms.messaging.gateways.base import DeliveryStatus, DlrEvent
from alphasms.messaging.models import (
    PENDING,
    STATUS_RANK,
    AttemptOutcome,
    AttemptPart,
    DeliveryAttempt,
    DeliveryReport,
    MessageStatus,
)
from alphasms.messaging.services.lifecycle import set_status

log = logging.getLogger("alphasms.reports")

# Our closed DLR vocabulary → the message status it leads to (None: no change to the message).
_MESSAGE_STATUS: dict[DeliveryStatus, MessageStatus | None] = {
    DeliveryStatus.ACCEPTED: None,
    DeliveryStatus.QUEUED: None,
    DeliveryStatus.SENT: None,
    DeliveryStatus.UNKNOWN: None,
    DeliveryStatus.DELIVERED: MessageStatus.DELIVERED,
    DeliveryStatus.UNDELIVERED: MessageStatus.UNDELIVERED,
    DeliveryStatus.REJECTED: MessageStatus.UNDELIVERED,
    DeliveryStatus.FAILED: MessageStatus.UNDELIVERED,
    DeliveryStatus.EXPIRED: MessageStatus.EXPIRED,
}


# Forward-only rank of a part's status: a report never moves a part back.
_PART_RANK = {
    DeliveryStatus.ACCEPTED: 0, DeliveryStatus.QUEUED: 0, DeliveryStatus.UNKNOWN: 0, DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2, DeliveryStatus.UNDELIVERED: 2, DeliveryStatus.EXPIRED: 2,
    DeliveryStatus.REJECTED: 2, DeliveryStatus.FAILED: 2,
}  # fmt: skip


def _find_attempt(gateway: str, event: DlrEvent) -> tuple[DeliveryAttempt | None, AttemptPart | None]:
    qs = DeliveryAttempt.objects.select_related("message").filter(gateway=gateway)
    if event.gateway_message_id:
        part = (
            AttemptPart.objects.select_related("attempt__message")
            .filter(attempt__gateway=gateway, gateway_message_id=event.gateway_message_id)
            .first()
        )
        if part is not None:
            return part.attempt, part
    if event.reference:
        try:
            return qs.filter(pk=uuid.UUID(event.reference)).first(), None
        except ValueError:
            return None, None  # not one of our references
    if event.gateway_message_id:
        return qs.filter(gateway_message_id=event.gateway_message_id).first(), None
    return None, None


def _combined(attempt: DeliveryAttempt, part: AttemptPart, status: DeliveryStatus) -> DeliveryStatus:
    """Record ``status`` on ``part`` (forward only) and return the whole message's status: a failed
    part fails it; it is delivered only when every part is; otherwise it is still on its way."""
    if _PART_RANK[status] > _PART_RANK[DeliveryStatus(part.status)]:
        part.status = status.value
        part.save(update_fields=["status"])
    statuses = [DeliveryStatus(s) for s in attempt.parts.values_list("status", flat=True)]
    for failure in (
        DeliveryStatus.EXPIRED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.REJECTED,
        DeliveryStatus.FAILED,
    ):
        if failure in statuses:
            return failure
    if all(s == DeliveryStatus.DELIVERED for s in statuses):
        return DeliveryStatus.DELIVERED
    return DeliveryStatus.SENT


def _dedupe_key(gateway: str, event: DlrEvent) -> str:
    raw = json.dumps(event.raw, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{gateway}|{event.reference}|{event.gateway_message_id}|{raw}".encode())
    return digest.hexdigest()


def apply_reports(gateway: str, events: Iterable[DlrEvent]) -> int:
    """Store each report once and move its message forward. Returns how many were new and matched.

    Side effects: inserts DeliveryReport rows, may update OutboundMessage.status (sent → delivered,
    undelivered or expired; never backwards: a late "sent" after "delivered" changes nothing).
    """
    applied = 0
    for event in events:
        attempt, part = _find_attempt(gateway, event)
        if attempt is None:
            log.info("dlr for unknown reference gateway=%s", gateway)
            continue
        try:
            with transaction.atomic():
                DeliveryReport.objects.create(
                    attempt=attempt,
                    status=event.status.value,
                    provider_status=event.provider_status,
                    provider_error_code=event.provider_error_code,
                    occurred_at=event.occurred_at,
                    received_at=timezone.now(),
                    raw=dict(event.raw),
                    dedupe_key=_dedupe_key(gateway, event),
                )
                status = _combined(attempt, part, event.status) if part is not None else event.status
                _advance(attempt, status, event.provider_status)
        except IntegrityError:
            continue  # the same report again: one event (invariant 4)
        applied += 1
    return applied


def _advance(attempt: DeliveryAttempt, status: DeliveryStatus, provider_status: str) -> None:
    target = _MESSAGE_STATUS[status]
    message = attempt.message
    if attempt.outcome == AttemptOutcome.UNKNOWN:
        # A report proves the request reached the provider: the unknown attempt is resolved as sent,
        # and a resend still waiting in the queue is no longer needed.
        attempt.outcome = AttemptOutcome.SENT
        attempt.save(update_fields=["outcome"])
        if message.status in PENDING or message.status == MessageStatus.UNKNOWN:
            set_status(message, target or MessageStatus.SENT, note="DLR resolved unknown outcome")
        return
    if target is None:
        return
    current_rank = STATUS_RANK.get(MessageStatus(message.status), 0)
    if current_rank == 0 or STATUS_RANK[target] <= current_rank:
        return  # not sent as far as we know, or already final: never move backwards
    set_status(message, target, note=f"DLR {provider_status}".strip())
