"""Encrypted, verified backups of the whole database (``alphasms backup create|list``; restore.py restores).

A backup file is an age file (https://age-encryption.org/v1; pyrage) holding a tar archive of two members:

* ``manifest.json`` — ``format`` (``alphasms.backup/1``), ``created_at`` (UTC, the instant of the
  snapshot), ``engine`` (``sqlite``/``postgresql``), ``alphasms_version``, ``migrations`` (app → applied
  migration names, in the order applied) and ``latest_migrations`` (app → newest), ``dump`` (``name``,
  ``sha256`` hex, ``size_bytes``), ``tables`` (table → row count at the snapshot) and ``ledger``
  (``max_id``, ``max_at`` and every ``[id, at, kind, customer_id]`` row of ``privacy.PrivacyLedger``: ids
  only, no personal data) — what a restore needs to re-apply later erasures and restrictions;
* the dump: SQLite — a copy made with SQLite's online backup API while the application runs, put in
  rollback-journal mode, VACUUMed (no freed pages, so no bytes of erased rows) and checked with
  ``PRAGMA integrity_check``; PostgreSQL — ``pg_dump --format=custom`` of an exported snapshot whose row
  counts and ledger are read in the same REPEATABLE READ transaction, checked with ``pg_restore --list``.

Encryption: a passphrase (age scrypt recipient) or x25519 recipients (``age1…``). Without either, the
recipient configured in ``ALPHASMS_BACKUP_RECIPIENT`` is used, else the key file ``backup-key.txt`` in the
data directory (created on first use). That key file, like a passphrase, is never inside any backup: keep a
copy of it somewhere else, or the backups cannot be read. age's authenticated encryption (ChaCha20-Poly1305
in 64 KiB chunks with a final-chunk flag) detects any altered or truncated byte; the manifest's SHA-256 is
checked on top (``read_backup``).

The database holds credentials only as ciphertext (gateway keys entered in the web app,
``alphasms.credentials``); their key file (``secrets-key.txt`` in the data directory) is never inside a
backup, since a backup holds the database dump and nothing else of the data directory.

Daily backups: when a recipient is configured or the key file exists (so the first ``alphasms backup
create`` switches them on, and says so) and ``ALPHASMS_BACKUP_DAILY`` is not false, the worker makes one
backup a day (``backup_if_due``), named ``alphasms-daily-<UTC>.age``, and keeps 7 daily and 4 weekly ones
of those (``rotate``). Backups made by hand are named ``alphasms-backup-<UTC>.age`` and are never rotated
away; nor do they count as the day's daily backup (the worker makes its own that day all the same, so the
daily series has no gaps and a hand-made file is never the only copy of a day the rotation manages).
Daily backups written before this naming (``alphasms-backup-…`` files whose name a ``BackupRun`` row
records) are rotated as daily ones.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyrage
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from alphasms.cli_text import t

log = logging.getLogger("alphasms.backup")

FORMAT = "alphasms.backup/1"
MANIFEST = "manifest.json"
SQLITE_DUMP = "database.sqlite3"
POSTGRESQL_DUMP = "database.pgdump"
FILE_PREFIX = "alphasms-backup-"
DAILY_PREFIX = "alphasms-daily-"
MANUAL = "manual"
DAILY = "daily"
FILE_SUFFIX = ".age"
KEY_FILE_NAME = "backup-key.txt"
AGE_MAGIC = b"age-encryption.org/v1\n"
_FILE_RE = re.compile(rf"^({FILE_PREFIX}|{DAILY_PREFIX})(\d{{8}}T\d{{6}}Z)(?:-\d+)?{re.escape(FILE_SUFFIX)}$")
_CHUNK = 1024 * 1024

Progress = Callable[[str, int | None], None]
"""Progress callback: (stage, byte count or None). Stages: snapshot, check, archive, encrypt, done."""


def _no_progress(stage: str, size: int | None) -> None:
    return None


class BackupError(Exception):
    """A backup could not be made or read. ``str()`` is one sentence for the user (German or English by
    the CLI locale) naming what and the fix; never a secret."""


class BackupRefused(BackupError):
    """A backup file is unreadable, altered, truncated, encrypted for another key, or of a schema this
    code cannot restore. Raised before anything live was changed."""


class ToolMissing(BackupError):
    """``pg_dump``, ``pg_restore`` or ``psql`` is missing (Debian/Ubuntu package ``postgresql-client``)."""


# --- keys ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Encryption:
    """How a backup is encrypted: ``passphrase`` (age scrypt) or ``recipients`` (x25519 ``age1…``
    strings); exactly one is set. ``source`` says where it came from, for messages."""

    passphrase: str | None = None
    recipients: tuple[str, ...] = ()
    source: str = ""


@dataclasses.dataclass(frozen=True)
class Decryption:
    """How a backup is decrypted: ``passphrase`` or ``identities`` (``AGE-SECRET-KEY-1…`` strings)."""

    passphrase: str | None = None
    identities: tuple[str, ...] = ()
    source: str = ""


def data_dir() -> Path:
    """The per-user data directory (``ALPHASMS_DATA_DIR``)."""
    return Path(settings.DATA_DIR)


def key_file() -> Path:
    """The backup key file (age identity) in the data directory; never inside a backup."""
    return data_dir() / KEY_FILE_NAME


class BackupSettings:
    """Backup settings, read at call time (``override_settings`` works), in ``alphasms.conf`` style.

    Lookup order: the ``ALPHASMS`` settings dict (tests), then the environment variable
    ``ALPHASMS_<NAME>``, then the file named by ``ALPHASMS_<NAME>_FILE``; documented in README.md.
    """

    def _get(self, name: str, default: str = "") -> str:
        value = settings.ALPHASMS.get(name)
        if value not in (None, ""):
            return str(value)
        from alphasms.project.settings import env

        return env(f"ALPHASMS_{name}", default)

    def _int(self, name: str, default: int) -> int:
        value = self._get(name, str(default)).strip()
        try:
            return max(0, int(value))
        except ValueError:
            raise BackupError(f"ALPHASMS_{name}: {value!r} is not a whole number") from None

    @property
    def BACKUP_DIR(self) -> Path:
        """Folder of the backups (``ALPHASMS_BACKUP_DIR``; default ``<data dir>/backups``). Put it on
        another disk: a backup beside the database dies with it."""
        configured = self._get("BACKUP_DIR")
        return Path(configured) if configured else data_dir() / "backups"

    @property
    def BACKUP_RECIPIENT(self) -> str:
        """age public key (``age1…``) the daily and default backups are encrypted for ("" = the key
        file ``backup-key.txt`` in the data directory)."""
        return self._get("BACKUP_RECIPIENT").strip()

    @property
    def BACKUP_DAILY(self) -> bool:
        """Whether the worker makes the daily backup once a key is set up (``ALPHASMS_BACKUP_DAILY``,
        default true; ``false``/``0``/``no``/``off`` switch it off)."""
        return self._get("BACKUP_DAILY", "true").strip().lower() not in ("false", "0", "no", "off", "nein")

    @property
    def BACKUP_KEEP_DAILY(self) -> int:
        """Daily backups kept by the rotation: the newest of each of that many recent days (7)."""
        return self._int("BACKUP_KEEP_DAILY", 7)

    @property
    def BACKUP_KEEP_WEEKLY(self) -> int:
        """Weekly backups kept by the rotation: the newest of each of that many recent ISO weeks (4)."""
        return self._int("BACKUP_KEEP_WEEKLY", 4)


backup_settings = BackupSettings()


def backup_dir() -> Path:
    """``ALPHASMS_BACKUP_DIR``, default ``<data dir>/backups``."""
    return backup_settings.BACKUP_DIR


def configured_recipient() -> str:
    """``ALPHASMS_BACKUP_RECIPIENT`` (an ``age1…`` public key; "" = none)."""
    return backup_settings.BACKUP_RECIPIENT


def read_passphrase_file(path: str | Path, option: str = "--passphrase-file") -> str:
    """The passphrase in ``path`` (first line, without the line break). Raises BackupError naming
    ``option`` when the file is unreadable or empty."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # Notepad writes a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(
            t(
                f"{option}: Datei {str(path)!r} nicht lesbar ({type(exc).__name__}) – Pfad prüfen.",
                f"{option}: cannot read {str(path)!r} ({type(exc).__name__}) – check the path.",
            )
        ) from None
    lines = text.splitlines()
    passphrase = lines[0] if lines else ""
    if not passphrase.strip():
        raise BackupError(
            t(
                f"{option}: {str(path)!r} ist leer – die Passphrase in die erste Zeile schreiben.",
                f"{option}: {str(path)!r} is empty – put the passphrase on its first line.",
            )
        )
    return passphrase


