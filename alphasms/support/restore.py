"""Restore a backup (``alphasms backup restore FILE``), keeping every later erasure and restriction.

Order, so that a bad file never changes anything and an erased person stays erased (GDPR Art. 17, 18;
DESIGN.md invariant 9):

1. :func:`alphasms.support.backup.read_backup` decrypts and verifies the *whole* file into a private
   temporary directory (authentication of every age chunk, SHA-256, archive shape, engine, schema not
   newer than this code, SQLite integrity check and row counts / ``pg_restore --list``). Any failure
   raises ``BackupRefused``: the live database is untouched.
2. The live database's privacy ledger is read: every ``PrivacyLedger`` row the backup does not hold
   (compared by id, instant, kind and customer id) was recorded after the backup was taken; for each
   restriction the Art. 18(1) ground is taken from the live audit log.
3. The live data is replaced: SQLite — the verified copy is written into the live database with SQLite's
   online backup API (through the connection, never a file copy over an open WAL database; other
   processes see the old or the new database, nothing in between); PostgreSQL — one ``psql
   --single-transaction`` run of ``pg_restore --clean --if-exists --no-owner --no-acl`` output, preceded
   by dropping tables the backup does not have (all or nothing).
4. A backup from an older schema is migrated (``migrate``).
5. The ledger rows of step 2 are applied again in their order through the privacy services
   (``subject_rights.erase`` / ``restrict`` / ``unrestrict``), then one audit entry records the restore.

The ledger lives in the database only: if the live database is lost, a restore cannot know about
erasures after the backup (the README says to re-run them from the erasure requests on file).
Stop web app and worker before restoring: a worker that keeps sending from the old data in between may
send a reminder the backup still plans.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from alphasms.support.backup import (
    BackupError,
    Decryption,
    Progress,
    VerifiedBackup,
    _no_progress,
    engine_of,
    find_tool,
    pg_dump_tables,
    pg_environment,
    read_backup,
    run_tool,
)

log = logging.getLogger("alphasms.backup")

LedgerRow = tuple[int, str, str, int]
"""(id, instant ISO 8601 UTC "…Z", kind, customer id) — as in the manifest's ``ledger.entries``."""


@dataclasses.dataclass(frozen=True)
class Replay:
    """One ledger row recorded after the backup, to apply again: ``kind`` (erase/restrict/unrestrict),
    ``customer_id``, ``at`` (its original instant) and, for a restriction, its Art. 18(1) ``basis``."""

    kind: str
    customer_id: int
    at: str
    basis: str = ""


