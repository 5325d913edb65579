"""Outbound messages, their attempts, the delivery reports providers send back, and replies (MO).

One *message* is what should reach a person (unique per occurrence, rule and channel: DESIGN.md
invariant 1); each provider call is an *attempt* (its UUID travels as the provider's client reference);
each status event from the provider is a *report*. See DESIGN.md "Message lifecycle". An *inbound
message* is an SMS a person sent us, usually a reply to a reminder (``services.replies``).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from alphasms.appointments.models import Appointment, Channel, Customer, ReminderRule, validate_country
from alphasms.messaging.money import amount_text


class MessageStatus(models.TextChoices):
    """Lifecycle states of an OutboundMessage (DESIGN.md)."""

    PLANNED = "planned", _("geplant")  # waiting for its due instant
    QUEUED = "queued", _("in Warteschlange")  # due again after a retry or a resend
    SENDING = "sending", _("wird gesendet")  # claimed by a worker, lease running
    RETRY_WAIT = "retry_wait", _("wartet auf neuen Versuch")  # not sent for sure; next try scheduled
    UNKNOWN = "unknown", _("Ergebnis unklar")  # request left us, no answer; resolved by policy
    HELD = "held", _("zurückgehalten")  # waits for staff (unknown outcome under the "hold" policy)
    SENT = "sent", _("gesendet")  # accepted by the provider
    DELIVERED = "delivered", _("zugestellt")
    UNDELIVERED = "undelivered", _("nicht zustellbar")
    EXPIRED = "expired", _("abgelaufen")
    FAILED = "failed", _("fehlgeschlagen")
    CANCELLED = "cancelled", _("storniert")


# Statuses from which the worker may claim a message once ``next_attempt_at`` has passed.
CLAIMABLE = (MessageStatus.PLANNED, MessageStatus.QUEUED, MessageStatus.RETRY_WAIT)
# Statuses that still may go out; cancelling an appointment cancels these.
PENDING = (*CLAIMABLE, MessageStatus.HELD)
# Forward-only rank of delivery outcomes: a report never moves a message to a lower rank.
STATUS_RANK = {
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.UNDELIVERED: 2,
    MessageStatus.EXPIRED: 2,
}


class OutboundMessage(models.Model):
    """An MT SMS or an e-mail that should reach one person for one appointment occurrence and rule.

    ``recipient`` is an E.164 number (SMS) or an address (e-mail). ``occurrence_start_at`` is the start the
    text was rendered for: at send time a different start means the message is stale (invariant 2).
    ``next_attempt_at`` is when the worker may claim it (UTC); ``lease_until`` bounds a claim.
    """

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="messages", verbose_name=_("Termin")
    )
    rule = models.ForeignKey(
        ReminderRule, on_delete=models.PROTECT, related_name="messages", verbose_name=_("Regel")
    )
    channel = models.CharField(_("Kanal"), max_length=8, choices=Channel.choices)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="messages", verbose_name=_("Kunde")
    )
    recipient = models.CharField(_("Empfänger"), max_length=254)
    sender_id = models.CharField(_("Absenderkennung"), max_length=254, blank=True)
    subject = models.CharField(_("Betreff"), max_length=500, blank=True)
    body = models.TextField(_("Text"))
    segments = models.PositiveSmallIntegerField(_("SMS-Teile"), default=0)
    encoding = models.CharField(_("Kodierung"), max_length=8, blank=True)
    occurrence_start_at = models.DateTimeField(_("Terminbeginn beim Planen (UTC)"))
    due_at = models.DateTimeField(_("fällig (UTC)"), db_index=True)
    next_attempt_at = models.DateTimeField(_("nächster Versuch (UTC)"), db_index=True)
    status = models.CharField(
        _("Status"), max_length=12, choices=MessageStatus.choices, default=MessageStatus.PLANNED
    )
    status_changed_at = models.DateTimeField(_("Status seit (UTC)"))
    lease_until = models.DateTimeField(_("reserviert bis"), null=True, blank=True)
    claimed_by = models.CharField(_("reserviert von"), max_length=64, blank=True)
    attempt_count = models.PositiveSmallIntegerField(_("Versuche"), default=0)
    gateway = models.CharField(_("Gateway"), max_length=32, blank=True)
    error_code = models.CharField(_("Fehlercode"), max_length=64, blank=True)
    user_message = models.CharField(_("Hinweis"), max_length=500, blank=True)
    possible_duplicate = models.BooleanField(_("evtl. doppelt gesendet"), default=False)
    created_at = models.DateTimeField(_("angelegt"), auto_now_add=True)

    class Meta:
        verbose_name = _("Nachricht")
        verbose_name_plural = _("Nachrichten")
        ordering = ["-due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "rule", "channel"], name="one_message_per_occurrence_rule_channel"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            # The message log filtered by status, newest due first.
            models.Index(fields=["status", "due_at"], name="message_status_due_idx"),
            # The dashboard's to-do list (problems by appointment start): a small partial index, so
            # the list and its count read a few hundred entries instead of every problem ever recorded.
            models.Index(
                fields=["occurrence_start_at"],
                condition=models.Q(status__in=["failed", "undelivered", "expired", "held", "unknown"]),
                name="message_todo_idx",
            ),
            # The rules page's pending count per rule: an index-only scan of the pending rows alone.
            models.Index(
                fields=["rule"],
                condition=models.Q(status__in=["planned", "queued", "retry_wait", "held"]),
                name="message_pending_rule_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk} ({self.get_status_display()})"


class AttemptOutcome(models.TextChoices):
    SENDING = "sending", _("läuft")
    SENT = "sent", _("angenommen")
    RETRY = "retry", _("nicht gesendet, neuer Versuch")
    UNKNOWN = "unknown", _("unklar")
    FAILED = "failed", _("fehlgeschlagen")
    SKIPPED = "skipped", _("nicht gesendet (Prüfung)")


class DeliveryAttempt(models.Model):
    """One provider call. Committed with outcome ``sending`` before the call and updated after it, so a
    crash in between is visible as ``unknown`` (DESIGN.md invariant 3). ``id`` is the client reference."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(
        OutboundMessage, on_delete=models.CASCADE, related_name="attempts", verbose_name=_("Nachricht")
    )
    gateway = models.CharField(_("Gateway"), max_length=32)
    started_at = models.DateTimeField(_("begonnen"))
    finished_at = models.DateTimeField(_("beendet"), null=True, blank=True)
    outcome = models.CharField(
        _("Ergebnis"), max_length=8, choices=AttemptOutcome.choices, default=AttemptOutcome.SENDING
    )
    gateway_message_id = models.CharField(
        _("Nachrichten-ID des Anbieters"), max_length=200, blank=True, db_index=True
    )
    error_code = models.CharField(_("Fehlercode"), max_length=64, blank=True)
    user_message = models.CharField(_("Hinweis"), max_length=500, blank=True)
    provider_code = models.CharField(_("Code des Anbieters"), max_length=64, blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP-Status"), null=True, blank=True)
    segments = models.PositiveSmallIntegerField(_("SMS-Teile"), default=0)
    # Millionths of ``currency`` (messaging/money.py): 3 parts at 0.075 € = 225000.
    cost_micros = models.PositiveBigIntegerField(_("Kosten (Millionstel der Währung)"), null=True, blank=True)
    currency = models.CharField(_("Währung"), max_length=3, blank=True)
    duration_ms = models.PositiveIntegerField(_("Dauer (ms)"), null=True, blank=True)

    class Meta:
        verbose_name = _("Zustellversuch")
        verbose_name_plural = _("Zustellversuche")
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"{self.gateway} {self.id} {self.outcome}"


class AttemptPart(models.Model):
    """One SMS part of an attempt, for providers that give each part its own id and report (Vonage's
    SMS API, SMPP). The message is delivered when every part is; a failed part makes it undelivered."""

    attempt = models.ForeignKey(
        DeliveryAttempt, on_delete=models.CASCADE, related_name="parts", verbose_name=_("Zustellversuch")
    )
    sequence = models.PositiveSmallIntegerField(_("Teil"))
    gateway_message_id = models.CharField(_("Nachrichten-ID des Anbieters"), max_length=200, db_index=True)
    status = models.CharField(_("Status"), max_length=12, default="accepted")

    class Meta:
        verbose_name = _("SMS-Teil")
        verbose_name_plural = _("SMS-Teile")
        ordering = ["attempt", "sequence"]

    def __str__(self) -> str:
        return f"{self.attempt_id}/{self.sequence} {self.status}"


class DeliveryReport(models.Model):
    """A status event from the provider (DLR) for one attempt; ``dedupe_key`` makes a repeat one event."""

    attempt = models.ForeignKey(
        DeliveryAttempt, on_delete=models.CASCADE, related_name="reports", verbose_name=_("Zustellversuch")
    )
    status = models.CharField(_("Status"), max_length=12)
    provider_status = models.CharField(_("Status beim Anbieter"), max_length=64, blank=True)
    provider_error_code = models.CharField(_("Fehlercode des Anbieters"), max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("eingetreten"), null=True, blank=True)
    received_at = models.DateTimeField(_("empfangen"))
    raw = models.JSONField(_("Rohdaten"), default=dict)
    dedupe_key = models.CharField(max_length=200, unique=True)

    class Meta:
        verbose_name = _("Zustellbericht")
        verbose_name_plural = _("Zustellberichte")
        ordering = ["received_at"]

    def __str__(self) -> str:
        return f"{self.status} {self.received_at:%Y-%m-%dT%H:%MZ}"


def validate_price_country(value: str) -> None:
    """Raise ValidationError unless ``value`` is "*" (every other country) or an ISO 3166-1 alpha-2 code
    that phonenumbers knows (``appointments.models.validate_country``)."""
    if value != "*":
        validate_country(value)


class SmsPrice(models.Model):
    """The business's price of one SMS part to a destination country, exactly, in millionths of
    ``currency`` (``price_per_part_micros``: 0.075 € = 75000; messaging/money.py).

    ``country`` is ISO 3166-1 alpha-2 (known to phonenumbers), or "*" for every country without its own row.
    """

    country = models.CharField(
        _("Zielland"),
        max_length=2,
        unique=True,
        help_text=_("z. B. DE; * = alle übrigen"),
        validators=[validate_price_country],
    )
    price_per_part_micros = models.PositiveBigIntegerField(_("Preis je SMS-Teil (Millionstel der Währung)"))
    currency = models.CharField(_("Währung"), max_length=3, default="EUR")

    class Meta:
        verbose_name = _("SMS-Preis")
        verbose_name_plural = _("SMS-Preise")

    def __str__(self) -> str:
        return f"{self.country}: {amount_text(self.price_per_part_micros, self.currency)} {self.currency}"


class MonthlyUsage(models.Model):
    """Anonymous SMS/e-mail usage per location, calendar month (first day, local) and currency: the
    budget's basis. Counts only — erasing a person leaves it unchanged."""

    location_id = models.BigIntegerField()
    month = models.DateField()
    channel = models.CharField(max_length=8)
    currency = models.CharField(max_length=3, blank=True)
    messages = models.PositiveIntegerField(default=0)
    parts = models.PositiveIntegerField(default=0)
    cost_micros = models.PositiveBigIntegerField(default=0)  # millionths of ``currency``, exact

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location_id", "month", "channel", "currency"], name="one_usage_row_per_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.location_id} {self.month:%Y-%m} {self.channel}: {self.messages}"