def check_recipient(text: str, option: str = "--recipient") -> str:
    """``text`` if it is an age x25519 public key (``age1…``), else BackupError naming ``option``."""
    value = text.strip()
    try:
        pyrage.x25519.Recipient.from_str(value)
    except pyrage.RecipientError:
        raise BackupError(
            t(
                f"{option}: {value[:80]!r} ist kein age-Empfänger – einen öffentlichen Schlüssel der Form "
                "age1… angeben (age-keygen zeigt ihn an).",
                f"{option}: {value[:80]!r} is not an age recipient – give a public key of the form age1… "
                "(age-keygen prints it).",
            )
        ) from None
    return value


def read_identity_file(path: str | Path, option: str = "--identity-file") -> tuple[str, ...]:
    """The age identities (``AGE-SECRET-KEY-1…`` lines) in ``path``; BackupError naming ``option``."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(
            t(
                f"{option}: Datei {str(path)!r} nicht lesbar ({type(exc).__name__}) – Pfad prüfen.",
                f"{option}: cannot read {str(path)!r} ({type(exc).__name__}) – check the path.",
            )
        ) from None
    identities = tuple(line.strip() for line in lines if line.strip().startswith("AGE-SECRET-KEY-1"))
    try:
        for identity in identities:
            pyrage.x25519.Identity.from_str(identity)
    except pyrage.IdentityError:
        identities = ()
    if not identities:
        raise BackupError(
            t(
                f"{option}: {str(path)!r} enthält keinen age-Schlüssel (Zeile AGE-SECRET-KEY-1…).",
                f"{option}: {str(path)!r} holds no age key (a line AGE-SECRET-KEY-1…).",
            )
        )
    return identities


def ensure_key_file() -> tuple[Path, str, bool]:
    """The key file's path, its public key (``age1…``) and whether it was created just now.

    Creates ``<data dir>/backup-key.txt`` (mode 0600, age's identity format with ``# public key:``) when
    absent. Side effect: that file. The caller must tell the user to keep a copy elsewhere.
    """
    path = key_file()
    created = False
    if not path.exists():
        identity = pyrage.x25519.Identity.generate()
        public = str(identity.to_public())
        stamp = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        body = f"# created: {stamp}\n# public key: {public}\n{identity}\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body)
        created = True
    identity_text = read_identity_file(path, option=str(path))[0]
    public = str(pyrage.x25519.Identity.from_str(identity_text).to_public())
    return path, public, created


def encryption_for(passphrase_file: str | None = None, recipient: str | None = None) -> Encryption:
    """The encryption a backup should use: ``--passphrase-file``, else ``--recipient``, else
    ``ALPHASMS_BACKUP_RECIPIENT``, else the key file (created if absent). BackupError on bad input."""
    if passphrase_file:
        return Encryption(passphrase=read_passphrase_file(passphrase_file), source="passphrase")
    if recipient:
        return Encryption(recipients=(check_recipient(recipient),), source="recipient")
    if configured_recipient():
        value = check_recipient(configured_recipient(), option="ALPHASMS_BACKUP_RECIPIENT")
        return Encryption(recipients=(value,), source="ALPHASMS_BACKUP_RECIPIENT")
    path, public, _ = ensure_key_file()
    return Encryption(recipients=(public,), source=str(path))


def decryption_for(passphrase_file: str | None = None, identity_file: str | None = None) -> Decryption:
    """The key to read a backup: ``--passphrase-file``, else ``--identity-file``, else the key file in the
    data directory (when it exists; otherwise a Decryption with nothing, which refuses clearly)."""
    if passphrase_file:
        return Decryption(passphrase=read_passphrase_file(passphrase_file), source="passphrase")
    if identity_file:
        return Decryption(identities=read_identity_file(identity_file), source=str(identity_file))
    if key_file().exists():
        return Decryption(identities=read_identity_file(key_file(), option=str(key_file())), source="key")
    return Decryption()


# --- snapshot facts -----------------------------------------------------------------------------------


def _iso(instant: dt.datetime | str | None) -> str | None:
    if instant is None:
        return None
    if isinstance(instant, str):  # SQLite returns stored text
        instant = dt.datetime.fromisoformat(instant.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _facts(cursor: Any, tables: Sequence[str]) -> dict[str, Any]:
    """Row counts, applied migrations and the privacy ledger, read through a DB-API ``cursor`` that sees
    the snapshot being backed up."""
    counts: dict[str, int] = {}
    for table in sorted(tables):
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
        counts[table] = int(cursor.fetchone()[0])
    migrations: dict[str, list[str]] = {}
    if "django_migrations" in counts:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        for app, name in cursor.fetchall():
            migrations.setdefault(str(app), []).append(str(name))
    ledger: list[list[Any]] = []
    if "privacy_privacyledger" in counts:
        cursor.execute("SELECT id, at, kind, customer_id FROM privacy_privacyledger ORDER BY id")
        ledger = [[int(pk), _iso(at), str(kind), int(cid)] for pk, at, kind, cid in cursor.fetchall()]
    return {
        "migrations": migrations,
        "latest_migrations": {app: names[-1] for app, names in migrations.items()},
        "tables": counts,
        "ledger": {
            "max_id": max((row[0] for row in ledger), default=None),
            "max_at": max((row[1] for row in ledger), default=None),
            "entries": ledger,
        },
    }


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- SQLite -------------------------------------------------------------------------------------------


def _raw_sqlite(connection: BaseDatabaseWrapper) -> sqlite3.Connection:
    connection.ensure_connection()
    raw = connection.connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def sqlite_tables(db: sqlite3.Connection) -> list[str]:
    """User tables of an SQLite database (no ``sqlite_*`` internals)."""
    rows = db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
    return [str(name) for (name,) in rows.fetchall()]


def check_sqlite_copy(path: Path) -> None:
    """Raise BackupRefused unless ``PRAGMA integrity_check`` of the database at ``path`` says ok."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            result = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        result = [str(exc)]
    if result != ["ok"]:
        raise BackupRefused(
            t(
                f"Die Datenbank der Sicherung ist beschädigt (integrity_check: {'; '.join(result)[:160]}).",
                f"The database in the backup is damaged (integrity_check: {'; '.join(result)[:160]}).",
            )
        )


def _snapshot_sqlite(connection: BaseDatabaseWrapper, target: Path, progress: Progress) -> dict[str, Any]:
    """Copy the live SQLite database to ``target`` with the online backup API (one step, so the copy is
    one consistent snapshot while other processes keep writing), then make it a single self-contained
    file without free pages and check it. Returns the facts for the manifest."""
    if connection.in_atomic_block:
        raise BackupError("a backup cannot run inside a transaction (it would copy uncommitted rows)")
    raw = _raw_sqlite(connection)
    taken_at = timezone.now()
    with contextlib.closing(sqlite3.connect(target)) as copy:
        raw.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
        copy.execute("VACUUM")
        copy.commit()
        progress("snapshot", target.stat().st_size)
        facts = _facts(copy.cursor(), sqlite_tables(copy))
    check_sqlite_copy(target)
    progress("check", target.stat().st_size)
    return {"created_at": _iso(taken_at), **facts}


# --- PostgreSQL ---------------------------------------------------------------------------------------


def find_tool(name: str) -> str:
    """Path of the PostgreSQL client program ``name`` (pg_dump, pg_restore, psql): PATH first, then
    Debian's ``/usr/lib/postgresql/<major>/bin`` (newest major). Raises ToolMissing naming the package."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if candidates:
        return str(candidates[-1])
    raise ToolMissing(
        t(
            f"{name} nicht gefunden – das Paket postgresql-client installieren (Debian/Ubuntu: "
            "apt install postgresql-client; Windows/macOS: die PostgreSQL-Kommandozeilenwerkzeuge).",
            f"{name} not found – install the package postgresql-client (Debian/Ubuntu: apt install "
            "postgresql-client; Windows/macOS: the PostgreSQL command-line tools).",
        )
    )


def pg_environment(connection: BaseDatabaseWrapper) -> dict[str, str]:
    """Environment for pg_dump/pg_restore/psql from the connection's own settings (so tests reach the
    test database). The password goes in PGPASSWORD, never on the command line."""
    config = connection.settings_dict
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    pairs = {
        "PGHOST": config.get("HOST"),
        "PGPORT": config.get("PORT"),
        "PGUSER": config.get("USER"),
        "PGPASSWORD": config.get("PASSWORD"),
        "PGDATABASE": config.get("NAME"),
    }
    options = config.get("OPTIONS") or {}
    for option, variable in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
        ("passfile", "PGPASSFILE"),
        ("service", "PGSERVICE"),
    ):
        pairs[variable] = options.get(option)
    env.update({key: str(value) for key, value in pairs.items() if value not in (None, "")})
    env["PGCONNECT_TIMEOUT"] = env.get("PGCONNECT_TIMEOUT", "20")
    return env


def run_tool(args: Sequence[str], env: Mapping[str, str], what: str) -> subprocess.CompletedProcess[bytes]:
    """Run a PostgreSQL client program; BackupError with the first lines of its stderr on failure."""
    result = subprocess.run(list(args), env=dict(env), capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = " / ".join(message[:3])[:400] or f"exit {result.returncode}"
        raise BackupError(t(f"{what} fehlgeschlagen: {detail}", f"{what} failed: {detail}"))
    return result


def pg_dump_tables(path: Path, env: Mapping[str, str]) -> set[str]:
    """Tables in a custom-format dump, from ``pg_restore --list`` (which also checks the file's TOC).
    Raises BackupRefused when pg_restore cannot read it."""
    try:
        listing = run_tool([find_tool("pg_restore"), "--list", str(path)], env, "pg_restore --list")
    except ToolMissing:
        raise
    except BackupError as exc:
        raise BackupRefused(
            t(f"Die Sicherung ist kein lesbarer Dump: {exc}", f"The backup is not a readable dump: {exc}")
        ) from None
    tables = set()
    for line in listing.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split()
        # "215; 1259 16386 TABLE public appointments_customer postgres"
        if len(parts) >= 6 and not line.startswith(";") and parts[3] == "TABLE":
            tables.add(parts[5])
    return tables


def _snapshot_postgresql(connection: BaseDatabaseWrapper, target: Path, progress: Progress) -> dict[str, Any]:
    """``pg_dump --format=custom --snapshot=…`` of a snapshot exported from a REPEATABLE READ transaction
    in which the row counts and the ledger are read too, so manifest and dump agree exactly."""
    if connection.in_atomic_block:
        raise BackupError("a backup cannot run inside a transaction (its snapshot must be its own)")
    env = pg_environment(connection)
    pg_dump = find_tool("pg_dump")
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        taken_at = timezone.now()
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
        facts = _facts(cursor, connection.introspection.table_names(cursor))
        run_tool(
            [pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={target}"],
            env,
            "pg_dump",
        )
    progress("snapshot", target.stat().st_size)
    dumped = pg_dump_tables(target, env)
    missing = sorted(set(facts["tables"]) - dumped)
    if missing:
        raise BackupError(f"pg_dump left out tables: {', '.join(missing[:5])}")
    progress("check", target.stat().st_size)
    return {"created_at": _iso(taken_at), **facts}


# --- archive and encryption ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BackupResult:
    """A backup written: its ``path``, ``size_bytes`` (the encrypted file) and ``manifest``."""

    path: Path
    size_bytes: int
    manifest: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of ``alphasms backup create --json``."""
        return {
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "created_at": self.manifest["created_at"],
            "engine": self.manifest["engine"],
            "dump_sha256": self.manifest["dump"]["sha256"],
            "tables": len(self.manifest["tables"]),
            "rows": sum(self.manifest["tables"].values()),
        }


def engine_of(connection: BaseDatabaseWrapper) -> str:
    """``sqlite`` or ``postgresql``; BackupError for other engines."""
    if connection.vendor in ("sqlite", "postgresql"):
        return str(connection.vendor)
    raise BackupError(f"backups support SQLite and PostgreSQL, not {connection.vendor}")


def default_file_name(now: dt.datetime, daily: bool = False) -> str:
    """``alphasms-backup-20261130T020000Z.age`` (UTC instant of the backup); a worker's daily backup is
    ``alphasms-daily-20261130T020000Z.age``."""
    prefix = DAILY_PREFIX if daily else FILE_PREFIX
    return f"{prefix}{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}{FILE_SUFFIX}"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alphasms")
    except PackageNotFoundError:
        return "0"


def create_backup(
    encryption: Encryption,
    *,
    output: Path | None = None,
    directory: Path | None = None,
    using: str = DEFAULT_DB_ALIAS,
    progress: Progress = _no_progress,
    actor: str = "system:backup",
    daily: bool = False,
) -> BackupResult:
    """Make one encrypted, integrity-checked backup of the database ``using`` while it runs.

    Written to ``output``, else to ``directory`` (default :func:`backup_dir`) as
    :func:`default_file_name` (``daily``: the worker's name, which only the rotation deletes); first
    under ``….partial`` and renamed when complete (mode 0600), so a crash never leaves a half file
    under a backup's name. Temporary files (the plain dump) live in a private temporary directory and
    are removed. Side effects: the file; one audit entry (EXPORT,
    object "backup", the file name), written just before the snapshot so the backup holds it.
    Raises BackupError (ToolMissing for absent PostgreSQL tools); nothing but the audit entry is left
    behind then.
    """
    from alphasms.privacy.audit import audit
    from alphasms.privacy.models import AuditAction

    connection = connections[using]
    engine = engine_of(connection)
    if connection.in_atomic_block:
        raise BackupError("a backup cannot run inside a transaction (its snapshot must be its own)")
    started = timezone.now()
    target = output or (directory or backup_dir()) / default_file_name(started, daily)
    target.parent.mkdir(parents=True, exist_ok=True)
    target = _free_name(target) if output is None else target
    # Recorded before the snapshot, so the backup holds the entry about itself.
    audit(actor, AuditAction.EXPORT, "backup", target.name, f"engine={engine}")
    with tempfile.TemporaryDirectory(prefix="alphasms-backup-") as tmp:
        work = Path(tmp)
        dump_name = SQLITE_DUMP if engine == "sqlite" else POSTGRESQL_DUMP
        dump = work / dump_name
        if engine == "sqlite":
            facts = _snapshot_sqlite(connection, dump, progress)
        else:
            facts = _snapshot_postgresql(connection, dump, progress)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "created_at": facts.pop("created_at"),
            "engine": engine,
            "alphasms_version": _version(),
            "dump": {"name": dump_name, "sha256": sha256_file(dump), "size_bytes": dump.stat().st_size},
            **facts,
        }
        archive = work / "archive.tar.gz"
        with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
            data = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname=dump_name, recursive=False)
        progress("archive", archive.stat().st_size)
        partial = target.with_name(target.name + ".partial")
        try:
            _encrypt(archive, partial, encryption)
            partial.chmod(0o600)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    size = target.stat().st_size
    progress("encrypt", size)
    progress("done", size)
    return BackupResult(target, size, manifest)


