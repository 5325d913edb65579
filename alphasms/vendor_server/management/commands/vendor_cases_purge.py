"""``alphasms vendor cases purge [--json]``: delete every support backup whose retention ran out
(``delete_by`` passed, or older than ``ALPHASMS_VENDOR_SUPPORT_RETENTION_DAYS`` as set now), reason
``expired``, each with a signed receipt. The running server does the same every
``ALPHASMS_VENDOR_PURGE_INTERVAL_S`` and when a receipt is asked for. JSON: {"deleted": [case, …]}.
Exit 3 when nothing was due."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import tn
from alphasms.commands import EXIT_NOTHING_TO_DO
from alphasms.vendor_server.commands import VendorCommand
from alphasms.vendor_server.services.support import purge_cases


class Command(VendorCommand):
    help = "Löscht abgelaufene Support-Sicherungen (ALPHASMS_VENDOR_SUPPORT_RETENTION_DAYS, Standard 30)."
    help_en = "Deletes expired support backups (ALPHASMS_VENDOR_SUPPORT_RETENTION_DAYS, default 30)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = [c.case for c in purge_cases()]
        if options["json"]:
            self.print_json({"deleted": deleted})
        else:
            self.stdout.write(
                tn(
                    len(deleted),
                    (
                        "{count} abgelaufene Support-Sicherung gelöscht",
                        "{count} abgelaufene Support-Sicherungen gelöscht",
                    ),
                    ("{count} expired support backup deleted", "{count} expired support backups deleted"),
                )
                + f": {', '.join(deleted) or '–'}"
            )
        if not deleted:
            sys.exit(EXIT_NOTHING_TO_DO)
