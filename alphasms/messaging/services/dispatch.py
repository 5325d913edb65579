"""The dispatch worker's single step: recover expired leases, claim due messages, check, send, record.

Follows DESIGN.md's lifecycle and invariants 2–4 (shape of hc's ``sendalerts``):

1. Leases of messages a dead worker held are recovered: with an attempt that was in flight the outcome
   is ``unknown`` (the request may have left); without one the message simply goes back to the queue.
2. Due rows are claimed in one short transaction (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL;
   ``BEGIN IMMEDIATE`` serialises the claim on SQLite), so two workers never hold the same message.
3. Each claimed message is checked again (appointment unchanged and not started, person not
   restricted, consent holds, local time inside the sending window), then one attempt is committed
   *before* the provider call and its result *after* it.
4. Transient errors retry with exponential backoff (or the provider's Retry-After); permanent ones
   fail with a staff sentence; ambiguous ones become ``unknown`` and the rule's policy resolves them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from alphasms.appointments.models import AppointmentStatus, Channel, UnknownOutcomePolicy
from alphasms.appointments.services.planning import next_window_opening, reassign, recipient_for, replan
from alphasms.conf import app_settings
from alphasms.licensing import evaluation
from alphasms.messaging import email_providers
from alphasms.messaging.gateways.base import Gateway, OutboundSms, SendResult
from alphasms.messaging.gateways.errors import (
    GatewayError,
    GatewayMisconfigured,
    GatewayUnavailable,
    RateLimited,
)
from alphasms.messaging.models import (
    CLAIMABLE,
    AttemptOutcome,
    AttemptPart,
    DeliveryAttempt,
    MessageStatus,
    OutboundMessage,
    StatusEvent,
)
from alphasms.messaging.phone import redact
from alphasms.messaging.services.cost import over_budget, record_usage, sms_cost
from alphasms.messaging.services.lifecycle import record, set_status
from alphasms.messaging.services.routing import GatewayPool, Route
from alphasms.privacy.services import has_consent

log = logging.getLogger("alphasms.dispatch")

BACKOFF_BASE_S = 30
BACKOFF_MAX_S = 3600


def backoff_s(attempt_count: int) -> int:
    """Seconds to wait before try ``attempt_count + 1``: 30, 60, 120, … capped at one hour."""
    return int(min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempt_count - 1)))


def default_worker_id() -> str:
    """``host:pid``, recorded on claimed rows so a message's log shows which worker held it."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class DispatchStats:
    """Counts of one ``run_once`` step, by attempt outcome and check decision."""

    claimed: int = 0
    recovered: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, key: str) -> None:
        self.outcomes[key] = self.outcomes.get(key, 0) + 1