def _free_name(target: Path) -> Path:
    """``target``, or ``…-2.age``, ``…-3.age`` when a backup of the same second exists."""
    candidate, number = target, 1
    while candidate.exists():
        number += 1
        candidate = target.with_name(f"{target.name[: -len(FILE_SUFFIX)]}-{number}{FILE_SUFFIX}")
    return candidate


def _encrypt(archive: Path, target: Path, encryption: Encryption) -> None:
    try:
        if encryption.passphrase is not None:
            # pyrage's passphrase mode works on bytes; practice databases are megabytes, not gigabytes.
            target.write_bytes(pyrage.passphrase.encrypt(archive.read_bytes(), encryption.passphrase))
            return
        recipients = [pyrage.x25519.Recipient.from_str(r) for r in encryption.recipients]
        pyrage.encrypt_file(str(archive), str(target), recipients)
    except (pyrage.EncryptError, pyrage.RecipientError) as exc:
        raise BackupError(f"encryption failed: {exc}") from None


# --- reading a backup ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class VerifiedBackup:
    """A backup decrypted and checked in a private temporary directory: ``manifest`` and ``dump`` (the
    plain dump file). Valid only inside :func:`read_backup`'s ``with`` block."""

    path: Path
    manifest: dict[str, Any]
    dump: Path


