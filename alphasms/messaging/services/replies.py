"""Store SMS replies (MO) once and act on them: confirm, cancel, stop, or leave them to staff.

``receive_mo`` is called by the MO webhook after the signature check. For each event, in **one
transaction**: the InboundMessage is stored (once: providers resend, ``dedupe_key`` is unique), matched to
the newest reminder sent to that number, and its intent (``messaging.replies.classify_reply``) applied:

* STOP: SMS consent of the person is withdrawn (``privacy.services.withdraw``, source "reply"), which
  cancels their pending SMS, and an audit entry is written — in the transaction that stores the reply
  (STYLE.md §9), so a failure leaves neither the reply nor the withdrawal, and the provider's retry
  finds nothing done. Every customer with that mobile number is covered: STOP is about the handset.
* CANCEL: the appointment is cancelled with its pending reminders (history: "abgesagt per SMS-Antwort").
* CONFIRM: ``Appointment.confirmed_at`` is set.
* UNKNOWN, unmatched, or not applicable (appointment over, already cancelled, person restricted): the
  reply stays unhandled (``handled_at`` empty), i.e. in the staff inbox, with a ``note`` saying why.

**Acknowledgements.** When a reply changed something and a text is configured (settings
``REPLY_ACK_CONFIRM`` / ``_CANCEL`` / ``_STOP``, env ``ALPHASMS_REPLY_ACK_…``, optional ``…_EN`` for
customers with language English; empty = none, the default), one SMS goes back to the sender. It is
not an OutboundMessage: those belong to an appointment occurrence and rule (invariant 1), pass the send-time
checks of the worker (a cancelled appointment would cancel the "abgesagt" ack) and count against the
budget. Instead the ack is recorded on the InboundMessage itself (``ack_status`` and friends): committed
as ``pending`` with the reply, claimed by a conditional UPDATE after the commit, sent once through the
active SMS gateway, and its outcome stored — a crash mid-call leaves ``sending`` visible, never a
silent duplicate. No ack is ever sent for UNKNOWN, for a reply that changed nothing (a second "JA", a
second STOP), to a number without a known customer (so never to an erased person), to a restricted person
(GDPR Art. 18), or — except for STOP's one confirmation — to a person without SMS consent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from alphasms.appointments.models import Appointment, AppointmentStatus, Channel, Customer
from alphasms.conf import app_settings
from alphasms.messaging.encoding import count_segments
from alphasms.messaging.gateways.base import MoEvent, OutboundSms
from alphasms.messaging.gateways.errors import GatewayError, GatewayMisconfigured
from alphasms.messaging.gateways.registry import active_sms_gateway
from alphasms.messaging.models import (
    STATUS_RANK,
    AckStatus,
    AttemptOutcome,
    DeliveryAttempt,
    InboundMessage,
    OutboundMessage,
    ReplyOutcome,
)
from alphasms.messaging.phone import redact
from alphasms.messaging.replies import ReplyIntent, classify_reply
from alphasms.messaging.services.lifecycle import cancel_pending, record
from alphasms.privacy.audit import audit
from alphasms.privacy.models import AuditAction, ConsentSource
from alphasms.privacy.services import has_consent, withdraw

log = logging.getLogger("alphasms.replies")

ACTOR = "system:reply"
CANCEL_NOTE = "abgesagt per SMS-Antwort"
CONFIRM_NOTE = "bestätigt per SMS-Antwort"
#: Message statuses the provider accepted: only these can have been answered.
ANSWERABLE = tuple(STATUS_RANK)
#: A reply cannot answer a reminder sent after it; this much clock difference to the provider is allowed.
CLOCK_SKEW = dt.timedelta(minutes=2)
E164 = re.compile(r"\+[1-9]\d{1,14}")  # ITU-T E.164, what MoEvent.from_e164 promises
#: Setting names of the acknowledgement texts, per outcome.
ACK_SETTINGS = {
    ReplyOutcome.CONFIRM: "REPLY_ACK_CONFIRM",
    ReplyOutcome.CANCEL: "REPLY_ACK_CANCEL",
    ReplyOutcome.STOP: "REPLY_ACK_STOP",
}


@dataclass(frozen=True)
class Decision:
    """What handling a reply did: ``handled`` (False = staff inbox), a ``note`` for staff, and whether
    it changed something the person may get an acknowledgement for (``changed``)."""

    handled: bool
    note: str
    changed: bool = False


def receive_mo(slug: str, events: Iterable[MoEvent]) -> list[InboundMessage]:
    """Store and apply each inbound SMS of gateway ``slug``; returns the rows stored now, in order
    (an event stored before, i.e. a provider's resend, is skipped and not returned; so is an event whose
    sender is not E.164, with a log line). NUL characters are stored as U+FFFD.

    Side effects per new event, in one transaction: INSERT InboundMessage; for STOP, Consent updates,
    cancelled messages and an audit entry; for CANCEL/CONFIRM, an Appointment update, cancelled
    messages and history notes. After the commit, possibly one acknowledgement SMS (money spent).
    Raises database errors (the webhook answers 500 and the provider retries; nothing was stored).
    """
    stored = []
    for event in events:
        inbound = _receive(slug, event)
        if inbound is not None:
            stored.append(inbound)
    return stored


def dedupe_key(slug: str, event: MoEvent) -> str:
    """SHA-256 hex of the provider's message id, or without one, of sender, text and receipt time
    (else the raw payload), so a resent event is recognised."""
    if event.gateway_message_id:
        basis = f"{slug}|id|{event.gateway_message_id}"
    else:
        when = event.received_at.isoformat() if event.received_at else ""
        raw = json.dumps(dict(event.raw), sort_keys=True, default=str)
        basis = f"{slug}|{event.from_e164}|{event.text}|{when or raw}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def newest_reminder_to(number: str, *, before: dt.datetime) -> OutboundMessage | None:
    """The SMS reminder most recently accepted by a provider for ``number`` (E.164) no later than
    ``before`` (UTC), by the start of its accepted attempt; None when there is none."""
    sent_at = DeliveryAttempt.objects.filter(message=OuterRef("pk"), outcome=AttemptOutcome.SENT)
    return (
        OutboundMessage.objects.filter(channel=Channel.SMS, recipient=number, status__in=ANSWERABLE)
        .annotate(sent_at=Subquery(sent_at.order_by("-started_at").values("started_at")[:1]))
        .filter(sent_at__lte=before)
        .order_by("-sent_at", "-pk")
        .select_related("appointment", "customer")
        .first()
    )


def _storable(value: Any) -> Any:
    """``value`` with NUL characters replaced: PostgreSQL refuses them in text and JSON, and some SMSCs
    deliver the GSM-7 "@" (code 0x00) as NUL."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, Mapping):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