class Dispatcher:
    """Claims and sends due messages. ``send_email`` is injectable for tests; SMS goes through the
    configured gateway (``ALPHASMS_SMS_GATEWAY``)."""

    def __init__(
        self,
        worker_id: str | None = None,
        *,
        sms_gateway: Gateway | None = None,
        send_email: Callable[[OutboundMessage, str], str] | None = None,
    ) -> None:
        self.worker_id = worker_id or default_worker_id()
        self._sms_gateway = sms_gateway
        self._send_email = send_email
        self._pool: GatewayPool | None = None
        self.stopping = threading.Event()

    @property
    def pool(self) -> GatewayPool:
        """The SMS gateways of this worker (built on first use, so settings are read at call time)."""
        if self._pool is None:
            self._pool = GatewayPool(self._sms_gateway)
        return self._pool

    # -- step ------------------------------------------------------------------------------------
    def run_once(self, now: dt.datetime | None = None) -> DispatchStats:
        """Recover leases, claim one batch and send it (bounded concurrency). Returns counts."""
        stats = DispatchStats()
        stats.recovered = self.recover_expired_leases(now or timezone.now())
        ids = self.claim(now or timezone.now(), app_settings.WORKER_BATCH)
        stats.claimed = len(ids)
        concurrency = app_settings.WORKER_CONCURRENCY
        if concurrency <= 1 or (
            connection.vendor == "sqlite" and connection.settings_dict["NAME"] == ":memory:"
        ):
            for message_id in ids:
                stats.count(self._process_or_release(message_id))
        else:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                for outcome in pool.map(self._process_in_thread, ids):
                    stats.count(outcome)
        return stats

    def _process_in_thread(self, message_id: int) -> str:
        try:
            return self._process_or_release(message_id)
        finally:
            close_old_connections()
            connection.close()

    def _process_or_release(self, message_id: int) -> str:
        if self.stopping.is_set():
            self.release(message_id)
            return "released"
        return self.process(message_id)

    def claim(self, now: dt.datetime, limit: int) -> list[int]:
        """Atomically mark up to ``limit`` due messages ``sending`` under this worker's lease."""
        lease_until = now + dt.timedelta(seconds=app_settings.LEASE_S)
        with transaction.atomic():
            ids = list(
                OutboundMessage.objects.select_for_update(skip_locked=True)
                .filter(status__in=CLAIMABLE, next_attempt_at__lte=now)
                .order_by("next_attempt_at", "id")
                .values_list("id", flat=True)[:limit]
            )
            if ids:
                OutboundMessage.objects.filter(id__in=ids, status__in=CLAIMABLE).update(
                    status=MessageStatus.SENDING,
                    status_changed_at=now,
                    lease_until=lease_until,
                    claimed_by=self.worker_id,
                )
                StatusEvent.objects.bulk_create(
                    StatusEvent(message_id=i, at=now, status=MessageStatus.SENDING, note=self.worker_id)
                    for i in ids
                )
        return ids

    def release(self, message_id: int) -> None:
        """Give a claimed, not yet attempted message back to the queue (shutdown)."""
        with transaction.atomic():
            message = OutboundMessage.objects.select_for_update().get(pk=message_id)
            if message.status == MessageStatus.SENDING and message.claimed_by == self.worker_id:
                set_status(message, MessageStatus.QUEUED, note="released on shutdown", lease_until=None)

    def recover_expired_leases(self, now: dt.datetime) -> int:
        """Return messages whose worker died to the queue; an in-flight attempt becomes ``unknown``."""
        recovered = 0
        expired = OutboundMessage.objects.filter(status=MessageStatus.SENDING, lease_until__lt=now)
        for message_id in expired.values_list("id", flat=True):
            with transaction.atomic():
                message = (
                    OutboundMessage.objects.select_for_update().select_related("rule").get(pk=message_id)
                )
                if message.status != MessageStatus.SENDING:
                    continue
                in_flight = message.attempts.filter(outcome=AttemptOutcome.SENDING)
                if in_flight.exists():
                    in_flight.update(
                        outcome=AttemptOutcome.UNKNOWN, finished_at=now, error_code="lease_expired"
                    )
                    # The lease already waited out the provider call: resend at once.
                    self._resolve_unknown(
                        message, now, "worker stopped during the provider call", retry_in_s=0
                    )
                else:
                    set_status(
                        message, MessageStatus.QUEUED, note="lease expired before sending", lease_until=None
                    )
            recovered += 1
        return recovered

    # -- one message ------------------------------------------------------------------------------
    def process(self, message_id: int) -> str:
        """Check and send one claimed message; returns the outcome key for the stats."""
        message = OutboundMessage.objects.select_related(
            "appointment__location", "appointment__customer", "rule", "customer"
        ).get(pk=message_id)
        now = timezone.now()
        decision = self.check(message, now)
        if decision is not None:
            return decision
        route = self.pool.choose(message) if message.channel == Channel.SMS else None
        if message.channel == Channel.SMS and route is None:
            return self._wait_for_gateway(message, now)
        gateway_slug = route.gateway.slug if route else email_providers.configured_slug()
        slot = evaluation.reserve_send(message.channel, gateway_slug, now)  # no licence: monthly limit
        if slot is None:
            return evaluation.defer_over_limit(message, now)
        attempt = DeliveryAttempt.objects.create(
            message=message,
            gateway=gateway_slug,
            started_at=now,
            segments=message.segments,
        )
        message.attempt_count += 1
        message.gateway = attempt.gateway
        message.save(update_fields=["attempt_count", "gateway"])
        started = time.monotonic()
        try:
            result = self._call_provider(message, attempt, route)
        except GatewayMisconfigured as exc:
            evaluation.release_send(slot)
            return self._misconfigured(message, attempt, exc)
        except GatewayError as exc:
            if not exc.ambiguous:  # surely not sent: it does not use up an evaluation message
                evaluation.release_send(slot)
            return self._failed_call(message, attempt, exc, started)
        with transaction.atomic():
            attempt.outcome = AttemptOutcome.SENT
            attempt.finished_at = timezone.now()
            attempt.gateway_message_id = result.gateway_message_id
            segments = attempt.segments = result.segments
            cost = sms_cost(message.recipient, segments) if message.channel == Channel.SMS else None
            attempt.cost_micros, attempt.currency = (cost.micros, cost.currency) if cost else (None, "")
            record_usage(message, segments, cost, attempt.finished_at)
            AttemptPart.objects.bulk_create(
                AttemptPart(attempt=attempt, sequence=n, gateway_message_id=part_id)
                for n, part_id in enumerate(result.part_ids, 1)
            )
            attempt.duration_ms = int((time.monotonic() - started) * 1000)
            attempt.save()
            set_status(message, MessageStatus.SENT, note=attempt.gateway, lease_until=None, error_code="")
        self._log(message, attempt, "sent")
        return "sent"

    def check(self, message: OutboundMessage, now: dt.datetime) -> str | None:
        """Invariant 2: returns None when the message may go out now, else the decision taken
        (cancelled, deferred or re-planned), already recorded."""
        appointment, customer, rule = message.appointment, message.customer, message.rule
        if appointment.customer_id != message.customer_id:
            # The entry now names another person (or nobody): this text, consent and number were the
            # first person's. Re-plan for the new person; their own consent is checked on the next claim.
            return "replanned" if reassign(message, now) else "cancelled"
        reason = ""
        if appointment.status != AppointmentStatus.SCHEDULED:
            reason = "appointment cancelled"
        elif now >= appointment.start_at:
            reason = "stale: the appointment has started"
        elif customer.restricted_at is not None:
            reason = "processing restricted (GDPR Art. 18)"
        elif not has_consent(customer, message.channel):
            reason = "no consent for this channel"
        if reason:
            set_status(message, MessageStatus.CANCELLED, note=reason, lease_until=None)
            return "cancelled"
        if appointment.start_at != message.occurrence_start_at:
            replan(message, now)
            return "replanned"
        recipient = recipient_for(appointment, message.channel)
        if not recipient:
            set_status(
                message,
                MessageStatus.FAILED,
                note="no usable recipient",
                lease_until=None,
                error_code="no_recipient",
                user_message="Keine nutzbare Mobilnummer bzw. E-Mail-Adresse beim Kunden hinterlegt.",
            )
            return "failed"
        if recipient != message.recipient:
            message.recipient = recipient  # corrected since planning (GDPR Art. 16)
            message.save(update_fields=["recipient"])
        opening = next_window_opening(now, rule, appointment.location.tz)
        if opening is not None:
            if opening >= appointment.start_at:
                set_status(
                    message,
                    MessageStatus.CANCELLED,
                    note="sending window closed until the start",
                    lease_until=None,
                )
                return "cancelled"
            set_status(
                message,
                MessageStatus.PLANNED,
                note="outside the sending window",
                next_attempt_at=opening,
                lease_until=None,
            )
            return "deferred"
        if over_budget(message, now):
            return self._over_budget(message)
        return None

    def _over_budget(self, message: OutboundMessage) -> str | None:
        """The location's monthly SMS budget is spent: send by e-mail where the person has an address
        and consented, else hold the SMS for staff. Returns None to go on sending (as e-mail)."""
        customer = message.customer
        if customer.email and has_consent(customer, Channel.EMAIL):
            english = customer.language.lower().startswith("en")
            message.channel, message.recipient, message.segments = Channel.EMAIL, customer.email, 0
            message.subject = "Appointment reminder" if english else "Terminerinnerung"
            message.save(update_fields=["channel", "recipient", "segments", "subject"])
            record(message, "monthly SMS budget spent: sent by e-mail instead")
            return None
        set_status(
            message,
            MessageStatus.HELD,
            note="monthly SMS budget spent",
            lease_until=None,
            error_code="budget_exhausted",
            user_message="Das SMS-Budget des Standorts für diesen Monat ist ausgeschöpft; die SMS wartet.",
        )
        return "held"

    def _wait_for_gateway(self, message: OutboundMessage, now: dt.datetime) -> str:
        """Every usable gateway's breaker is open: try again after the cooldown, without an attempt."""
        retry_at = now + dt.timedelta(seconds=self.pool.primary.breaker.cooldown_s)
        set_status(
            message,
            MessageStatus.RETRY_WAIT,
            note="gateway failing (circuit breaker open)",
            next_attempt_at=retry_at,
            lease_until=None,
            error_code="gateway_unavailable",
            user_message=GatewayUnavailable.default_user_message,
        )
        return "retry_wait"

    def _call_provider(
        self, message: OutboundMessage, attempt: DeliveryAttempt, route: Route | None
    ) -> SendResult:
        if route is None:
            send = self._send_email or _send_email_via_smtp
            return SendResult(gateway_message_id=send(message, str(attempt.id)), segments=0)
        sms = OutboundSms(
            reference=str(attempt.id),
            to_e164=message.recipient,
            text=message.body,
            sender_id=message.sender_id,
            segments=message.segments,
        )
        with route.slots:  # the gateway's concurrency limit
            route.pacer.wait()
            try:
                result = route.gateway.send(sms)
            except GatewayMisconfigured:
                raise
            except GatewayError as exc:
                route.breaker.record(exc)
                if isinstance(exc, RateLimited):
                    route.pacer.hold_off(exc.retry_after_s or BACKOFF_BASE_S)
                raise
        route.breaker.record(None)
        return result

    def _failed_call(
        self, message: OutboundMessage, attempt: DeliveryAttempt, exc: GatewayError, started: float
    ) -> str:
        now = timezone.now()
        if exc.ambiguous:
            outcome, key = AttemptOutcome.UNKNOWN, "unknown"
        elif exc.permanent or message.attempt_count >= app_settings.MAX_ATTEMPTS:
            outcome, key = AttemptOutcome.FAILED, "failed"
        else:
            outcome, key = AttemptOutcome.RETRY, "retry_wait"
        with transaction.atomic():
            attempt.outcome = outcome
            attempt.finished_at = now
            attempt.error_code = exc.code
            attempt.user_message = exc.user_message[:500]
            attempt.provider_code = exc.provider_code
            attempt.http_status = exc.http_status
            attempt.duration_ms = int((time.monotonic() - started) * 1000)
            attempt.save()
            fields: dict[str, Any] = {
                "error_code": exc.code,
                "user_message": exc.user_message[:500],
                "lease_until": None,
            }
            if key == "unknown":  # it may have reached the provider: it may cost
                cost = (
                    sms_cost(message.recipient, message.segments) if message.channel == Channel.SMS else None
                )
                attempt.cost_micros, attempt.currency = (cost.micros, cost.currency) if cost else (None, "")
                attempt.save(update_fields=["cost_micros", "currency"])
                record_usage(message, message.segments, cost, now)
                self._resolve_unknown(message, now, str(exc), **fields)
            elif key == "failed":
                note = "permanent error" if exc.permanent else "attempts exhausted"
                set_status(message, MessageStatus.FAILED, note=f"{note}: {exc.code}", **fields)
            else:
                wait_s = exc.retry_after_s if isinstance(exc, RateLimited) and exc.retry_after_s else None
                retry_at = now + dt.timedelta(seconds=wait_s or backoff_s(message.attempt_count))
                set_status(
                    message, MessageStatus.RETRY_WAIT, note=exc.code, next_attempt_at=retry_at, **fields
                )
        self._log(message, attempt, key)
        return key

    def _resolve_unknown(
        self,
        message: OutboundMessage,
        now: dt.datetime,
        note: str,
        retry_in_s: int = BACKOFF_BASE_S,
        **fields: object,
    ) -> None:
        """Record ``unknown``, then apply the rule's policy: resend (flagged) after ``retry_in_s``
        seconds, or hold for staff."""
        set_status(message, MessageStatus.UNKNOWN, note=note[:500], at=now, **fields)
        if message.rule.unknown_outcome_policy == UnknownOutcomePolicy.HOLD:
            set_status(message, MessageStatus.HELD, note="held for staff (unknown outcome)", at=now)
        elif message.attempt_count >= app_settings.MAX_ATTEMPTS:
            set_status(message, MessageStatus.FAILED, note="attempts exhausted after unknown outcome", at=now)
        else:
            set_status(
                message,
                MessageStatus.QUEUED,
                note="resend after unknown outcome (possible duplicate)",
                at=now,
                possible_duplicate=True,
                next_attempt_at=now + dt.timedelta(seconds=retry_in_s),
            )

    def _misconfigured(
        self, message: OutboundMessage, attempt: DeliveryAttempt, exc: GatewayMisconfigured
    ) -> str:
        # Not a provider error: nothing left the machine. The message waits, the log names the setting.
        now = timezone.now()
        log.error("gateway misconfigured: %s", exc)
        with transaction.atomic():
            DeliveryAttempt.objects.filter(pk=attempt.pk).update(
                outcome=AttemptOutcome.RETRY,
                finished_at=now,
                error_code="misconfigured",
                user_message=str(exc)[:500],
            )
            set_status(
                message,
                MessageStatus.RETRY_WAIT,
                note="gateway misconfigured",
                lease_until=None,
                error_code="misconfigured",
                user_message=str(exc)[:500],
                next_attempt_at=now + dt.timedelta(seconds=300),
            )
        return "misconfigured"

    def _log(self, message: OutboundMessage, attempt: DeliveryAttempt, outcome: str) -> None:
        recipient = (
            redact(message.recipient) if message.channel == Channel.SMS else f"customer:{message.customer_id}"
        )
        log.info(
            "attempt message=%s gateway=%s outcome=%s to=%s duration_ms=%s",
            message.pk,
            attempt.gateway,
            outcome,
            recipient,
            attempt.duration_ms,
        )


def _send_email_via_smtp(message: OutboundMessage, reference: str) -> str:
    """Send an e-mail message through Django's SMTP backend; returns the Message-ID."""
    from alphasms.messaging.services.email_channel import send_reminder_email

    return send_reminder_email(message, reference)
