"""Models of the support app (backups, support backup receipts, remote maintenance)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

# --- Support backup for one support case (issue 7, part 5) ---------------------------------------------


class DeletionReason(models.TextChoices):
    """Why the vendor server deleted a support backup (the ``reason`` of its signed deletion receipt)."""

    CASE_CLOSED = "case_closed", _("Fall geschlossen")
    EXPIRED = "expired", _("Frist abgelaufen")


class SupportCase(models.Model):
    """One support backup sent (or written to a file) for one support case, and its deletion receipt.

    Holds no personal data: the case id, the SHA-256 (hex) and size of the encrypted bundle, the counts
    per kind (``counts``: {"locations": n, …}), where it went (``destination_url``; "" = only written to
    a file) and the vendor's signed deletion receipt (``receipt``: the envelope as received, so it can be
    verified again with ``alphasms.licensing.envelope.verify_envelope``). Instants are UTC.
    ``receipt_verified_at`` is set only after the signature (Ed25519, RFC 8032), the case id and the
    SHA-256 were checked (``alphasms.support.support_backup.fetch_receipt``).
    """

    case = models.CharField(_("Fall"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("erstellt (UTC)"))
    sha256 = models.CharField(_("SHA-256 des verschlüsselten Pakets"), max_length=64)
    size_bytes = models.PositiveBigIntegerField(_("Größe (Bytes)"))
    counts = models.JSONField(_("Anzahl je Art"), default=dict)
    pseudonymised = models.BooleanField(_("pseudonymisiert"), default=True)
    destination_url = models.CharField(_("hochgeladen nach"), max_length=500, blank=True)
    uploaded_at = models.DateTimeField(_("hochgeladen (UTC)"), null=True, blank=True)
    delete_by = models.DateTimeField(_("Löschung spätestens (UTC)"), null=True, blank=True)
    receipt = models.JSONField(_("Löschbeleg (signiert)"), null=True, blank=True)
    receipt_verified_at = models.DateTimeField(_("Löschbeleg geprüft (UTC)"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("beim Hersteller gelöscht (UTC)"), null=True, blank=True)
    deletion_reason = models.CharField(
        _("Löschgrund"), max_length=16, choices=DeletionReason.choices, blank=True
    )
    # The case's upload token from the support (``alphasms vendor case open``), normalised; sent again
    # as ``X-AlphaSMS-Case-Token`` to fetch the receipt. It opens only this case's upload (used once)
    # and receipt; never logged or shown.
    case_token = models.CharField(_("Upload-Schlüssel des Falls"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("Support-Sicherung")
        verbose_name_plural = _("Support-Sicherungen")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.case


# --- Backups and restore (issue 7, part 4; alphasms.support.backup) ----------------------------------


class BackupRun(models.Model):
    """One daily backup by the worker (``support.backup.backup_if_due``): the local calendar ``day``
    (unique, so of several workers one runs it), when it started and finished (UTC), the file name and
    size of the encrypted backup, or the error (type and sentence; no secret, no personal data)."""

    day = models.DateField(unique=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("Tägliche Sicherung")
        verbose_name_plural = _("Tägliche Sicherungen")
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.file_name or self.error or '…'}"


# --- Running processes (heartbeat; alphasms.support.running) ------------------------------------------


class RunningProcess(models.Model):
    """A running ``alphasms worker`` or ``alphasms run`` process, announced by its heartbeat thread
    (``alphasms.support.running.Heartbeat``): ``key`` ("<host>:<pid>:<kind>:<random>", unique),
    ``kind`` (``worker``/``run``), ``host`` and ``pid``, when it started and when it last said it is
    alive (``seen_at``, UTC, every ``HEARTBEAT_S`` seconds). Deleted when the process stops cleanly; a
    crashed process's row goes stale after ``STALE_S`` seconds. No personal data. ``alphasms backup
    restore`` refuses while a fresh row exists."""

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("Laufender Prozess")
        verbose_name_plural = _("Laufende Prozesse")
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.host}:{self.pid}"
