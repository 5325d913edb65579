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


def _find_attempt(gateway: str, event: DlrEvent) -> DeliveryAttempt | None:
    qs = DeliveryAttempt.objects.select_related("message").filter(gateway=gateway)
    if event.reference:
        try:
            return qs.filter(pk=uuid.UUID(event.reference)).first()
        except ValueError:
            return None  # not one of our references
    if event.gateway_message_id:
        return qs.filter(gateway_message_id=event.gateway_message_id).first()
    return None


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
        attempt = _find_attempt(gateway, event)
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
                _advance(attempt, event)
        except IntegrityError:
            continue  # the same report again: one event (invariant 4)
        applied += 1
    return applied


def _advance(attempt: DeliveryAttempt, event: DlrEvent) -> None:
    target = _MESSAGE_STATUS[event.status]
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
    set_status(message, target, note=f"DLR {event.provider_status}".strip())
