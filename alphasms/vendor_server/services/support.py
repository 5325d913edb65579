"""The support-backup drop: receive one age-encrypted backup per case, delete it when the case is closed
or its retention runs out, and sign a deletion receipt the client verifies.

Only a case the vendor opened takes a backup (:func:`open_case`, ``alphasms vendor case open CASE``):
opening makes a random upload token (160 bits, shown once, only its SHA-256 stored) that support gives
the practice by phone or e-mail. Upload and receipt requests carry it in ``X-AlphaSMS-Case-Token``;
without the right token a case answers exactly like an unknown one (404 ``unknown case``), so nobody can
take a case id first, plant data under it, or learn whether it exists.

Deleting means the file is removed from disk *before* the record says so: if the process dies in
between, the record still says "held", the next purge finds the file missing and completes the record;
a receipt therefore never claims a deletion that did not happen. The backup stays encrypted to the
vendor's age recipient on disk; the server never decrypts it (``alphasms vendor case decrypt`` does, on
the vendor's demand).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import Any, Protocol

from django.db import IntegrityError, transaction

from alphasms.licensing.envelope import sign_envelope
from alphasms.vendor_server.conf import vendor_settings
from alphasms.vendor_server.models import DeletionReason, OpenedCase, SupportCase
from alphasms.vendor_server.services.common import iso_z, now, signing_key, whole_seconds

CASE_PATTERN = re.compile(r"[A-Za-z0-9-]{1,64}")
AGE_VERSION_LINE = b"age-encryption.org/v1\n"
_CHUNK = 1 << 16
_NOT_AGE = "body is not an age-encrypted file (age-encryption.org/v1): backups arrive encrypted"
#: Largest age header read before the body must have shown its ``---`` MAC line.
AGE_HEADER_MAX = 1 << 16
#: Smallest age payload after the header: 16-byte nonce + one STREAM chunk's 16-byte tag (age spec).
AGE_PAYLOAD_MIN = 32
#: Random bytes of an upload token (160 bits); shown as 32 base32 letters in groups of four.
TOKEN_BYTES = 20
TOKEN_PATTERN = re.compile(r"[A-Z2-7]{32}")
_B64_KEY = re.compile(rb"[A-Za-z0-9+/]{43}")  # 32 bytes, base64 without padding (age's encoding)
_VCHAR_ARG = re.compile(rb"[\x21-\x7e]+")
_UNKNOWN_CASE = "unknown case"


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


def new_token() -> str:
    """A fresh upload token: 160 random bits as 32 base32 letters (A–Z, 2–7) in eight groups of four
    joined by ``-`` (easy to read out on the phone)."""
    text = base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def normalize_token(text: str) -> str:
    """``text`` without spaces and dashes, upper case: the form that is hashed and compared."""
    return re.sub(r"[\s-]", "", text or "").upper()


def token_digest(text: str) -> str:
    """Hex SHA-256 of the normalised token (what :class:`OpenedCase` stores)."""
    return hashlib.sha256(normalize_token(text).encode("ascii", "replace")).hexdigest()


def open_case(case: str) -> tuple[OpenedCase, str]:
    """Open ``case`` for one support backup; returns (record, token). The token is returned once and
    only its SHA-256 is stored. Opening a case again before its backup arrived replaces the token (the
    old one stops working). Raises SupportError: bad case id (400), backup already received (409)."""
    check_case_id(case)
    if SupportCase.objects.filter(case=case).exists():
        raise SupportError(f"case {case} already received a backup; open a new case", 409)
    token = new_token()
    opened, _ = OpenedCase.objects.update_or_create(
        case=case, defaults={"token_sha256": token_digest(token), "opened_at": whole_seconds(now())}
    )
    return opened, token


def authorise(case: str, token: str) -> OpenedCase:
    """The opened case whose token ``token`` is; SupportError(404, "unknown case") when the case was
    not opened or the token is missing or wrong — the same answer, so it tells nobody whether the case
    exists. The digests are compared in constant time (``hmac.compare_digest``)."""
    check_case_id(case)
    opened = OpenedCase.objects.filter(case=case).first()
    presented = token_digest(token) if TOKEN_PATTERN.fullmatch(normalize_token(token)) else "-" * 64
    expected = opened.token_sha256 if opened is not None else "0" * 64  # same work for unknown cases
    if not hmac.compare_digest(presented.encode(), expected.encode()) or opened is None:
        raise SupportError(_UNKNOWN_CASE, 404)
    return opened


def check_age_header(head: bytes, size_bytes: int) -> None:
    """SupportError(400) unless ``head`` (the first bytes of a ``size_bytes`` long body) is a binary age
    header (age-encryption.org/v1 spec): the version line; recipient stanzas ``-> TYPE ARGS…`` each with
    base64 body lines, at least one ``-> X25519 <32-byte share>`` with a 32-byte body; the ``--- <MAC>``
    line; and after it at least a nonce and one chunk's tag (32 bytes)."""
    mac_start = head.find(b"\n--- ")
    mac_end = head.find(b"\n", mac_start + 1) if mac_start >= 0 else -1
    if not head.startswith(AGE_VERSION_LINE) or mac_end < 0:
        raise SupportError(_NOT_AGE, 400)
    if not _B64_KEY.fullmatch(head[mac_start + 5 : mac_end]):
        raise SupportError(f"{_NOT_AGE} (its header MAC line is malformed)", 400)
    stanzas = head[len(AGE_VERSION_LINE) : mac_start]
    lines = stanzas.split(b"\n") if mac_start >= len(AGE_VERSION_LINE) else []
    x25519, index = 0, 0
    while index < len(lines):
        args = lines[index].split(b" ")
        if args[0] != b"->" or len(args) < 2 or not all(_VCHAR_ARG.fullmatch(a) for a in args[1:]):
            raise SupportError(f"{_NOT_AGE} (malformed recipient stanza)", 400)
        body: list[bytes] = []
        index += 1
        while index < len(lines):
            line = lines[index]
            index += 1
            body.append(line)
            if len(line) < 64:
                break
        if not body or not all(re.fullmatch(rb"[A-Za-z0-9+/]*", line) for line in body):
            raise SupportError(f"{_NOT_AGE} (malformed recipient stanza)", 400)
        if args[1] == b"X25519" and len(args) == 3 and _B64_KEY.fullmatch(args[2]) and len(body) == 1:
            x25519 += bool(_B64_KEY.fullmatch(body[0]))
    if not x25519:
        raise SupportError(f"{_NOT_AGE} (no X25519 recipient: encrypt to the vendor's age1… recipient)", 400)
    if size_bytes - (mac_end + 1) < AGE_PAYLOAD_MIN:
        raise SupportError(f"{_NOT_AGE} (too short for an encrypted payload)", 400)


