"""``alphasms backup list [--dir DIR] [--json]``: the backups in the backup folder, newest first.

Exit codes: 0 listed, 3 no backup there. JSON: {"dir", "backups": [{"path", "created_at", "size_bytes",
"kind"}], "scheduled": bool, "keep_daily", "keep_weekly"}; ``kind`` is ``daily`` (the worker's, rotated)
or ``manual`` (made by hand, never rotated).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from alphasms.cli_text import t
from alphasms.commands import EXIT_NOTHING_TO_DO, AlphaCommand
from alphasms.support.backup import backup_dir, backup_settings, list_backups, schedule_configured
from alphasms.support.management.commands._backup import human_size


class Command(AlphaCommand):
    help = "Listet die Sicherungen im Sicherungsordner, die neueste zuerst."
    help_en = "Lists the backups in the backup folder, newest first."
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir",
            metavar=t("ORDNER", "FOLDER"),
            help=t("Ordner (Vorgabe: ALPHASMS_BACKUP_DIR)", "folder (default: ALPHASMS_BACKUP_DIR)"),
        )
        parser.add_argument("--json", action="store_true", help=t("Ausgabe als JSON", "output as JSON"))

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["dir"]) if options["dir"] else backup_dir()
        backups = list_backups(folder)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "dir": str(folder),
                        "backups": [b.as_dict() for b in backups],
                        "scheduled": schedule_configured(),
                        "keep_daily": backup_settings.BACKUP_KEEP_DAILY,
                        "keep_weekly": backup_settings.BACKUP_KEEP_WEEKLY,
                    }
                )
            )
        else:
            for backup in backups:
                local = timezone.localtime(backup.created_at).strftime("%Y-%m-%d %H:%M")
                kind = t("täglich", "daily") if backup.kind == "daily" else t("von Hand", "by hand")
                self.stdout.write(f"{local}  {human_size(backup.size_bytes):>9}  {kind:<8}  {backup.path}")
            if not backups:
                self.stdout.write(t(f"Keine Sicherungen in {folder}.", f"No backups in {folder}."))
            schedule = (
                t(
                    f"Der Worker sichert täglich und behält {backup_settings.BACKUP_KEEP_DAILY} tägliche und "
                    f"{backup_settings.BACKUP_KEEP_WEEKLY} wöchentliche Sicherungen; von Hand erstellte "
                    "löscht er nie.",
                    f"The worker backs up daily and keeps {backup_settings.BACKUP_KEEP_DAILY} daily and "
                    f"{backup_settings.BACKUP_KEEP_WEEKLY} weekly backups; backups made by hand are never "
                    "deleted.",
                )
                if schedule_configured()
                else t(
                    "Keine tägliche Sicherung: ALPHASMS_BACKUP_DAILY ist aus.",
                    "No daily backup: ALPHASMS_BACKUP_DAILY is off.",
                )
                if not backup_settings.BACKUP_DAILY
                else t(
                    "Keine tägliche Sicherung: kein Schlüssel eingerichtet (einmal „alphasms backup create“ "
                    "ausführen oder ALPHASMS_BACKUP_RECIPIENT setzen).",
                    "No daily backup: no key set up (run 'alphasms backup create' once or set "
                    "ALPHASMS_BACKUP_RECIPIENT).",
                )
            )
            self.stdout.write(schedule)
        if not backups:
            sys.exit(EXIT_NOTHING_TO_DO)