def _refuse(de: str, en: str) -> BackupRefused:
    return BackupRefused(t(de, en))


def _age_kind(path: Path) -> str:
    """``scrypt`` (passphrase) or ``X25519`` from the age header; BackupRefused when not an age file."""
    try:
        with path.open("rb") as handle:
            head = handle.read(256)
    except OSError as exc:
        raise _refuse(
            f"Sicherung {str(path)!r} nicht lesbar ({type(exc).__name__}) – Pfad prüfen.",
            f"cannot read backup {str(path)!r} ({type(exc).__name__}) – check the path.",
        ) from None
    if not head.startswith(AGE_MAGIC):
        raise _refuse(
            f"{path.name} ist keine AlphaSMS-Sicherung (keine age-verschlüsselte Datei).",
            f"{path.name} is not an AlphaSMS backup (not an age-encrypted file).",
        )
    stanza = head[len(AGE_MAGIC) :].split(b"\n", 1)[0].split(b" ")
    return stanza[1].decode("ascii", "replace") if len(stanza) > 1 else "?"


def _decrypt(path: Path, target: Path, decryption: Decryption) -> None:
    kind = _age_kind(path)
    if kind == "scrypt" and decryption.passphrase is None:
        raise _refuse(
            "Diese Sicherung ist mit einer Passphrase verschlüsselt – --passphrase-file DATEI angeben.",
            "This backup is encrypted with a passphrase – give --passphrase-file FILE.",
        )
    if kind != "scrypt" and not decryption.identities:
        raise _refuse(
            "Diese Sicherung ist für einen Schlüssel verschlüsselt – --identity-file DATEI angeben (die "
            f"Schlüsseldatei {KEY_FILE_NAME} des Datenverzeichnisses oder Ihr age-Schlüssel).",
            "This backup is encrypted for a key – give --identity-file FILE (the data directory's "
            f"{KEY_FILE_NAME} or your age key).",
        )
    try:
        if kind == "scrypt":
            assert decryption.passphrase is not None
            target.write_bytes(pyrage.passphrase.decrypt(path.read_bytes(), decryption.passphrase))
        else:
            identities = [pyrage.x25519.Identity.from_str(i) for i in decryption.identities]
            pyrage.decrypt_file(str(path), str(target), identities)
    except (pyrage.DecryptError, OSError) as exc:
        reason = str(exc)
        if isinstance(exc, OSError) and "decrypt" not in reason:  # disk full, unreadable, …
            raise _refuse(
                f"Sicherung nicht lesbar ({type(exc).__name__}: {reason[:120]}). Nichts wurde geändert.",
                f"Backup not readable ({type(exc).__name__}: {reason[:120]}). Nothing was changed.",
            ) from None
        if "No matching keys" in reason:
            raise _refuse(
                "Die Sicherung ist für einen anderen Schlüssel verschlüsselt – den passenden mit "
                "--identity-file angeben. Nichts wurde geändert.",
                "The backup is encrypted for another key – give the matching one with --identity-file. "
                "Nothing was changed.",
            ) from None
        if kind == "scrypt" and "failed" in reason.lower():
            raise _refuse(
                "Falsche Passphrase (oder der Kopf der Datei wurde verändert). Nichts wurde geändert.",
                "Wrong passphrase (or the file's header was altered). Nothing was changed.",
            ) from None
        raise _refuse(
            "Die Sicherung ist verändert oder abgeschnitten (Entschlüsselung/Prüfsumme schlägt fehl). "
            "Nichts wurde geändert – eine andere Sicherung verwenden.",
            "The backup is altered or truncated (decryption/authentication fails). Nothing was changed "
            "– use another backup.",
        ) from None
    except pyrage.IdentityError as exc:
        raise _refuse(
            f"Sicherung nicht lesbar ({type(exc).__name__}). Nichts wurde geändert.",
            f"Backup not readable ({type(exc).__name__}). Nothing was changed.",
        ) from None


