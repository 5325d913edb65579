"""``alphasms vendor case open CASE [--json]``: open a support case so the practice can upload its
support backup. Prints the case's upload token once (32 letters in groups of four; only its SHA-256 is
stored): support gives it to the practice by phone or e-mail, the practice enters it with the backup
(``alphasms support backup --case CASE --token TOKEN`` or the Support settings page). Without it the
server treats the case as unknown. Opening a case again before its backup arrived issues a new token
(the old one stops working). JSON: {"case", "token", "opened_at"}. Exit 2 for a bad case id or a case
that already received its backup."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import UsageError, shown
from alphasms.vendor_server.commands import VendorCommand
from alphasms.vendor_server.services.common import iso_z
from alphasms.vendor_server.services.support import SupportError, open_case


class Command(VendorCommand):
    help = "Eröffnet einen Support-Fall und zeigt einmalig den Upload-Schlüssel für die Praxis."
    help_en = "Opens a support case and shows its upload token for the practice, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("case", metavar=t("FALL", "CASE"))
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            opened, token = open_case(options["case"])
        except SupportError as exc:
            raise UsageError(
                t(
                    f"Fall {shown(options['case'])!r}: {exc} – „alphasms vendor cases list“ zeigt die Fälle.",
                    f"case {shown(options['case'])!r}: {exc} – 'alphasms vendor cases list' shows the cases.",
                )
            ) from None
        if options["json"]:
            self.print_json({"case": opened.case, "token": token, "opened_at": iso_z(opened.opened_at)})
            return
        self.stdout.write(
            t(
                f"Fall {opened.case} eröffnet. Upload-Schlüssel (nur jetzt sichtbar, der Praxis telefonisch "
                f"oder per E-Mail geben):\n\n    {token}\n\n"
                f"Die Praxis sendet damit: alphasms support backup --case {opened.case} --token {token}",
                f"Case {opened.case} opened. Upload token (shown only now; give it to the practice by phone "
                f"or e-mail):\n\n    {token}\n\n"
                f"The practice sends with: alphasms support backup --case {opened.case} --token {token}",
            )
        )
