"""Staff resend a message that did not arrive: one at a time, or all of a filtered list in a batch.

A resend puts the *same* message (DESIGN.md invariant 1: one per occurrence, rule and channel) back into
the queue; the worker then makes a new ``DeliveryAttempt`` after the send-time checks of invariant 2.
Before queueing, the checks that would make a resend pointless are made here too, so staff get the
reason at once: the appointment is still scheduled and has not started, it still belongs to the
message's person, the person is not restricted (GDPR Art. 18), consent for the channel holds (Art. 7)
and there is a usable number or address.

A bulk resend is one ``ResendBatch`` row and one background job (``resend_batch_task``, Django's Tasks API,
run by the worker's job runner in ``alphasms.jobs``) that works through it in chunks, committing its
progress, so the staff page can poll it. The job only queues messages; the worker sends them as usual
(never one job per message: DESIGN.md "Dispatch").
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from alphasms.appointments.models import AppointmentStatus
from alphasms.appointments.services.planning import recipient_for
from alphasms.messaging.models import MessageStatus, OutboundMessage, ResendBatch
from alphasms.messaging.services.lifecycle import set_status
from alphasms.privacy.services import has_consent

log = logging.getLogger("alphasms.resend")

#: Statuses a message can be resent from: it did not arrive, or nobody knows whether it did.
RESENDABLE = (
    MessageStatus.FAILED,
    MessageStatus.UNDELIVERED,
    MessageStatus.EXPIRED,
    MessageStatus.UNKNOWN,
)
#: At most this many messages in one bulk resend.
BATCH_LIMIT = 5000
#: Messages per transaction while working through a batch (progress advances per chunk).
CHUNK = 50
#: Seconds a worker's claim on a batch lasts; a batch whose worker died is taken over afterwards.
BATCH_LEASE_S = 120

# Code → German sentence (the exception text); the staff web app shows its own translated sentences.
_REASONS = {
    "not_resendable": "Nur fehlgeschlagene, nicht zustellbare, abgelaufene oder unklare Nachrichten.",
    "appointment_cancelled": "Der Termin ist nicht mehr geplant.",
    "appointment_started": "Der Termin hat schon begonnen.",
    "other_person": "Der Termin gehört inzwischen einer anderen Person.",
    "restricted": "Die Verarbeitung ist eingeschränkt (Art. 18 DSGVO).",
    "no_consent": "Für diesen Kanal liegt keine Einwilligung (mehr) vor.",
    "no_recipient": "Keine nutzbare Mobilnummer bzw. E-Mail-Adresse beim Kunden hinterlegt.",
}


class ResendRefused(ValueError):
    """The message is not resent. ``code`` is one of: ``not_resendable``, ``appointment_cancelled``,
    ``appointment_started``, ``other_person``, ``restricted``, ``no_consent``, ``no_recipient``."""

    def __init__(self, code: str) -> None:
        super().__init__(_REASONS[code])
        self.code = code


def refusal(message: OutboundMessage, now: dt.datetime) -> str | None:
    """The ``ResendRefused`` code that stops resending ``message`` at ``now`` (UTC), or None."""
    appointment, customer = message.appointment, message.customer
    if message.status not in RESENDABLE:
        return "not_resendable"
    if appointment.status != AppointmentStatus.SCHEDULED:
        return "appointment_cancelled"
    if appointment.start_at <= now:
        return "appointment_started"
    if appointment.customer_id != message.customer_id:
        return "other_person"
    if customer.restricted_at is not None:
        return "restricted"
    if not has_consent(customer, message.channel):
        return "no_consent"
    if not recipient_for(appointment, message.channel):
        return "no_recipient"
    return None


def resend(message_id: int, *, actor_id: int | None, now: dt.datetime) -> OutboundMessage:
    """Queue message ``message_id`` again for ``now`` (aware UTC); the worker sends it on its next
    cycle (outside the sending window: at the window's next opening).

    The attempt counter starts again (the earlier attempts stay in the history), error fields are
    cleared, the current number or address is used (GDPR Art. 16), and a message whose outcome was
    unknown is flagged ``possible_duplicate``. Raises ``OutboundMessage.DoesNotExist`` and
    ResendRefused (see ``refusal``). Side effects: one UPDATE and one StatusEvent under a row lock."""
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update(of=("self",))
            .select_related("appointment__location", "appointment__customer", "customer")
            .get(pk=message_id)
        )
        code = refusal(message, now)
        if code is not None:
            raise ResendRefused(code)
        set_status(
            message,
            MessageStatus.QUEUED,
            note=f"resend by staff (user {actor_id})",
            at=now,
            next_attempt_at=now,
            recipient=recipient_for(message.appointment, message.channel),
            lease_until=None,
            attempt_count=0,
            error_code="",
            user_message="",
            possible_duplicate=message.possible_duplicate or message.status == MessageStatus.UNKNOWN,
        )
    return message


def start_batch(message_ids: Iterable[int], *, actor_id: int | None, now: dt.datetime) -> ResendBatch:
    """A bulk resend of ``message_ids`` (duplicates dropped), at most ``BATCH_LIMIT``; each message is
    checked when the worker reaches it (``resend``), so one no longer resendable then is counted in
    ``refused``. Raises ValueError for more than ``BATCH_LIMIT`` ids. An empty batch is finished at
    once. Side effect: one ResendBatch row; ``resend_batch_task`` does the work."""
    ids = list(dict.fromkeys(message_ids))
    if len(ids) > BATCH_LIMIT:
        raise ValueError(f"at most {BATCH_LIMIT} messages per bulk resend, got {len(ids)}")
    return ResendBatch.objects.create(
        created_at=now,
        created_by_id=actor_id,
        message_ids=ids,
        total=len(ids),
        finished_at=None if ids else now,
    )


def run_batch(batch_id: int, now: dt.datetime | None = None) -> int:
    """Work through batch ``batch_id`` in chunks of ``CHUNK``; returns how many messages were handled
    now (0 when it is finished or another runner holds its lease). The batch is claimed with a
    conditional UPDATE and a lease, so two runners never work on it at once; progress (``done_count``)
    commits with each chunk's resends, so a batch whose runner died goes on where it stopped when it is
    run again. ``now`` (UTC) defaults to the current time."""
    now = now or timezone.now()
    lease = now + dt.timedelta(seconds=BATCH_LEASE_S)
    claimed = (
        ResendBatch.objects.filter(pk=batch_id, finished_at__isnull=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=lease)
    )
    if not claimed:
        return 0
    return _work(ResendBatch.objects.get(pk=batch_id), now, limit=BATCH_LIMIT)


@task()
def resend_batch_task(batch_id: int) -> int:
    """The background job of a bulk resend (Django's Tasks API, run by the worker's job runner,
    ``alphasms.jobs``): ``run_batch`` now. Returns the number of messages handled."""
    return run_batch(batch_id)


def _work(batch: ResendBatch, now: dt.datetime, limit: int) -> int:
    handled = 0
    while batch.done_count < batch.total and handled < limit:
        chunk = batch.message_ids[batch.done_count : batch.done_count + min(CHUNK, limit - handled)]
        with transaction.atomic():
            for message_id in chunk:
                try:
                    resend(int(message_id), actor_id=batch.created_by_id, now=now)
                    batch.resent_count += 1
                except ResendRefused as exc:
                    batch.refused[exc.code] = batch.refused.get(exc.code, 0) + 1
                except OutboundMessage.DoesNotExist:  # erased since the batch was started
                    batch.refused["gone"] = batch.refused.get("gone", 0) + 1
            batch.done_count += len(chunk)
            batch.finished_at = now if batch.done_count >= batch.total else None
            batch.lease_until = None if batch.finished_at else now + dt.timedelta(seconds=BATCH_LEASE_S)
            batch.save(update_fields=["done_count", "resent_count", "refused", "finished_at", "lease_until"])
        handled += len(chunk)
    if batch.finished_at is None:
        ResendBatch.objects.filter(pk=batch.pk).update(lease_until=None)  # the next cycle goes on
    else:
        log.info("resend batch=%s resent=%d refused=%s", batch.pk, batch.resent_count, batch.refused)
    return handled