def _receive(slug: str, event: MoEvent) -> InboundMessage | None:
    if not E164.fullmatch(event.from_e164):
        log.warning("mo ignored gateway=%s: the sender is not an E.164 number", slug)
        return None
    event = dataclasses.replace(event, text=_storable(event.text), raw=_storable(event.raw))
    now = timezone.now()
    received_at = event.received_at or now
    intent = classify_reply(event.text)
    key = dedupe_key(slug, event)
    with transaction.atomic():
        message = newest_reminder_to(event.from_e164, before=received_at + CLOCK_SKEW)
        try:
            with transaction.atomic():
                inbound = InboundMessage.objects.create(
                    gateway=slug,
                    from_e164=event.from_e164,
                    text=event.text,
                    received_at=received_at,
                    gateway_message_id=event.gateway_message_id[:200],
                    raw=dict(event.raw),
                    message=message,
                    appointment=message.appointment if message else None,
                    customer=message.customer if message else _only_customer_with(event.from_e164),
                    outcome=ReplyOutcome(intent.value),
                    dedupe_key=key,
                )
        except IntegrityError:
            if not InboundMessage.objects.filter(dedupe_key=key).exists():
                raise
            log.info("mo already stored gateway=%s", slug)  # the provider resent it
            return None
        decision = HANDLERS[intent](inbound, now)
        _finish(inbound, decision, now)
    log.info(
        "mo gateway=%s from=%s outcome=%s handled=%s ack=%s",
        slug,
        redact(event.from_e164),
        intent,
        decision.handled,
        inbound.ack_status,
    )
    return inbound


