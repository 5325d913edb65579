"""``alphasms backup create [--passphrase-file F | --recipient AGE1…] [--output FILE | --dir DIR] [--json]``.

Makes one encrypted, integrity-checked backup of the running database (``alphasms.support.backup``).
Without a passphrase or recipient it uses ALPHASMS_BACKUP_RECIPIENT, else the key file
``backup-key.txt`` in the data directory (created on first use; from then on the worker makes its own
daily backups, ``alphasms-daily-…``, unless ALPHASMS_BACKUP_DAILY=false – the command says so). A backup
made here (``alphasms-backup-…``) is never deleted by the daily rotation.

Exit codes: 0 written, 2 usage error, unreadable key file or missing PostgreSQL tools (nothing written),
1 the backup failed otherwise (nothing written).
JSON: {"path", "size_bytes", "created_at", "engine", "dump_sha256", "tables", "rows", "key_file_created",
"daily_backups"} (``daily_backups``: whether the worker now makes daily backups).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import AlphaCommand, UsageError
from alphasms.support.backup import (
    BackupError,
    ToolMissing,
    backup_dir,
    backup_settings,
    create_backup,
    encryption_for,
    key_file,
    schedule_configured,
)
from alphasms.support.management.commands._backup import actor, human_size

_STAGES = {
    "snapshot": ("Schnappschuss der Datenbank", "database snapshot"),
    "check": ("Integrität geprüft", "integrity checked"),
    "archive": ("Archiv gepackt", "archive packed"),
    "encrypt": ("verschlüsselt", "encrypted"),
}


class Command(AlphaCommand):
    help = "Erstellt eine verschlüsselte, geprüfte Sicherung der laufenden Datenbank."
    help_en = "Creates an encrypted, verified backup of the running database."

    def add_arguments(self, parser: CommandParser) -> None:
        key = parser.add_mutually_exclusive_group()
        key.add_argument(
            "--passphrase-file",
            metavar=t("DATEI", "FILE"),
            help=t("mit der Passphrase in der ersten Zeile dieser Datei verschlüsseln",
                   "encrypt with the passphrase on the first line of this file"),
        )  # fmt: skip
        key.add_argument(
            "--recipient",
            metavar="AGE1…",
            help=t("für diesen age-Schlüssel verschlüsseln (öffentlicher Teil)",
                   "encrypt for this age public key"),
        )  # fmt: skip
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--output", metavar=t("DATEI", "FILE"), help=t("Zieldatei", "target file"))
        where.add_argument(
            "--dir",
            metavar=t("ORDNER", "FOLDER"),
            help=t(
                "Zielordner (Vorgabe: ALPHASMS_BACKUP_DIR)", "target folder (default: ALPHASMS_BACKUP_DIR)"
            ),
        )
        parser.add_argument("--json", action="store_true", help=t("Ausgabe als JSON", "output as JSON"))

    def handle(self, *args: Any, **options: Any) -> None:
        had_key = key_file().exists()
        try:
            encryption = encryption_for(options["passphrase_file"], options["recipient"])
        except BackupError as exc:
            raise UsageError(str(exc)) from None
        key_created = not had_key and key_file().exists()
        quiet = options["json"]

        def progress(stage: str, size: int | None) -> None:
            if not quiet and stage in _STAGES and size is not None:
                self.stdout.write(f"  {t(*_STAGES[stage])}: {human_size(size)}")

        output = Path(options["output"]) if options["output"] else None
        directory = Path(options["dir"]) if options["dir"] else backup_dir()
        try:
            result = create_backup(
                encryption, output=output, directory=directory, progress=progress, actor=actor()
            )
        except ToolMissing as exc:
            raise UsageError(str(exc)) from None
        except BackupError as exc:
            self.stderr.write(t(f"Sicherung fehlgeschlagen: {exc}", f"Backup failed: {exc}"))
            raise SystemExit(1) from None
        if quiet:
            daily = schedule_configured()
            self.stdout.write(
                json.dumps({**result.as_dict(), "key_file_created": key_created, "daily_backups": daily})
            )
            return
        data = result.as_dict()
        self.stdout.write(
            t(
                f"Sicherung geschrieben: {result.path} ({human_size(result.size_bytes)}, {data['tables']} "
                f"Tabellen, {data['rows']} Zeilen, Stand {data['created_at']}).",
                f"Backup written: {result.path} ({human_size(result.size_bytes)}, {data['tables']} tables, "
                f"{data['rows']} rows, as of {data['created_at']}).",
            )
        )
        if key_created:
            self.stdout.write(
                t(
                    f"Neuer Sicherungsschlüssel: {key_file()} – eine Kopie an einem anderen Ort aufbewahren "
                    "(USB-Stick, Tresor): ohne ihn ist keine Sicherung lesbar.",
                    f"New backup key: {key_file()} – keep a copy somewhere else (USB stick, safe): without "
                    "it no backup can be read.",
                )
            )
            if schedule_configured():
                self.stdout.write(self.daily_notice())

    def daily_notice(self) -> str:
        """What the new key file switched on: the worker's daily backups and their rotation."""
        daily, weekly = backup_settings.BACKUP_KEEP_DAILY, backup_settings.BACKUP_KEEP_WEEKLY
        return t(
            f"Ab jetzt legt der Worker täglich eine Sicherung an (alphasms-daily-…, in {backup_dir()}) und "
            f"behält davon {daily} tägliche und {weekly} wöchentliche; ältere tägliche löscht er. Von Hand "
            "erstellte Sicherungen wie diese (alphasms-backup-…) löscht er nie. Abschalten: "
            "ALPHASMS_BACKUP_DAILY=false.",
            f"From now on the worker makes a backup every day (alphasms-daily-…, in {backup_dir()}) and "
            f"keeps {daily} daily and {weekly} weekly ones; older daily ones are deleted. Backups made by "
            "hand like this one (alphasms-backup-…) are never deleted. Switch off: "
            "ALPHASMS_BACKUP_DAILY=false.",
        )