class StatusEvent(models.Model):
    """Every status change of a message with its UTC instant (DESIGN.md invariant 4)."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("Zeitpunkt"))
    status = models.CharField(_("Status"), max_length=12, choices=MessageStatus.choices)
    note = models.CharField(_("Notiz"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("Statusänderung")
        verbose_name_plural = _("Verlauf")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%dT%H:%M:%SZ} {self.status}"


class ReplyOutcome(models.TextChoices):
    """What a reply asked for (``alphasms.messaging.replies.ReplyIntent``)."""

    CONFIRM = "confirm", _("Bestätigung")  # the appointment is marked confirmed
    CANCEL = "cancel", _("Absage")  # the appointment and its pending reminders are cancelled
    STOP = "stop", _("Abmeldung (STOP)")  # SMS consent withdrawn, pending SMS cancelled
    UNKNOWN = "unknown", _("unklar")  # staff read it (the inbox)


class AckStatus(models.TextChoices):
    """The acknowledgement SMS of a reply ("Danke, Ihr Termin ist bestätigt.")."""

    NONE = "none", _("keine")  # none configured, or not allowed (see services.replies)
    PENDING = "pending", _("wartet")  # committed with the reply; sent once the transaction commits
    SENDING = "sending", _("wird gesendet")  # claimed; if it stays here, the process died mid-call
    SENT = "sent", _("gesendet")  # accepted by the provider
    FAILED = "failed", _("nicht gesendet")  # refused, unreachable or misconfigured: not retried
    UNKNOWN = "unknown", _("Ergebnis unklar")  # the request may have reached the provider


class InboundMessage(models.Model):
    """An SMS a person sent us (MO), stored once per provider event (``dedupe_key``).

    ``from_e164`` is the sender as E.164; ``received_at`` is the provider's receipt time (UTC), else
    ours. ``message`` is the newest reminder sent to that number before the reply, with its appointment
    and customer; all three are empty when nothing matched (the customer is then set only when exactly
    one customer has that mobile number). ``outcome`` is the classified intent; ``handled_at`` is set
    when it was applied automatically or staff marked it done: rows with ``handled_at`` empty are the
    staff inbox and ``note`` says why. ``ack_*`` describe the one acknowledgement SMS, if any.
    """

    gateway = models.CharField(_("Gateway"), max_length=32)
    from_e164 = models.CharField(_("Absender (E.164)"), max_length=16, db_index=True)
    text = models.TextField(_("Text"), blank=True)
    received_at = models.DateTimeField(_("empfangen (UTC)"), db_index=True)
    gateway_message_id = models.CharField(_("Nachrichten-ID des Anbieters"), max_length=200, blank=True)
    raw = models.JSONField(_("Rohdaten"), default=dict)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("Kunde"),
    )
    # SET_NULL: deleting an appointment (staff, retention) must not drop what the person wrote, nor be
    # blocked by it; the reply stays with the customer, whose erasure removes it.
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("Termin"),
    )
    message = models.ForeignKey(
        OutboundMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("beantwortete Erinnerung"),
    )
    outcome = models.CharField(_("Ergebnis"), max_length=8, choices=ReplyOutcome.choices)
    note = models.CharField(_("Hinweis"), max_length=500, blank=True)
    handled_at = models.DateTimeField(_("erledigt am (UTC)"), null=True, blank=True)
    handled_by = models.CharField(_("erledigt von"), max_length=150, blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    ack_status = models.CharField(
        _("Quittung"), max_length=8, choices=AckStatus.choices, default=AckStatus.NONE
    )
    ack_text = models.TextField(_("Text der Quittung"), blank=True)
    ack_gateway = models.CharField(_("Gateway der Quittung"), max_length=32, blank=True)
    ack_gateway_message_id = models.CharField(_("Nachrichten-ID der Quittung"), max_length=200, blank=True)
    ack_error_code = models.CharField(_("Fehlercode der Quittung"), max_length=64, blank=True)
    ack_at = models.DateTimeField(_("Quittung gesendet (UTC)"), null=True, blank=True)
    created_at = models.DateTimeField(_("gespeichert"), auto_now_add=True)

    class Meta:
        verbose_name = _("Antwort")
        verbose_name_plural = _("Antworten")
        ordering = [models.F("handled_at").asc(nulls_first=True), "-received_at"]
        indexes = [models.Index(fields=["handled_at", "received_at"])]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} #{self.pk} {self.received_at:%Y-%m-%dT%H:%MZ}"


class ResendBatch(models.Model):
    """A bulk resend started by staff (``services.resend.start_batch``): the ids of the messages to
    resend, worked through by the worker in chunks (``services.resend.run_pending_batches``) so the
    staff page can show progress. Ids and counts only — no personal data; ``created_by_id`` is the
    staff user's id. ``refused`` counts messages not resent by reason code (``ResendRefused.code``).
    ``lease_until`` (UTC) bounds one worker's claim, so a dead worker's batch is taken over."""

    created_at = models.DateTimeField(_("angelegt (UTC)"))
    created_by_id = models.BigIntegerField(_("angelegt von (Benutzer-ID)"), null=True, blank=True)
    message_ids = models.JSONField(_("Nachrichten-IDs"), default=list)
    total = models.PositiveIntegerField(_("Anzahl"))
    done_count = models.PositiveIntegerField(_("bearbeitet"), default=0)
    resent_count = models.PositiveIntegerField(_("erneut eingereiht"), default=0)
    refused = models.JSONField(_("nicht erneut gesendet (je Grund)"), default=dict)
    lease_until = models.DateTimeField(_("reserviert bis (UTC)"), null=True, blank=True)
    finished_at = models.DateTimeField(_("fertig (UTC)"), null=True, blank=True)

    class Meta:
        verbose_name = _("Sammel-Neuversand")
        verbose_name_plural = _("Sammel-Neuversand")
        indexes = [models.Index(fields=["finished_at", "lease_until"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.done_count}/{self.total}"
