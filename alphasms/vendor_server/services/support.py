"""The support-backup drop: receive one age-encrypted backup per case, delete it when the case is closed
or its retention runs out, and sign a deletion receipt the client verifies.

Deleting means the file is removed from disk *before* the record says so: if the process dies in
between, the record still says "held", the next purge finds the file missing and completes the record;
a receipt therefore never claims a deletion that did not happen. The backup stays encrypted to the
vendor's age recipient on disk; the server never decrypts it (``alphasms vendor case decrypt`` does, on
the vendor's demand).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import secrets
from pathlib import Path
from typing import Any, Protocol

from django.db import IntegrityError, transaction

from alphasms.licensing.envelope import sign_envelope
from alphasms.vendor_server.conf import vendor_settings
from alphasms.vendor_server.models import DeletionReason, SupportCase
from alphasms.vendor_server.services.common import iso_z, now, signing_key, whole_seconds

CASE_PATTERN = re.compile(r"[A-Za-z0-9-]{1,64}")
AGE_HEADERS = (b"age-encryption.org/v1\n", b"-----BEGIN AGE ENCRYPTED FILE-----")
_CHUNK = 1 << 16
_NOT_AGE = "body is not an age-encrypted file (age-encryption.org/v1): backups arrive encrypted"


class Readable(Protocol):
    """A byte stream (Django's request, a file)."""

    def read(self, size: int = -1, /) -> bytes: ...


class SupportError(ValueError):
    """A support request cannot be served; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def check_case_id(case: str) -> str:
    """``case`` if it matches ``[A-Za-z0-9-]{1,64}``; else SupportError (400)."""
    if not CASE_PATTERN.fullmatch(case):
        raise SupportError("case must be 1–64 characters of A–Z, a–z, 0–9 and '-'", 400)
    return case


def case_path(support_case: SupportCase) -> Path:
    """Where the case's encrypted backup lies (or lay) on the vendor's disk."""
    return vendor_settings.SUPPORT_DIR / support_case.file_name


def receive_backup(case: str, stream: Readable, size_bytes: int, licence_number: str) -> SupportCase:
    """Store the backup read from ``stream`` (``size_bytes`` long, from Content-Length) for ``case``.

    Refuses (SupportError with its status): a bad case id (400), an empty body (400), more than
    ``ALPHASMS_VENDOR_SUPPORT_MAX_MB`` (413), a body that is not an age file (400: backups arrive
    encrypted or not at all), a case that already received one (409). ``delete_by`` is the arrival
    plus ``ALPHASMS_VENDOR_SUPPORT_RETENTION_DAYS``. Writes one file and one row."""
    check_case_id(case)
    if size_bytes <= 0:
        raise SupportError("empty body: send the age-encrypted backup with its Content-Length", 400)
    if size_bytes > vendor_settings.SUPPORT_MAX_BYTES:
        raise SupportError(f"backup larger than {vendor_settings.SUPPORT_MAX_BYTES} bytes", 413)
    folder = vendor_settings.SUPPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    file_name = f"{case}-{secrets.token_hex(8)}.age"  # distinct even on case-insensitive file systems
    incoming = folder / f".incoming-{file_name}"
    try:
        digest = _write(stream, size_bytes, incoming)
        received_at = whole_seconds(now())
        try:
            with transaction.atomic():
                support_case = SupportCase.objects.create(
                    case=case,
                    licence_number=licence_number[:2000],
                    file_name=file_name,
                    sha256=digest,
                    size_bytes=size_bytes,
                    received_at=received_at,
                    delete_by=received_at + vendor_settings.SUPPORT_RETENTION,
                )
                os.replace(incoming, folder / file_name)
        except IntegrityError:
            raise SupportError(f"case {case} already received a backup; open a new case", 409) from None
    finally:
        incoming.unlink(missing_ok=True)
    return support_case


def _write(stream: Readable, size_bytes: int, target: Path) -> str:
    """Copy exactly ``size_bytes`` from ``stream`` to ``target``; return the SHA-256 hex digest."""
    digest, remaining, head = hashlib.sha256(), size_bytes, b""
    with target.open("xb") as out:
        while remaining > 0:
            chunk = stream.read(min(_CHUNK, remaining))
            if not chunk:
                raise SupportError("body shorter than its Content-Length", 400)
            if len(head) < 64:
                head += chunk[:64]
                if len(head) >= 64 and not head.startswith(AGE_HEADERS):
                    raise SupportError(_NOT_AGE, 400)
            digest.update(chunk)
            out.write(chunk)
            remaining -= len(chunk)
        if not head.startswith(AGE_HEADERS):
            raise SupportError(_NOT_AGE, 400)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def held_answer(support_case: SupportCase) -> dict[str, Any]:
    """The 201 answer to an upload (protocol: case, sha256, size_bytes, received_at, delete_by)."""
    return {
        "case": support_case.case,
        "sha256": support_case.sha256,
        "size_bytes": support_case.size_bytes,
        "received_at": iso_z(support_case.received_at),
        "delete_by": iso_z(support_case.delete_by),
    }


def delete_backup(support_case: SupportCase, reason: DeletionReason) -> SupportCase:
    """Remove the case's file from disk, then record ``deleted_at``, ``reason`` and the signed receipt
    ``{"type": "alphasms-deletion-receipt", "case", "sha256", "received_at", "deleted_at", "reason"}``.
    A case deleted before is returned unchanged (the first receipt stands)."""
    with transaction.atomic():
        locked = SupportCase.objects.select_for_update().get(pk=support_case.pk)
        if locked.deleted_at is not None:
            return locked
        case_path(locked).unlink(missing_ok=True)
        deleted_at = whole_seconds(now())
        payload = {
            "type": "alphasms-deletion-receipt",
            "case": locked.case,
            "sha256": locked.sha256,
            "received_at": iso_z(locked.received_at),
            "deleted_at": iso_z(deleted_at),
            "reason": str(reason.value),
        }
        locked.deleted_at, locked.reason = deleted_at, reason.value
        locked.receipt = sign_envelope(signing_key(), payload)
        locked.save(update_fields=["deleted_at", "reason", "receipt"])
        return locked


def find_case(case: str) -> SupportCase:
    """The case record; SupportError(404, "unknown case") when no backup arrived for it."""
    check_case_id(case)
    try:
        return SupportCase.objects.get(case=case)
    except SupportCase.DoesNotExist:
        raise SupportError("unknown case", 404) from None


def close_case(case: str) -> tuple[SupportCase, bool]:
    """Close ``case``: delete its backup (reason ``case_closed``). Returns (case, deleted_now); False
    when it had been deleted before. Raises SupportError(404) for an unknown case."""
    support_case = find_case(case)
    if support_case.deleted_at is not None:
        return support_case, False
    return delete_backup(support_case, DeletionReason.CASE_CLOSED), True


def expire_if_due(support_case: SupportCase, at: dt.datetime | None = None) -> SupportCase:
    """Delete ``support_case`` (reason ``expired``) if its retention has run out at ``at``."""
    if support_case.deleted_at is None and _is_due(support_case, at or now()):
        return delete_backup(support_case, DeletionReason.EXPIRED)
    return support_case


def _is_due(support_case: SupportCase, at: dt.datetime) -> bool:
    # A shortened retention applies to backups already held too (deleting earlier never harms privacy).
    return support_case.delete_by <= at or support_case.received_at + vendor_settings.SUPPORT_RETENTION <= at


def purge_cases(at: dt.datetime | None = None) -> list[SupportCase]:
    """Delete every held backup whose retention has run out; returns the cases deleted now."""
    at = at or now()
    held = SupportCase.objects.filter(deleted_at__isnull=True).order_by("received_at")
    return [delete_backup(c, DeletionReason.EXPIRED) for c in held if _is_due(c, at)]


def case_dict(support_case: SupportCase) -> dict[str, Any]:
    """A case for listings (``vendor cases list --json``): status, instants, the file's path."""
    return {
        **held_answer(support_case),
        "status": "deleted" if support_case.deleted_at else "held",
        "deleted_at": iso_z(support_case.deleted_at) if support_case.deleted_at else None,
        "reason": support_case.reason or None,
        "path": str(case_path(support_case)),
        "licence_number": support_case.licence_number,
    }


def decrypt_backup(support_case: SupportCase, target: Path) -> int:
    """Decrypt the held backup with the vendor's age identity into ``target`` (created, mode 0600).
    Returns the number of bytes written. Raises SupportError(410) when it was deleted."""
    from pyrage import decrypt

    from alphasms.vendor_server.services.common import age_identity

    if support_case.deleted_at is not None:
        raise SupportError(f"case {support_case.case}: the backup was deleted ({support_case.reason})", 410)
    plain = decrypt(case_path(support_case).read_bytes(), [age_identity()])
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with contextlib.closing(os.fdopen(fd, "wb")) as out:
        out.write(plain)
    return len(plain)