def _unpack(archive: Path, work: Path) -> tuple[dict[str, Any], Path]:
    """Extract manifest and dump (only those two regular files; no paths) and check their shape."""
    damaged = _refuse(
        "Der Inhalt der Sicherung ist kein gültiges AlphaSMS-Archiv. Nichts wurde geändert.",
        "The backup's content is not a valid AlphaSMS archive. Nothing was changed.",
    )
    manifest: dict[str, Any] | None = None
    dump: Path | None = None
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if not member.isfile() or member.name not in (MANIFEST, SQLITE_DUMP, POSTGRESQL_DUMP):
                    raise damaged
                source = tar.extractfile(member)
                assert source is not None
                if member.name == MANIFEST:
                    manifest = json.loads(source.read(10 * 1024 * 1024).decode("utf-8"))
                else:
                    dump = work / member.name
                    with dump.open("wb") as out:
                        shutil.copyfileobj(source, out, _CHUNK)
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeDecodeError):
        raise damaged from None
    if not isinstance(manifest, dict) or dump is None or manifest.get("format") != FORMAT:
        raise damaged
    declared = manifest.get("dump") or {}
    if not isinstance(declared, dict) or declared.get("name") != dump.name:
        raise damaged
    if declared.get("size_bytes") != dump.stat().st_size or declared.get("sha256") != sha256_file(dump):
        raise _refuse(
            "Die Prüfsumme der Datenbank in der Sicherung stimmt nicht. Nichts wurde geändert.",
            "The checksum of the database in the backup does not match. Nothing was changed.",
        )
    return manifest, dump


