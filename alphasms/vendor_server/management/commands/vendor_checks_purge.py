"""``alphasms vendor checks purge [--json]``: delete update checks older than
``ALPHASMS_VENDOR_CHECK_RETENTION_DAYS`` (default 400 days; the running server does the same every
``ALPHASMS_VENDOR_PURGE_INTERVAL_S``). JSON: {"deleted": N, "retention_days": D}. Exit 3 when nothing
was due."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t, tn
from alphasms.commands import EXIT_NOTHING_TO_DO
from alphasms.vendor_server.commands import VendorCommand
from alphasms.vendor_server.conf import vendor_settings
from alphasms.vendor_server.services.checks import purge_checks


class Command(VendorCommand):
    help = (
        "Löscht Update-Prüfungen nach Ablauf der Aufbewahrungsfrist (ALPHASMS_VENDOR_CHECK_RETENTION_DAYS)."
    )
    help_en = "Deletes update checks past their retention (ALPHASMS_VENDOR_CHECK_RETENTION_DAYS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        retention = vendor_settings.CHECK_RETENTION
        deleted = purge_checks(retention)
        if options["json"]:
            self.print_json({"deleted": deleted, "retention_days": retention.days})
        else:
            self.stdout.write(
                tn(
                    deleted,
                    ("{count} Update-Prüfung gelöscht", "{count} Update-Prüfungen gelöscht"),
                    ("{count} update check deleted", "{count} update checks deleted"),
                )
                + t(f" (älter als {retention.days} Tage).", f" (older than {retention.days} days).")
            )
        if not deleted:
            sys.exit(EXIT_NOTHING_TO_DO)