@dataclasses.dataclass(frozen=True)
class RestoreResult:
    """What a restore did: the backup's ``manifest``; ``migrated`` — migrations applied after it (older
    schema); ``replayed`` — ledger rows applied again, with ``outcome`` per row (``erased``,
    ``already_erased``, ``restricted``, ``already_restricted``, ``unrestricted``, ``not_restricted``,
    ``unknown_customer``, ``deferred``: a message was being sent; see ``failed``)."""

    manifest: dict[str, Any]
    migrated: tuple[str, ...]
    replayed: tuple[tuple[Replay, str], ...]

    @property
    def failed(self) -> int:
        """Rows that could not be applied again (exit code 1)."""
        return sum(1 for _, outcome in self.replayed if outcome == "deferred")

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of ``alphasms backup restore --json``."""
        return {
            "created_at": self.manifest["created_at"],
            "engine": self.manifest["engine"],
            "rows": sum(self.manifest["tables"].values()),
            "migrated": list(self.migrated),
            "replayed": [
                {"kind": r.kind, "customer_id": r.customer_id, "at": r.at, "outcome": outcome}
                for r, outcome in self.replayed
            ],
        }


# --- the live ledger ----------------------------------------------------------------------------------


def later_ledger_rows(manifest: dict[str, Any], using: str = DEFAULT_DB_ALIAS) -> list[Replay]:
    """The live ledger rows the backup does not hold, oldest first, with the restriction ground from the
    live audit log ("" when unknown). An empty list when the live database has no ledger (a new install).
    Reads only."""
    from alphasms.privacy.models import AuditAction, AuditEntry, PrivacyLedger
    from alphasms.support.backup import _iso

    known = {tuple(row) for row in manifest.get("ledger", {}).get("entries", [])}
    try:
        live = list(PrivacyLedger.objects.using(using).order_by("at", "id"))
        restrictions = list(
            AuditEntry.objects.using(using)
            .filter(action=AuditAction.RESTRICT, object_type="customer")
            .order_by("id")
            .values_list("object_id", "at", "detail")
        )
    except DatabaseError:  # no tables yet: restoring into a fresh install
        return []
    later = []
    for row in live:
        key = (row.pk, _iso(row.at), row.kind, row.customer_id)
        if key in known:
            continue
        basis = ""
        if row.kind == "restrict":
            grounds = [
                found.group(1)
                for object_id, at, detail in restrictions
                if object_id == str(row.customer_id) and at <= row.at + dt.timedelta(seconds=5)
                if (found := re.search(r"basis=(\w+)", detail))
            ]
            basis = grounds[-1] if grounds else ""
        later.append(Replay(row.kind, row.customer_id, str(key[1]), basis))
    return later


def replay(
    rows: list[Replay], actor: str, wait: Callable[[float], None] = time.sleep
) -> list[tuple[Replay, str]]:
    """Apply ``rows`` again through the privacy services, in order; returns each row with its outcome
    (see :class:`RestoreResult`). An erasure held up by a message being sent is retried once the worker
    lease ends (it waits up to that lease, ``ALPHASMS_LEASE_S``); still held: ``deferred``. A restriction
    whose ground is unknown is recorded with ground (a) accuracy, the one that needs no decision.
    Side effects: those of ``erase``/``restrict``/``unrestrict`` (ledger rows, audit entries)."""
    from alphasms.appointments.models import Customer
    from alphasms.privacy.subject_rights import (
        ErasureDeferred,
        RestrictionBasis,
        erase,
        remove_deleted_bytes,
        restrict,
        unrestrict,
    )

    outcomes: list[tuple[Replay, str]] = []
    erased_any = False
    for row in rows:
        customer = Customer.objects.filter(pk=row.customer_id).first()
        if customer is None:
            outcomes.append((row, "already_erased" if row.kind == "erase" else "unknown_customer"))
            continue
        if row.kind == "erase":
            outcome = "deferred"
            for _ in range(2):
                try:
                    erase(customer, actor, compact=False)
                except ErasureDeferred as exc:
                    wait(float(exc.retry_after_s))
                    continue
                except Customer.DoesNotExist:
                    outcome = "already_erased"
                    break
                outcome, erased_any = "erased", True
                break
            outcomes.append((row, outcome))
        elif row.kind == "restrict":
            basis = row.basis if row.basis in set(RestrictionBasis) else RestrictionBasis.ACCURACY
            result = restrict(customer, actor, basis)
            outcomes.append((row, "restricted" if result.changed else "already_restricted"))
        elif row.kind == "unrestrict":
            result = unrestrict(customer, actor)
            outcomes.append((row, "unrestricted" if result.changed else "not_restricted"))
    if erased_any:
        remove_deleted_bytes()
    return outcomes


# --- replacing the live data --------------------------------------------------------------------------


def _replace_sqlite(connection: BaseDatabaseWrapper, dump: Path) -> None:
    """Write the verified copy into the live database with SQLite's backup API, through Django's own
    connection (also for the in-memory test database); then empty the WAL."""
    if connection.in_atomic_block:
        raise BackupError("a restore cannot run inside a transaction")
    connection.ensure_connection()
    live = connection.connection
    assert isinstance(live, sqlite3.Connection)
    with contextlib.closing(sqlite3.connect(f"file:{dump}?mode=ro", uri=True)) as source:
        source.backup(live)
    live.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _replace_postgresql(connection: BaseDatabaseWrapper, dump: Path) -> None:
    """One ``psql --single-transaction`` run: drop the live tables the dump lacks (tables of newer
    migrations), then the ``--clean --if-exists`` restore script of the dump. All or nothing."""
    env = pg_environment(connection)
    with connection.cursor() as cursor:
        live_tables = set(connection.introspection.table_names(cursor))
    connection.close()  # hold no locks while psql drops and recreates the tables
    extra = sorted(live_tables - pg_dump_tables(dump, env))
    with tempfile.TemporaryDirectory(prefix="alphasms-restore-sql-") as tmp:
        script = Path(tmp) / "restore.sql"
        run_tool(
            [
                find_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-acl",
                f"--file={script}",
                str(dump),
            ],
            env,
            "pg_restore",
        )
        prelude = Path(tmp) / "prelude.sql"
        prelude.write_text("".join(f"DROP TABLE IF EXISTS {_quote(t)} CASCADE;\n" for t in extra))
        run_tool(
            [
                find_tool("psql"),
                "--no-psqlrc",
                "--quiet",
                "--no-password",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                f"--file={prelude}",
                f"--file={script}",
            ],
            env,
            "psql",
        )


def restore_backup(
    path: Path,
    decryption: Decryption,
    *,
    actor: str,
    using: str = DEFAULT_DB_ALIAS,
    progress: Progress = _no_progress,
    verify_only: bool = False,
) -> RestoreResult:
    """Restore the backup at ``path`` into the live database ``using`` (steps in the module docstring).

    With ``verify_only`` it stops after the verification and the ledger read (changes nothing) and
    reports which rows a restore would apply again, with outcome ``pending``.
    Raises BackupRefused (nothing changed) for a bad file, key or schema; BackupError / ToolMissing when
    the replacement itself fails (SQLite: nothing changed; PostgreSQL: the single transaction rolled
    back). Side effects: the whole database; migrations; ledger rows and audit entries of the replay;
    one audit entry (CHANGE, object "database") naming the backup's instant and the replay counts.
    """
    from alphasms.privacy.audit import audit
    from alphasms.privacy.models import AuditAction

    connection = connections[using]
    engine = engine_of(connection)
    with read_backup(path, decryption, using) as verified:
        progress("verified", verified.dump.stat().st_size)
        later = later_ledger_rows(verified.manifest, using)
        if verify_only:
            return RestoreResult(verified.manifest, (), tuple((row, "pending") for row in later))
        _replace(connection, engine, verified)
        progress("replaced", verified.dump.stat().st_size)
    migrated = _migrate(using)
    if migrated:
        progress("migrated", len(migrated))
    outcomes = replay(later, actor)
    counts = {
        kind: sum(1 for r, _ in outcomes if r.kind == kind) for kind in ("erase", "restrict", "unrestrict")
    }
    audit(
        actor,
        AuditAction.CHANGE,
        "database",
        "restore",
        f"backup_created_at={verified.manifest['created_at']} migrated={len(migrated)} "
        + " ".join(f"replayed_{kind}={count}" for kind, count in counts.items()),
    )
    progress("done", None)
    return RestoreResult(verified.manifest, tuple(migrated), tuple(outcomes))


def _replace(connection: BaseDatabaseWrapper, engine: str, verified: VerifiedBackup) -> None:
    if engine == "sqlite":
        _replace_sqlite(connection, verified.dump)
    else:
        _replace_postgresql(connection, verified.dump)


def _migrate(using: str) -> list[str]:
    """Apply the migrations the restored (older) database lacks; returns their names."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[using])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        return []
    call_command("migrate", database=using, interactive=False, verbosity=0)
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