def check_schema(manifest: Mapping[str, Any], using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Migrations this code has that the backup lacks (an older backup, migrated after the restore).
    Raises BackupRefused when the backup has a migration this code does not know (a newer version)."""
    from django.db.migrations.loader import MigrationLoader

    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    migrations = _manifest_migrations(manifest)
    applied = {(app, name) for app, names in migrations.items() for name in names}
    unknown = sorted(key for key in applied if key not in graph.nodes)
    if unknown:
        app, name = unknown[0]
        raise _refuse(
            f"Die Sicherung stammt von einer neueren AlphaSMS-Version (Migration {app}.{name} ist hier "
            "unbekannt) – zuerst AlphaSMS aktualisieren, dann wiederherstellen. Nichts wurde geändert.",
            f"The backup comes from a newer AlphaSMS version (migration {app}.{name} is unknown here) – "
            "update AlphaSMS first, then restore. Nothing was changed.",
        )
    return sorted(f"{app}.{name}" for app, name in graph.nodes if (app, name) not in applied)


@contextlib.contextmanager
def read_backup(
    path: Path, decryption: Decryption, using: str = DEFAULT_DB_ALIAS
) -> Iterator[VerifiedBackup]:
    """Decrypt and verify the whole backup at ``path`` into a private temporary directory, touching
    nothing live; yields a :class:`VerifiedBackup`, removes the directory afterwards.

    Checks, each raising BackupRefused with its own message: an age file; the key or passphrase fits;
    age's authentication of every chunk and the end of the file (altered or truncated bytes); the archive
    holds exactly a manifest and a dump of this format; the dump's size and SHA-256; the engine is the
    live one; no migration is newer than this code; then SQLite's ``PRAGMA integrity_check`` and the
    row count of every table, or ``pg_restore --list`` and the table list for PostgreSQL.
    """
    connection = connections[using]
    with tempfile.TemporaryDirectory(prefix="alphasms-restore-") as tmp:
        work = Path(tmp)
        archive = work / "archive.tar.gz"
        _decrypt(path, archive, decryption)
        manifest, dump = _unpack(archive, work)
        archive.unlink()
        engine = engine_of(connection)
        if manifest.get("engine") != engine:
            raise _refuse(
                f"Die Sicherung ist eine {manifest.get('engine')}-Datenbank, hier läuft {engine} – "
                "nur in dieselbe Datenbankart wiederherstellen. Nichts wurde geändert.",
                f"The backup is a {manifest.get('engine')} database, this install runs {engine} – "
                "restore into the same kind of database only. Nothing was changed.",
            )
        try:
            _verify_contents(manifest, dump, engine, connection, using)
        except (sqlite3.Error, TypeError, ValueError, AttributeError, KeyError) as exc:
            # A manifest that lies in a way the checks above did not foresee: refused, never a crash.
            raise _refuse(
                f"Die Sicherung lässt sich nicht prüfen ({type(exc).__name__}: ihr Manifest passt nicht "
                "zu ihrem Inhalt). Nichts wurde geändert.",
                f"The backup cannot be verified ({type(exc).__name__}: its manifest does not match its "
                "contents). Nothing was changed.",
            ) from None
        yield VerifiedBackup(path, manifest, dump)


_TABLES_MISMATCH = (
    "Die Tabellen in der Sicherung passen nicht zu ihrem Manifest. Nichts wurde geändert.",
    "The tables in the backup do not match its manifest. Nothing was changed.",
)


def _manifest_tables(manifest: Mapping[str, Any]) -> dict[str, int]:
    """The manifest's ``tables`` ({table name: row count}); BackupRefused unless it is a mapping of
    non-empty strings to non-negative integers."""
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not all(
        isinstance(name, str) and name and type(count) is int and count >= 0 for name, count in tables.items()
    ):
        raise _refuse(
            "Das Manifest der Sicherung ist beschädigt („tables“ ist keine Zuordnung Tabelle → Zeilenzahl). "
            "Nichts wurde geändert.",
            "The backup's manifest is damaged ('tables' is not a mapping of table → row count). "
            "Nothing was changed.",
        )
    return tables


def _manifest_migrations(manifest: Mapping[str, Any]) -> dict[str, list[str]]:
    """The manifest's ``migrations`` ({app label: [migration names]}); BackupRefused unless it is a
    mapping of strings to lists of strings."""
    migrations = manifest.get("migrations", {})
    if not isinstance(migrations, dict) or not all(
        isinstance(app, str) and isinstance(names, list) and all(isinstance(n, str) for n in names)
        for app, names in migrations.items()
    ):
        raise _refuse(
            "Das Manifest der Sicherung ist beschädigt („migrations“ ist keine Zuordnung App → Liste der "
            "Migrationen). Nichts wurde geändert.",
            "The backup's manifest is damaged ('migrations' is not a mapping of app → list of "
            "migrations). Nothing was changed.",
        )
    return migrations


def _check_manifest_ledger(manifest: Mapping[str, Any]) -> None:
    """BackupRefused unless ``created_at`` is a string and ``ledger.entries`` a list of
    ``[id, "…Z", kind, customer id]`` rows (the restore compares them with the live ledger)."""
    ledger = manifest.get("ledger", {})
    entries = ledger.get("entries", []) if isinstance(ledger, dict) else None
    rows_ok = isinstance(entries, list) and all(
        isinstance(row, list)
        and len(row) == 4
        and type(row[0]) is int
        and isinstance(row[1], str)
        and isinstance(row[2], str)
        and type(row[3]) is int
        for row in entries
    )
    if not rows_ok or not isinstance(manifest.get("created_at"), str):
        raise _refuse(
            "Das Manifest der Sicherung ist beschädigt („ledger“ oder „created_at“ hat nicht die erwartete "
            "Form). Nichts wurde geändert.",
            "The backup's manifest is damaged ('ledger' or 'created_at' is not of the expected shape). "
            "Nothing was changed.",
        )


def _quoted(identifier: str) -> str:
    """An SQL identifier in double quotes, inner quotes doubled (SQL standard; SQLite and PostgreSQL)."""
    return '"' + identifier.replace('"', '""') + '"'


def _verify_contents(
    manifest: Mapping[str, Any], dump: Path, engine: str, connection: BaseDatabaseWrapper, using: str
) -> None:
    """The schema, then the tables of ``dump`` against the manifest: the same set of tables and, for
    SQLite, the same row count in each (only tables that exist are counted). Raises BackupRefused."""
    check_schema(manifest, using)
    tables = _manifest_tables(manifest)
    _check_manifest_ledger(manifest)
    if engine == "sqlite":
        check_sqlite_copy(dump)
        with contextlib.closing(sqlite3.connect(f"file:{dump}?mode=ro", uri=True)) as db:
            present = set(sqlite_tables(db))
            if set(tables) != present:
                raise _refuse(*_TABLES_MISMATCH)
            found = {
                name: db.execute(f"SELECT COUNT(*) FROM {_quoted(name)}").fetchone()[0] for name in tables
            }
        if any(found[name] != count for name, count in tables.items()):
            raise _refuse(*_TABLES_MISMATCH)
    else:
        dumped = pg_dump_tables(dump, pg_environment(connection))
        if not set(tables) <= dumped:
            raise _refuse(
                "Dem Dump in der Sicherung fehlen Tabellen seines Manifests. Nichts wurde geändert.",
                "The dump in the backup lacks tables of its manifest. Nothing was changed.",
            )


# --- listing, rotation, schedule ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BackupFile:
    """A backup in the backup directory: ``path``, ``created_at`` (UTC, from the name), ``size_bytes``
    and ``kind``: ``daily`` (the worker's ``alphasms-daily-…``, rotated) or ``manual`` (``alphasms-backup-…``,
    made by hand, never rotated)."""

    path: Path
    created_at: dt.datetime
    size_bytes: int
    kind: str = MANUAL

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "created_at": _iso(self.created_at),
            "size_bytes": self.size_bytes,
            "kind": self.kind,
        }


def list_backups(directory: Path | None = None) -> list[BackupFile]:
    """Backups named ``alphasms-backup-<UTC>.age`` (by hand) and ``alphasms-daily-<UTC>.age`` (the
    worker's) in ``directory`` (default :func:`backup_dir`), newest first. Other files are ignored (and
    never rotated)."""
    folder = directory or backup_dir()
    found = []
    for path in folder.glob(f"alphasms-*{FILE_SUFFIX}") if folder.is_dir() else ():
        match = _FILE_RE.match(path.name)
        if match and path.is_file():
            created = dt.datetime.strptime(match.group(2), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            kind = DAILY if match.group(1) == DAILY_PREFIX else MANUAL
            found.append(BackupFile(path, created, path.stat().st_size, kind))
    return sorted(found, key=lambda b: (b.created_at, b.path.name), reverse=True)


def rotation_keep(backups: Sequence[BackupFile], keep_daily: int, keep_weekly: int) -> set[Path]:
    """The backups a 7-daily/4-weekly style rotation keeps: the newest of each of the ``keep_daily``
    most recent local calendar days that have a backup, and the newest of each of the ``keep_weekly``
    most recent ISO weeks that have one (the two sets may overlap; restic's ``--keep-daily`` /
    ``--keep-weekly`` semantics). Days and weeks are in ``TIME_ZONE``."""
    keep: set[Path] = set()
    days: list[dt.date] = []
    weeks: list[tuple[int, int]] = []
    for backup in sorted(backups, key=lambda b: (b.created_at, b.path.name), reverse=True):
        day = timezone.localtime(backup.created_at).date()
        week = day.isocalendar()[:2]
        if day not in days and len(days) < keep_daily:
            days.append(day)
            keep.add(backup.path)
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.append(week)
            keep.add(backup.path)
    return keep


def rotate(
    directory: Path | None = None,
    keep_daily: int | None = None,
    keep_weekly: int | None = None,
    legacy_daily: Collection[str] = (),
) -> list[Path]:
    """Delete the worker's daily backups in ``directory`` that :func:`rotation_keep` does not keep;
    returns them. Only ``alphasms-daily-…`` files take part, plus the ``alphasms-backup-…`` file names in
    ``legacy_daily`` (daily backups written before they had their own name); backups made by hand are
    never deleted. Defaults: ``ALPHASMS_BACKUP_KEEP_DAILY`` (7) and ``ALPHASMS_BACKUP_KEEP_WEEKLY`` (4)."""
    daily = backup_settings.BACKUP_KEEP_DAILY if keep_daily is None else keep_daily
    weekly = backup_settings.BACKUP_KEEP_WEEKLY if keep_weekly is None else keep_weekly
    legacy = set(legacy_daily)
    backups = [b for b in list_backups(directory) if b.kind == DAILY or b.path.name in legacy]
    keep = rotation_keep(backups, daily, weekly)
    deleted = []
    for backup in backups:
        if backup.path not in keep:
            backup.path.unlink(missing_ok=True)
            deleted.append(backup.path)
    return deleted


def schedule_configured() -> bool:
    """Whether the worker makes daily backups: ``ALPHASMS_BACKUP_DAILY`` is not false and a recipient is
    configured (``ALPHASMS_BACKUP_RECIPIENT``) or the key file exists (created by the first ``alphasms
    backup create``, which says that daily backups start)."""
    if not backup_settings.BACKUP_DAILY:
        return False
    return bool(configured_recipient()) or key_file().exists()


def backup_if_due(now: dt.datetime | None = None) -> BackupResult | None:
    """Make the day's backup (``alphasms-daily-…``) and rotate the daily ones, once per local calendar
    day (``TIME_ZONE``); called by every worker cycle. None when not configured
    (:func:`schedule_configured`) or already done today. A backup made by hand that day does not count:
    the worker makes its own, and rotation never deletes the hand-made one.

    The day is claimed by inserting its ``BackupRun`` row (``day`` unique), so of several workers one
    runs it. A failure is logged and recorded in the row (no secret, no personal data) and not repeated
    that day. Side effects: the backup file, deletions by :func:`rotate`, the ``BackupRun`` row.
    """
    from alphasms.support.models import BackupRun

    if not schedule_configured():
        return None
    now = now or timezone.now()
    day = timezone.localdate(now)
    if BackupRun.objects.filter(day=day).exists():
        return None
    try:
        with transaction.atomic():
            run = BackupRun.objects.create(day=day, started_at=now)
    except IntegrityError:
        return None
    try:
        result = create_backup(encryption_for(), actor="worker:backup", daily=True)
        legacy = BackupRun.objects.filter(file_name__startswith=FILE_PREFIX).values_list("file_name")
        deleted = rotate(legacy_daily={name for (name,) in legacy})
    except (BackupError, OSError, DatabaseError) as exc:
        BackupRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:500]
        )
        log.exception("daily backup %s failed", day.isoformat())
        return None
    BackupRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(), file_name=result.path.name, size_bytes=result.size_bytes
    )
    log.info(
        "daily backup %s: %s (%d bytes), rotated away %d",
        day,
        result.path.name,
        result.size_bytes,
        len(deleted),
    )
    return result
