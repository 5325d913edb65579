"""``alphasms vendor checks list [--month YYYY-MM] [--json]``: the recorded update checks, oldest first
(months in UTC). JSON: a list of {"checked_at", "licence_number", "registration_name", "client_version",
"os", "client_ip"}."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t, tn
from alphasms.commands import UsageError, shown
from alphasms.vendor_server.commands import VendorCommand
from alphasms.vendor_server.periods import month_bounds
from alphasms.vendor_server.services.checks import list_checks


def month_option(value: str) -> str:
    """``value`` if it is YYYY-MM; UsageError naming --month otherwise."""
    try:
        month_bounds(value)
    except ValueError:
        raise UsageError(
            t(
                f"--month: {shown(value)!r} ist kein Monat JJJJ-MM (z. B. 2026-11).",
                f"--month: {shown(value)!r} is not a month YYYY-MM (e.g. 2026-11).",
            )
        ) from None
    return value


class Command(VendorCommand):
    help = "Listet die aufgezeichneten Update-Prüfungen."
    help_en = "Lists the recorded update checks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--month", help=t("nur dieser Monat (JJJJ-MM, UTC)", "only this month (YYYY-MM, UTC)")
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        month = month_option(options["month"]) if options["month"] else None
        rows = list_checks(month)
        if options["json"]:
            self.print_json(rows)
            return
        for row in rows:
            who = row["registration_name"] or t("(Testbetrieb)", "(evaluation)")
            self.stdout.write(
                f"{row['checked_at']}  {who}  {row['client_version']}  {row['os']}  {row['client_ip'] or '-'}"
            )
        self.stdout.write(
            tn(
                len(rows),
                ("{count} Update-Prüfung.", "{count} Update-Prüfungen."),
                ("{count} update check.", "{count} update checks."),
            )
        )
