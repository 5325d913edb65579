"""The consent ledger (GDPR Art. 6(1)(a), Art. 7): one row per opt-in, withdrawn rows are kept."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from alphasms.appointments.models import Channel, Customer


class ConsentSource(models.TextChoices):
    FORM = "form", _("Formular")
    PHONE = "phone", _("Telefon")
    BOOKING = "booking", _("Buchung")
    IMPORT = "import", _("Import")
    REPLY = "reply", _("Antwort")
    SAMPLE = "sample", _("Beispieldaten")


class Consent(models.Model):
    """An opt-in for one channel: when, how, which wording, recorded by whom; and when withdrawn.

    A consent holds while ``opted_out_at`` is null. Withdrawal sets ``opted_out_at`` and never deletes the
    row, so the history stays provable (GDPR Art. 7(1)).
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("Kanal"), max_length=8, choices=Channel.choices)
    opted_in_at = models.DateTimeField(_("Einwilligung am (UTC)"))
    source = models.CharField(_("Quelle"), max_length=16, choices=ConsentSource.choices)
    wording_version = models.CharField(_("Textfassung"), max_length=64)
    recorded_by = models.CharField(_("Erfasst von"), max_length=150)
    opted_out_at = models.DateTimeField(_("Widerrufen am (UTC)"), null=True, blank=True)
    opted_out_source = models.CharField(_("Widerruf über"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("Einwilligung")
        verbose_name_plural = _("Einwilligungen")
        indexes = [models.Index(fields=["customer", "channel"])]

    def __str__(self) -> str:
        return f"{self.customer_id}/{self.channel}"


class AuditAction(models.TextChoices):
    """What was done to personal data (GDPR Art. 5(2) accountability)."""

    VIEW = "view", _("angesehen")
    EXPORT = "export", _("exportiert")
    CHANGE = "change", _("geändert")
    DELETE = "delete", _("gelöscht")
    ERASE = "erase", _("gelöscht (Art. 17)")
    RESTRICT = "restrict", _("eingeschränkt (Art. 18)")
    UNRESTRICT = "unrestrict", _("Einschränkung aufgehoben")
    CONSENT = "consent", _("Einwilligung erfasst")
    WITHDRAW = "withdraw", _("Einwilligung widerrufen")
    OBJECT = "object", _("Widerspruch Statistik (Art. 21)")
    PURGE = "purge", _("Aufbewahrungsfrist abgelaufen")
    REMOTE = "remote", _("Fernwartung")
    REQUEST = "request", _("Antrag gestellt")
    LINK = "link", _("persönlichen Link erstellt")


class AppendOnlyError(Exception):
    """An audit entry cannot be changed or deleted through the application."""


class AuditEntry(models.Model):
    """One audit event: who (``actor``), when (``at``, UTC), what (``action``) on which object (type and
    id — ids only, never names or numbers). ``hash`` is SHA-256 over the previous entry's hash and this
    entry's fields, so editing or deleting any entry breaks the chain (``privacy.audit.verify_chain``).
    """

    at = models.DateTimeField(_("Zeitpunkt (UTC)"))
    actor = models.CharField(_("wer"), max_length=150)
    action = models.CharField(_("was"), max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(_("Objektart"), max_length=64)
    object_id = models.CharField(_("Objekt-ID"), max_length=64)
    detail = models.CharField(_("Einzelheiten (nur IDs)"), max_length=500, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("Protokolleintrag")
        verbose_name_plural = _("Protokoll")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.at:%Y-%m-%dT%H:%M:%SZ} {self.actor} {self.action} {self.object_type}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries are append-only")


class AuditHead(models.Model):
    """The single row holding the newest hash; locking it serialises appends across processes."""

    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return self.last_hash


class LedgerKind(models.TextChoices):
    RESTRICT = "restrict", _("eingeschränkt")
    UNRESTRICT = "unrestrict", _("Einschränkung aufgehoben")
    ERASE = "erase", _("gelöscht")


class PrivacyLedger(models.Model):
    """Restrictions and erasures in order, by customer id only, so a restore from an older backup can
    re-apply them (GDPR Art. 17 and 18; DESIGN.md invariant 9). Holds no personal data."""

    at = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=LedgerKind.choices)
    customer_id = models.BigIntegerField(db_index=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.kind} {self.customer_id}"


class StatisticsObjection(models.Model):
    """A person's objection to anonymised statistics (GDPR Art. 21): their messages are not counted."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="statistics_objection")
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.customer_id}"


class MonthlyStatistic(models.Model):
    """Anonymous counts per location, month (first day, local) and channel: no person, no text.

    Kept only when statistics are switched on (ALPHASMS_STATISTICS, off by default), without the
    messages of persons who objected; erasure leaves these counts unchanged (GDPR Recital 26)."""

    location_id = models.BigIntegerField()
    month = models.DateField()
    channel = models.CharField(max_length=8)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location_id", "month", "channel"], name="one_statistic_per_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.location_id} {self.month:%Y-%m} {self.channel}"


class RetentionRun(models.Model):
    """One run of the daily retention purge (``privacy.retention``): the local calendar ``day`` it ran
    for (unique, so several workers run it once a day), when it started and finished (UTC), and how
    many rows each rule changed. Counts only, no personal data."""

    day = models.DateField(unique=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    message_texts_count = models.PositiveIntegerField(default=0)
    delivery_reports_count = models.PositiveIntegerField(default=0)
    appointments_count = models.PositiveIntegerField(default=0)
    customers_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d}"


class PrivacyRequestKind(models.TextChoices):
    """What a person asked for through their link, to be handled by staff."""

    RECTIFICATION = "rectification", _("Berichtigung (Art. 16)")


class PrivacyRequest(models.Model):
    """A request a person sent through their own link that staff must handle, e.g. a rectification
    (GDPR Art. 16; answer within one month, Art. 12(3)). ``text`` is the person's own words, so the row
    is personal data: it is exported with the person and deleted with them (CASCADE)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="privacy_requests", verbose_name=_("Kunde")
    )
    kind = models.CharField(_("Art"), max_length=16, choices=PrivacyRequestKind.choices)
    text = models.TextField(_("Text der Person"), max_length=2000)
    created_at = models.DateTimeField(_("eingegangen (UTC)"), auto_now_add=True)
    handled_at = models.DateTimeField(_("erledigt (UTC)"), null=True, blank=True)

    class Meta:
        verbose_name = _("Datenschutz-Antrag")
        verbose_name_plural = _("Datenschutz-Anträge")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} ({self.customer_id})"