def case_path(support_case: SupportCase) -> Path:
    """Where the case's encrypted backup lies (or lay) on the vendor's disk."""
    return vendor_settings.SUPPORT_DIR / support_case.file_name


def receive_backup(
    case: str, stream: Readable, size_bytes: int, licence_number: str, token: str
) -> SupportCase:
    """Store the backup read from ``stream`` (``size_bytes`` long, from Content-Length) for ``case``.

    Refuses (SupportError with its status): a bad case id (400); a case not opened or a wrong
    ``token`` (404 "unknown case", checked before the body is read); an empty body (400); more than
    ``ALPHASMS_VENDOR_SUPPORT_MAX_MB`` (413); a body that is not a binary age file with an X25519
    recipient (400, :func:`check_age_header`: backups arrive encrypted or not at all); a case that
    already received one (409). ``delete_by`` is the arrival plus
    ``ALPHASMS_VENDOR_SUPPORT_RETENTION_DAYS``. Writes one file and one row."""
    authorise(case, token)
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
    while remaining > 0 and len(head) < AGE_HEADER_MAX and not _header_read(head):
        chunk = stream.read(min(_CHUNK, remaining, AGE_HEADER_MAX - len(head)))
        if not chunk:
            raise SupportError("body shorter than its Content-Length", 400)
        head += chunk
        remaining -= len(chunk)
    check_age_header(head, size_bytes)  # nothing is written before the header is known to be age's
    with target.open("xb") as out:
        digest.update(head)
        out.write(head)
        while remaining > 0:
            chunk = stream.read(min(_CHUNK, remaining))
            if not chunk:
                raise SupportError("body shorter than its Content-Length", 400)
            digest.update(chunk)
            out.write(chunk)
            remaining -= len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _header_read(head: bytes) -> bool:
    """Whether ``head`` holds the age header's whole ``--- MAC`` line."""
    mac_start = head.find(b"\n--- ")
    return mac_start >= 0 and head.find(b"\n", mac_start + 1) >= 0


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