def _only_customer_with(number: str) -> Customer | None:
    found = list(Customer.objects.filter(mobile_e164=number)[:2])
    return found[0] if len(found) == 1 else None


# --- the intents -------------------------------------------------------------------------------------


def _stop(inbound: InboundMessage, now: dt.datetime) -> Decision:
    people = Customer.objects.filter(Q(pk=inbound.customer_id) | Q(mobile_e164=inbound.from_e164))
    withdrawn = cancelled = 0
    for person in people.order_by("pk"):
        active = has_consent(person, Channel.SMS)
        count = withdraw(person, Channel.SMS, source=ConsentSource.REPLY, at=now)
        audit(ACTOR, AuditAction.WITHDRAW, "customer", person.pk, f"channel=sms cancelled={count}")
        withdrawn, cancelled = withdrawn + active, cancelled + count
    if not people:
        return Decision(True, "Keine Person mit dieser Nummer gespeichert; nichts zu widerrufen.")
    note = f"SMS-Einwilligung widerrufen ({withdrawn} Person(en)); {cancelled} SMS storniert."
    return Decision(True, note, changed=withdrawn > 0)


def _cancel(inbound: InboundMessage, now: dt.datetime) -> Decision:
    appointment, problem = _locked_appointment(inbound, now)
    if appointment is None:
        return Decision(False, problem)
    if appointment.status == AppointmentStatus.CANCELLED:
        return Decision(True, "Der Termin war bereits abgesagt.")
    if problem:
        return Decision(False, problem)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save(update_fields=["status", "updated_at"])
    count = cancel_pending(OutboundMessage.objects.filter(appointment=appointment), note=CANCEL_NOTE)
    if inbound.message is not None:
        record(inbound.message, CANCEL_NOTE)
    return Decision(True, f"Termin abgesagt; {count} offene Erinnerung(en) storniert.", changed=True)


def _confirm(inbound: InboundMessage, now: dt.datetime) -> Decision:
    appointment, problem = _locked_appointment(inbound, now)
    if appointment is None or problem:
        return Decision(False, problem)
    if appointment.status == AppointmentStatus.CANCELLED:
        return Decision(False, "Der Termin ist abgesagt, der Kunde hat ihn aber bestätigt.")
    if appointment.confirmed_at is not None:
        return Decision(True, "Der Termin war bereits bestätigt.")
    appointment.confirmed_at = now
    appointment.save(update_fields=["confirmed_at", "updated_at"])
    if inbound.message is not None:
        record(inbound.message, CONFIRM_NOTE)
    return Decision(True, "Termin bestätigt.", changed=True)


def _unknown(inbound: InboundMessage, now: dt.datetime) -> Decision:
    if inbound.message is None:
        return Decision(False, "Keiner gesendeten Erinnerung zuzuordnen.")
    return Decision(False, "Antwort nicht eindeutig; bitte lesen.")


HANDLERS: dict[ReplyIntent, Callable[[InboundMessage, dt.datetime], Decision]] = {
    ReplyIntent.STOP: _stop,
    ReplyIntent.CANCEL: _cancel,
    ReplyIntent.CONFIRM: _confirm,
    ReplyIntent.UNKNOWN: _unknown,
}


def _locked_appointment(inbound: InboundMessage, now: dt.datetime) -> tuple[Appointment | None, str]:
    """The matched appointment, locked, and why it may not be changed automatically ("" = it may;
    a cancelled appointment is left to the caller)."""
    if inbound.appointment_id is None:
        return None, "Keiner gesendeten Erinnerung zuzuordnen."
    appointment = Appointment.objects.select_for_update().get(pk=inbound.appointment_id)
    if inbound.customer is not None and inbound.customer.restricted_at is not None:
        return appointment, "Verarbeitung eingeschränkt (Art. 18 DSGVO): bitte selbst entscheiden."
    if appointment.status not in (AppointmentStatus.SCHEDULED, AppointmentStatus.CANCELLED):
        return appointment, f"Der Termin ist nicht mehr geplant ({appointment.get_status_display()})."
    if appointment.start_at <= now:
        return appointment, "Der Termin hat bereits begonnen."
    return appointment, ""


