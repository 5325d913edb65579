"""The encrypted credential store: gateway settings entered in the staff web app (DESIGN.md invariant 8:
"encrypted at rest with a key kept outside the database and its backups, masked when shown, never
logged").

* **Cipher**: AES-256-GCM (NIST SP 800-38D; ``cryptography``'s ``AESGCM``) with a random 96-bit nonce per
  value and the setting's name as associated data, so a ciphertext copied onto another row does not
  decrypt. Stored as ``v1.`` + base64url(nonce ‖ ciphertext ‖ tag) in ``StoredSecret.ciphertext``.
* **Key**: 32 random bytes, base64url, in a key file — by default ``<data dir>/secrets-key.txt``, created
  with mode 0600 on the first write; ``ALPHASMS_SECRETS_KEY_FILE`` names another path (a server
  installation with several hosts points them all at the same file). The file is never inside the
  database, so never inside a backup (``alphasms.support.backup`` dumps the database only) or a support
  backup (an allow-list of appointment data). Keep a copy elsewhere: without it, stored credentials must
  be entered again after moving to another machine (the settings page says so).
* **Lookup** (``alphasms.conf.AppSettings.gateway_setting``): the ``ALPHASMS`` settings dict, then the
  environment (``ALPHASMS_<NAME>`` / ``ALPHASMS_<NAME>_FILE``), then this store — so existing deployments
  configured by environment are unchanged, and the store only fills settings left empty there.
* **Masking**: :func:`mask` shows the last 4 characters of values of at least :data:`HINT_MIN_LENGTH`
  characters and none of shorter ones (an SMPP password has at most 8; 4 of them would be half of it).
* **Never logged**: no function here puts a value into a log record, an exception or an audit entry;
  errors name the setting and the key file only.

Reads are cached per process for :data:`CACHE_S` seconds (the worker asks for settings on every send), so
a credential changed in the web app reaches a running worker within that time.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, transaction
from django.dispatch import receiver
from django.utils import timezone

log = logging.getLogger("alphasms.credentials")

KEY_FILE_NAME = "secrets-key.txt"
#: Values shorter than this are masked without any character shown.
HINT_MIN_LENGTH = 10
#: Seconds a process keeps the store's rows before reading them again.
CACHE_S = 5.0
#: ``last_used_at`` is written at most this often per setting and process, in seconds.
LAST_USED_EVERY_S = 600.0
MAX_VALUE_LENGTH = 8192
_VERSION = "v1."
_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,99}")
_lock = threading.Lock()
_cache: dict[str, Any] = {"loaded_at": 0.0, "path": None, "rows": {}}


class SecretStoreError(Exception):
    """A credential could not be stored or read. ``de``/``en`` are one sentence naming the setting or
    the key file and the fix; never the value."""

    def __init__(self, de: str, en: str) -> None:
        self.de, self.en = de, en
        super().__init__(en)


class SecretUndecryptable(SecretStoreError):
    """A stored value does not decrypt: the key file is missing or is not the one it was stored with
    (a database restored on another machine), or the row was altered."""


@dataclass(frozen=True)
class StoredInfo:
    """What may be shown about a stored credential: ``name``, ``masked`` value, ``readable`` (decrypts
    with the current key) and the UTC instants ``created_at``, ``updated_at``, ``last_used_at``."""

    name: str
    masked: str
    readable: bool
    created_at: Any
    updated_at: Any
    last_used_at: Any


def key_path() -> Path:
    """The key file: ``ALPHASMS["SECRETS_KEY_FILE"]`` (tests), else the environment variable
    ``ALPHASMS_SECRETS_KEY_FILE``, else ``<data dir>/secrets-key.txt``."""
    configured = settings.ALPHASMS.get("SECRETS_KEY_FILE") or os.environ.get("ALPHASMS_SECRETS_KEY_FILE")
    if configured:
        return Path(str(configured)).expanduser()
    return Path(settings.DATA_DIR) / KEY_FILE_NAME


def mask(value: str) -> str:
    """``"••••5678"`` (last 4 characters) for a value of ≥ :data:`HINT_MIN_LENGTH` characters,
    ``"••••••••"`` for a shorter non-empty one, ``""`` for none."""
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) >= HINT_MIN_LENGTH else "••••••••"


def _hint(value: str) -> str:
    return value[-4:] if len(value) >= HINT_MIN_LENGTH else ""


def _read_key(path: Path) -> bytes:
    lines = [ln.strip() for ln in path.read_text(encoding="ascii").splitlines()]
    text = next((ln for ln in lines if ln and not ln.startswith("#")), "")
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise SecretStoreError(
            f"Schlüsseldatei {path}: kein gültiger Schlüssel (32 Bytes base64url) – die gesicherte Kopie "
            "zurücklegen oder die Datei entfernen und die Zugangsdaten neu eingeben.",
            f"Key file {path}: not a valid key (32 bytes base64url) – put the saved copy back, or remove "
            "the file and enter the credentials again.",
        )
    return key


def _key(create: bool) -> bytes | None:
    """The key from :func:`key_path`; created (mode 0600) when absent and ``create``; else None."""
    path = key_path()
    if not path.exists():
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        text = base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii").rstrip("=")
        body = (
            "# AlphaSMS key for the stored gateway credentials (AES-256-GCM). Never inside the database or\n"
            "# its backups: keep a copy somewhere else, or enter the credentials again on a new machine.\n"
            f"{text}\n"
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it just now
            return _read_key(path)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(body)
        log.info("created the credentials key file %s", path)
    return _read_key(path)


def _encrypt(key: bytes, name: str, value: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, value.encode("utf-8"), name.encode("ascii"))
    return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def _decrypt(key: bytes, name: str, token: str) -> str:
    try:
        if not token.startswith(_VERSION):
            raise ValueError("unknown format")
        raw = base64.urlsafe_b64decode(token[len(_VERSION) :])
        return AESGCM(key).decrypt(raw[:12], raw[12:], name.encode("ascii")).decode("utf-8")
    except (InvalidTag, ValueError, binascii.Error):
        raise SecretUndecryptable(
            f"ALPHASMS_{name}: der gespeicherte Wert lässt sich mit der Schlüsseldatei {key_path()} nicht "
            "entschlüsseln (Schlüssel fehlt oder stammt von einem anderen Rechner) – den Wert neu eingeben.",
            f"ALPHASMS_{name}: the stored value does not decrypt with the key file {key_path()} (key "
            "missing or from another machine) – enter the value again.",
        ) from None


def validate_name(name: str) -> str:
    """``name`` if it is a setting name (``A–Z 0–9 _``, ≤ 100, without ``ALPHASMS_``); else
    :class:`SecretStoreError`."""
    if not _NAME.fullmatch(name or "") or name.startswith("ALPHASMS_"):
        raise SecretStoreError(
            f"Einstellung {name!r}: nur Großbuchstaben, Ziffern und „_“, ohne „ALPHASMS_“.",
            f"Setting {name!r}: capital letters, digits and '_' only, without 'ALPHASMS_'.",
        )
    return name


def clear_cache() -> None:
    """Forget the cached rows (after a write, and when settings change in tests)."""
    with _lock:
        _cache.update(loaded_at=0.0, path=None, rows={})


@receiver(setting_changed)
def _settings_changed(setting: str, **kwargs: Any) -> None:
    if setting in ("ALPHASMS", "DATA_DIR"):
        clear_cache()


def set_secret(name: str, value: str, actor: str) -> StoredInfo:
    """Encrypt and store ``value`` for setting ``name`` (replacing a stored one); returns what may be
    shown. Surrounding whitespace is removed (pasted keys often carry a newline).

    Side effects: the key file on first use (mode 0600); one ``StoredSecret`` row written; one audit
    entry (``change``, object ``credential`` <name>, no value). Raises :class:`SecretStoreError` for a
    bad name, an empty or too long value, or an unreadable key file.
    """
    from alphasms.credentials.models import StoredSecret
    from alphasms.privacy.audit import audit
    from alphasms.privacy.models import AuditAction

    validate_name(name)
    value = value.strip()
    if not value or len(value) > MAX_VALUE_LENGTH or "\n" in value or "\r" in value:
        raise SecretStoreError(
            f"ALPHASMS_{name}: einen Wert in einer Zeile eingeben (1–{MAX_VALUE_LENGTH} Zeichen).",
            f"ALPHASMS_{name}: enter a value on one line (1–{MAX_VALUE_LENGTH} characters).",
        )
    key = _key(create=True)
    assert key is not None
    now = timezone.now()
    with transaction.atomic():
        row, created = _upsert(StoredSecret, name, _encrypt(key, name, value), _hint(value), now)
        audit(actor, AuditAction.CHANGE, "credential", name, "stored (encrypted)" if created else "replaced")
    clear_cache()
    return _info(row, readable=True)


def _upsert(model: Any, name: str, token: str, hint: str, now: Any) -> tuple[Any, bool]:
    row = model.objects.select_for_update().filter(name=name).first()
    if row is None:
        return model.objects.create(
            name=name, ciphertext=token, hint=hint, created_at=now, updated_at=now
        ), True
    row.ciphertext, row.hint, row.updated_at = token, hint, now
    row.save(update_fields=["ciphertext", "hint", "updated_at"])
    return row, False


def clear_secret(name: str, actor: str) -> bool:
    """Delete the stored value of ``name``; True when there was one. Side effects: the row deleted, one
    audit entry (``delete``, object ``credential`` <name>)."""
    from alphasms.credentials.models import StoredSecret
    from alphasms.privacy.audit import audit
    from alphasms.privacy.models import AuditAction

    validate_name(name)
    with transaction.atomic():
        deleted, _ = StoredSecret.objects.filter(name=name).delete()
        if deleted:
            audit(actor, AuditAction.DELETE, "credential", name, "cleared")
    clear_cache()
    return bool(deleted)


def _info(row: Any, readable: bool) -> StoredInfo:
    masked = ("••••" + row.hint) if row.hint else "••••••••"
    return StoredInfo(row.name, masked, readable, row.created_at, row.updated_at, row.last_used_at)


def describe(names: list[str] | tuple[str, ...] | None = None) -> dict[str, StoredInfo]:
    """What may be shown about the stored credentials (all, or those in ``names``): name → info with the
    masked value and whether it still decrypts. One query; decrypts nothing it returns."""
    from alphasms.credentials.models import StoredSecret

    rows = StoredSecret.objects.all()
    if names is not None:
        rows = rows.filter(name__in=list(names))
    key = _key(create=False)
    result = {}
    for row in rows:
        readable = key is not None
        if key is not None:
            try:
                _decrypt(key, row.name, row.ciphertext)
            except SecretUndecryptable:
                readable = False
        result[row.name] = _info(row, readable)
    return result


def _rows() -> dict[str, list[Any]]:
    """name → [ciphertext, last_used_at] of every stored row, cached for :data:`CACHE_S` seconds."""
    from alphasms.credentials.models import StoredSecret

    path, now = key_path(), time.monotonic()
    with _lock:
        if _cache["path"] == path and now - _cache["loaded_at"] < CACHE_S:
            return dict(_cache["rows"])
    try:
        with transaction.atomic():  # a savepoint: a missing table (before migrate) aborts nothing else
            rows = {
                n: [c, u]
                for n, c, u in StoredSecret.objects.values_list("name", "ciphertext", "last_used_at")
            }
    except DatabaseError:
        return {}
    with _lock:
        _cache.update(loaded_at=now, path=path, rows=rows)
    return dict(rows)


def stored_value(name: str) -> str:
    """The decrypted stored value of setting ``name``, or "" when none is stored, no key file exists or
    it does not decrypt (logged as a warning naming the setting, never the value).

    Side effect: ``last_used_at`` written at most every :data:`LAST_USED_EVERY_S` seconds."""
    key = _key(create=False)
    if key is None:  # nothing can have been stored with this key: no query at all
        return ""
    row = _rows().get(name)
    if row is None:
        return ""
    try:
        value = _decrypt(key, name, row[0])
    except SecretUndecryptable:
        log.warning("stored credential %s does not decrypt with %s; enter it again", name, key_path())
        return ""
    _touch(name, row)
    return value


def _touch(name: str, row: list[Any]) -> None:
    from alphasms.credentials.models import StoredSecret

    now = timezone.now()
    if row[1] is not None and (now - row[1]).total_seconds() < LAST_USED_EVERY_S:
        return
    try:
        with transaction.atomic():
            StoredSecret.objects.filter(name=name).update(last_used_at=now)
    except DatabaseError as exc:  # a busy database must not stop a send; the instant is advisory
        log.warning("could not record the use of credential %s: %s", name, type(exc).__name__)
        return
    with _lock:
        cached = _cache["rows"].get(name)
        if cached is not None:
            cached[1] = now
