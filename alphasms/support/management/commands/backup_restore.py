"""``alphasms backup restore FILE [--passphrase-file F | --identity-file F] [--verify-only] [--yes]
[--force]``.

Verifies the whole backup before touching live data, replaces the database with it, migrates an older
schema, and applies again every erasure and restriction recorded after the backup was taken
(``alphasms.support.restore``). Stop web app and worker first: while an ``alphasms worker`` or
``alphasms run`` is running (its heartbeat row is fresh, ``alphasms.support.running``) the restore is
refused; ``--force`` restores anyway, with a warning.

Exit codes: 0 restored (or, with ``--verify-only``, the file is good), 1 restored but an erasure could not
be applied again (a message was being sent; run ``alphasms privacy erase`` for the listed customer),
2 refused: a worker or ``alphasms run`` is running (without ``--force``), unreadable, altered,
truncated, wrong key or passphrase, newer schema, other database engine, missing PostgreSQL tools, no
confirmation (nothing changed), 3 answered "no" (nothing changed).
JSON: {"created_at", "engine", "rows", "migrated": [...], "replayed": [{"kind", "customer_id", "at",
"outcome"}], "verify_only"}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import EXIT_NOTHING_TO_DO, EXIT_SOME_FAILED, AlphaCommand, UsageError
from alphasms.support.backup import BackupError, BackupRefused, ToolMissing, decryption_for
from alphasms.support.management.commands._backup import actor, human_size
from alphasms.support.restore import RestoreResult, restore_backup
from alphasms.support.running import STALE_S, running_processes

YES = {"j", "ja", "y", "yes"}
_STAGES = {
    "verified": ("Sicherung vollständig geprüft", "backup fully verified"),
    "replaced": ("Datenbank ersetzt", "database replaced"),
}


def _kind(kind: str, worker: str) -> str:
    return worker if kind == "worker" else "alphasms run"


class Command(AlphaCommand):
    help = (
        "Stellt eine Sicherung wieder her: prüft zuerst die ganze Datei und wendet danach jede seither "
        "erfasste Löschung und Einschränkung erneut an."
    )
    help_en = (
        "Restores a backup: verifies the whole file first, then applies again every erasure and "
        "restriction recorded since."
    )
    requires_migrations_checks = False  # restoring into a new, empty install is the disaster case

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", metavar=t("DATEI", "FILE"), help=t("die Sicherung (.age)", "the backup (.age)")
        )
        key = parser.add_mutually_exclusive_group()
        key.add_argument(
            "--passphrase-file",
            metavar=t("DATEI", "FILE"),
            help=t("Passphrase (erste Zeile dieser Datei)", "passphrase (first line of this file)"),
        )
        key.add_argument(
            "--identity-file",
            metavar=t("DATEI", "FILE"),
            help=t(
                "age-Schlüsseldatei (Vorgabe: backup-key.txt im Datenverzeichnis)",
                "age key file (default: backup-key.txt in the data directory)",
            ),
        )
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help=t("nur prüfen, nichts ändern", "verify only, change nothing"),
        )
        parser.add_argument("--yes", action="store_true", help=t("ohne Rückfrage", "do not ask"))
        parser.add_argument(
            "--force",
            action="store_true",
            help=t(
                "auch wiederherstellen, während ein Worker oder „alphasms run“ läuft (nicht empfohlen)",
                "restore even while a worker or 'alphasms run' is running (not recommended)",
            ),
        )
        parser.add_argument("--json", action="store_true", help=t("Ausgabe als JSON", "output as JSON"))

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise UsageError(
                t(
                    f"{options['file']!r}: keine Datei – Pfad prüfen (Liste: alphasms backup list).",
                    f"{options['file']!r}: no such file – check the path (list: alphasms backup list).",
                )
            )
        try:
            decryption = decryption_for(options["passphrase_file"], options["identity_file"])
        except BackupError as exc:
            raise UsageError(str(exc)) from None
        verify_only = options["verify_only"]
        if not verify_only:
            self.refuse_while_running(options["force"])
        if not verify_only and not options["yes"] and not self.confirmed(path):
            self.stdout.write(t("Abgebrochen, nichts geändert.", "Cancelled, nothing changed."))
            sys.exit(EXIT_NOTHING_TO_DO)
        quiet = options["json"]

        def progress(stage: str, size: int | None) -> None:
            if not quiet and stage in _STAGES and size is not None:
                self.stdout.write(f"  {t(*_STAGES[stage])}: {human_size(size)}")

        try:
            result = restore_backup(
                path, decryption, actor=actor(), progress=progress, verify_only=verify_only
            )
        except (BackupRefused, ToolMissing) as exc:
            raise UsageError(str(exc)) from None
        except BackupError as exc:
            self.stderr.write(t(f"Wiederherstellung fehlgeschlagen: {exc}", f"Restore failed: {exc}"))
            sys.exit(EXIT_SOME_FAILED)
        if quiet:
            self.stdout.write(json.dumps({**result.as_dict(), "verify_only": verify_only}))
        else:
            self.write_summary(result, verify_only)
        if result.failed:
            sys.exit(EXIT_SOME_FAILED)

    def refuse_while_running(self, force: bool) -> None:
        """UsageError while a worker or ``alphasms run`` has a fresh heartbeat; with ``force`` only a
        warning on stderr."""
        active = running_processes()
        if not active:
            return
        names = "; ".join(
            t(
                f"{_kind(p['kind'], 'Worker')} auf {p['host']} (Prozess {p['pid']}, "
                f"Lebenszeichen vor {p['age_s']:.0f} s)",
                f"{_kind(p['kind'], 'worker')} on {p['host']} (process {p['pid']}, "
                f"last sign of life {p['age_s']:.0f} s ago)",
            )
            for p in active
        )
        if force:
            self.stderr.write(
                t(
                    f"Warnung: AlphaSMS läuft noch ({names}) – --force: die Datenbank wird trotzdem ersetzt. "
                    "Der laufende Prozess kann mit alten Daten weiterarbeiten; danach neu starten.",
                    f"Warning: AlphaSMS is still running ({names}) – --force: the database is replaced "
                    "anyway. The running process may go on with old data; restart it afterwards.",
                )
            )
            return
        raise UsageError(
            t(
                f"Wiederherstellung verweigert: AlphaSMS läuft noch ({names}). Zuerst beenden (Strg-C bzw. "
                "den Dienst stoppen) und erneut aufrufen; ein abgestürzter Prozess gilt nach "
                f"{STALE_S:.0f} s als beendet. --force stellt trotzdem wieder her. Nichts wurde geändert.",
                f"Restore refused: AlphaSMS is still running ({names}). Stop it first (Ctrl-C or stop "
                f"the service) and call again; a crashed process counts as stopped after {STALE_S:.0f} s. "
                "--force restores anyway. Nothing was changed.",
            )
        )

    def confirmed(self, path: Path) -> bool:
        """Ask before replacing all data; UsageError when there is no one to ask."""
        try:
            answer = input(
                t(
                    f"Alle Daten durch den Stand der Sicherung {path.name} ersetzen? [j/N] ",
                    f"Replace all data with the state of backup {path.name}? [y/N] ",
                )
            )
        except EOFError:
            raise UsageError(
                t(
                    "Keine Bestätigung möglich (keine Eingabe) – mit --yes aufrufen. Nichts wurde geändert.",
                    "Cannot confirm (no input) – call with --yes. Nothing was changed.",
                )
            ) from None
        return answer.strip().lower() in YES

    def write_summary(self, result: RestoreResult, verify_only: bool) -> None:
        data = result.as_dict()
        if verify_only:
            self.stdout.write(
                t(
                    f"Sicherung in Ordnung: Stand {data['created_at']}, {data['rows']} Zeilen. Nichts wurde "
                    f"geändert; eine Wiederherstellung würde {len(data['replayed'])} spätere Löschungen/"
                    "Einschränkungen erneut anwenden.",
                    f"Backup is good: as of {data['created_at']}, {data['rows']} rows. Nothing was changed; "
                    f"a restore would apply {len(data['replayed'])} later erasures/restrictions again.",
                )
            )
            return
        self.stdout.write(
            t(
                f"Wiederhergestellt: Stand {data['created_at']}, {data['rows']} Zeilen.",
                f"Restored: as of {data['created_at']}, {data['rows']} rows.",
            )
        )
        if data["migrated"]:
            self.stdout.write(t("Migriert: ", "Migrated: ") + ", ".join(data["migrated"]))
        for row in data["replayed"]:
            self.stdout.write(
                t(
                    f"  erneut angewandt: {row['kind']} Kunde #{row['customer_id']} (vom {row['at']}): "
                    f"{row['outcome']}",
                    f"  applied again: {row['kind']} customer #{row['customer_id']} (of {row['at']}): "
                    f"{row['outcome']}",
                )
            )
        if result.failed:
            self.stderr.write(
                t(
                    "Nicht alle Löschungen ließen sich erneut anwenden (gerade lief ein Versand) – für die "
                    "als „deferred“ gelisteten Kunden „alphasms privacy erase --id ID“ ausführen.",
                    "Not every erasure could be applied again (a send was in progress) – run "
                    "'alphasms privacy erase --id ID' for the customers listed as 'deferred'.",
                )
            )
