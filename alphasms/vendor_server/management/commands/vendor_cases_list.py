"""``alphasms vendor cases list [--json]``: every support case with status (held/deleted), digest, size,
arrival, deadline (``delete_by``), deletion and the file's path. JSON: that list."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t, tn
from alphasms.vendor_server.commands import VendorCommand
from alphasms.vendor_server.models import SupportCase
from alphasms.vendor_server.services.support import case_dict


class Command(VendorCommand):
    help = "Listet die Support-Fälle mit Sicherung, Status und Löschfrist."
    help_en = "Lists the support cases with backup, status and deadline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = [case_dict(c) for c in SupportCase.objects.order_by("received_at", "id")]
        if options["json"]:
            self.print_json(rows)
            return
        for row in rows:
            state = (
                t(f"gehalten bis {row['delete_by']}", f"held until {row['delete_by']}")
                if row["status"] == "held"
                else t(
                    f"gelöscht {row['deleted_at']} ({row['reason']})",
                    f"deleted {row['deleted_at']} ({row['reason']})",
                )
            )
            self.stdout.write(f"{row['case']}  {row['size_bytes']} B  {state}")
        self.stdout.write(
            tn(len(rows), ("{count} Fall.", "{count} Fälle."), ("{count} case.", "{count} cases."))
        )
