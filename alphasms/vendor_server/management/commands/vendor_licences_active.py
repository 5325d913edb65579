"""``alphasms vendor licences active --month YYYY-MM [--json]``: the billing list — each licence (number +
registration name) that checked for updates in that month (UTC), with its number of checks, first and
last check, whether the number verifies with the vendor's key, and edition/locations/expires/serial
read from it. Evaluation installs (no licence number) are left out. JSON: that list."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t, tn
from alphasms.vendor_server.commands import VendorCommand
from alphasms.vendor_server.management.commands.vendor_checks_list import month_option
from alphasms.vendor_server.services.checks import active_licences


class Command(VendorCommand):
    help = "Listet die Lizenzen, die in einem Monat nach Updates gefragt haben (Abrechnung)."
    help_en = "Lists the licences that checked for updates in a month (billing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help=t("Monat JJJJ-MM (UTC)", "month YYYY-MM (UTC)"))
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = active_licences(month_option(options["month"]))
        if options["json"]:
            self.print_json(rows)
            return
        for row in rows:
            validity = t("gültig", "valid") if row["valid"] else t("UNGÜLTIG", "INVALID")
            self.stdout.write(
                f"{row['registration_name']}  {row['edition']}  {row['locations']}  "
                f"{row['check_count']}×  {validity}  {row['licence_number'][:24]}…"
            )
        self.stdout.write(
            tn(
                len(rows),
                (
                    "{count} aktive Lizenz im " + options["month"] + ".",
                    "{count} aktive Lizenzen im " + options["month"] + ".",
                ),
                (
                    "{count} active licence in " + options["month"] + ".",
                    "{count} active licences in " + options["month"] + ".",
                ),
            )
        )