# --- acknowledgements ----------------------------------------------------------------------------


def _finish(inbound: InboundMessage, decision: Decision, now: dt.datetime) -> None:
    inbound.note = decision.note[:500]
    if decision.handled:
        inbound.handled_at, inbound.handled_by = now, ACTOR
    text = acknowledgement_text(inbound) if decision.changed else ""
    if text:
        inbound.ack_status, inbound.ack_text = AckStatus.PENDING, text
        transaction.on_commit(partial(send_acknowledgement, inbound.pk))
    inbound.save(update_fields=["note", "handled_at", "handled_by", "ack_status", "ack_text"])


def acknowledgement_text(inbound: InboundMessage) -> str:
    """The configured acknowledgement for ``inbound``'s outcome, or "" when none is configured or none
    may be sent: no known customer, anyone with that number restricted, or (except STOP) no SMS consent.
    English (``…_EN``) for customers with language English when set."""
    name = ACK_SETTINGS.get(ReplyOutcome(inbound.outcome))
    customer = inbound.customer
    if name is None or customer is None:
        return ""
    people = Customer.objects.filter(Q(pk=customer.pk) | Q(mobile_e164=inbound.from_e164))
    if people.filter(restricted_at__isnull=False).exists():
        return ""
    if inbound.outcome != ReplyOutcome.STOP and not has_consent(customer, Channel.SMS):
        return ""
    english = customer.language.lower().startswith("en") and app_settings.gateway_setting(f"{name}_EN")
    return (english or app_settings.gateway_setting(name)).strip()


def send_acknowledgement(inbound_id: int) -> AckStatus | None:
    """Send the pending acknowledgement of reply ``inbound_id`` through the active SMS gateway.

    Claimed with a conditional UPDATE (pending -> sending), so it goes out at most once even when called
    twice; returns None when there was nothing to claim, else the new ``ack_status``. Provider errors
    and misconfiguration are recorded (failed, or unknown when the request may have reached the
    provider), never raised or retried. Side effects: one provider call (money spent), two UPDATEs.
    """
    claimed = InboundMessage.objects.filter(pk=inbound_id, ack_status=AckStatus.PENDING)
    if claimed.update(ack_status=AckStatus.SENDING, ack_at=timezone.now()) != 1:
        return None
    inbound = InboundMessage.objects.select_related("message").get(pk=inbound_id)
    _, segments = count_segments(inbound.ack_text)
    sender = inbound.message.sender_id if inbound.message else ""
    sms = OutboundSms(
        reference=str(uuid.uuid4()),  # no DeliveryAttempt: a report for it is dropped as unknown
        to_e164=inbound.from_e164,
        text=inbound.ack_text,
        sender_id=sender,
        segments=segments,
    )
    slug, provider_id, error_code = app_settings.SMS_GATEWAY, "", ""
    try:
        gateway = active_sms_gateway()
        slug = gateway.slug
        provider_id = gateway.send(sms).gateway_message_id
        status = AckStatus.SENT
    except GatewayError as exc:
        status, error_code = (AckStatus.UNKNOWN if exc.ambiguous else AckStatus.FAILED), exc.code
        log.warning("reply ack not sent gateway=%s reply=%s: %s", slug, inbound_id, exc)
    except GatewayMisconfigured as exc:
        status, error_code = AckStatus.FAILED, "misconfigured"
        log.error("reply ack not sent reply=%s: %s", inbound_id, exc)
    InboundMessage.objects.filter(pk=inbound_id).update(
        ack_status=status,
        ack_gateway=slug,
        ack_gateway_message_id=provider_id[:200],
        ack_error_code=error_code,
        ack_at=timezone.now(),
    )
    return status
