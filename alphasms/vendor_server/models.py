"""The vendor server's records: update checks (billing), issued licences, published manifests and
support cases. All instants are aware UTC datetimes."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class UpdateCheck(models.Model):
    """One update check as received: exactly the four fields the client sends, plus the client's IP and
    the instant. Kept ``ALPHASMS_VENDOR_CHECK_RETENTION_DAYS`` for billing, then deleted."""

    licence_number = models.TextField(blank=True)
    registration_name = models.CharField(max_length=200, blank=True)
    client_version = models.CharField(max_length=64)
    os = models.CharField(max_length=200)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    checked_at = models.DateTimeField(db_index=True)

    objects: ClassVar[models.Manager[UpdateCheck]] = models.Manager()

    class Meta:
        ordering = ("checked_at", "id")

    def __str__(self) -> str:
        return f"check {self.pk} at {self.checked_at:%Y-%m-%dT%H:%M:%SZ}"


class IssuedLicence(models.Model):
    """A licence number the vendor issued (``alphasms vendor licence issue``); serials are unique."""

    serial = models.PositiveIntegerField(unique=True)
    registration_name = models.CharField(max_length=200)
    edition = models.CharField(max_length=32)
    locations = models.PositiveIntegerField()
    expires = models.DateField()
    licence_number = models.TextField()
    issued_at = models.DateTimeField()

    objects: ClassVar[models.Manager[IssuedLicence]] = models.Manager()

    def __str__(self) -> str:
        return f"licence {self.serial}"


class Manifest(models.Model):
    """A published update manifest and its signed envelope (signed once, answered unchanged). The one
    published last (highest id) is current, even when its counter is lower: the vendor chose so."""

    counter = models.PositiveIntegerField(unique=True)
    latest_version = models.CharField(max_length=64)
    release_notes = models.TextField(blank=True)
    download_url = models.URLField(max_length=500)
    sha256 = models.CharField(max_length=64)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    envelope = models.JSONField()

    objects: ClassVar[models.Manager[Manifest]] = models.Manager()

    def __str__(self) -> str:
        return f"manifest {self.counter} ({self.latest_version})"


class DeletionReason(models.TextChoices):
    CASE_CLOSED = "case_closed", "case closed"  # the vendor closed the case (alphasms vendor case close)
    EXPIRED = "expired", "expired"  # the retention period ran out before the case was closed


class SupportCase(models.Model):
    """One support case's backup: received (file on disk, still age-encrypted), then deleted (file gone,
    ``deleted_at``/``reason`` set, signed receipt kept for the client to fetch)."""

    case = models.CharField(max_length=64, unique=True)
    licence_number = models.TextField(blank=True)
    file_name = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    received_at = models.DateTimeField()
    delete_by = models.DateTimeField(db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=16, choices=DeletionReason.choices, blank=True)
    receipt = models.JSONField(null=True, blank=True)

    objects: ClassVar[models.Manager[SupportCase]] = models.Manager()

    def __str__(self) -> str:
        return f"case {self.case}"


class OpenedCase(models.Model):
    """A support case the vendor opened (``alphasms vendor case open``) before the practice may upload.

    Holds only the SHA-256 (hex) of the case's upload token — the token itself is shown once to the
    vendor and passed to the practice by phone or e-mail. Upload and receipt requests must carry it
    (header ``X-AlphaSMS-Case-Token``); without a matching token the case looks unknown (404)."""

    case = models.CharField(max_length=64, unique=True)
    token_sha256 = models.CharField(max_length=64)
    opened_at = models.DateTimeField()

    objects: ClassVar[models.Manager[OpenedCase]] = models.Manager()

    def __str__(self) -> str:
        return f"opened case {self.case}"
