"""``alphasms vendor case close CASE [--json]``: close a support case — its backup file is removed from
the vendor's disk, then ``deleted_at`` and reason ``case_closed`` are recorded with a signed deletion
receipt the client fetches (``GET /api/v1/support/cases/CASE/receipt``). JSON: the case with its
receipt. Exit 2 for an unknown case, 3 when it was deleted before."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import EXIT_NOTHING_TO_DO, UsageError, shown
from alphasms.vendor_server.commands import VendorCommand
from alphasms.vendor_server.services.support import SupportError, case_dict, close_case


class Command(VendorCommand):
    help = "Schließt einen Support-Fall: löscht die Sicherung und signiert die Löschquittung."
    help_en = "Closes a support case: deletes its backup and signs the deletion receipt."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("case", metavar=t("FALL", "CASE"))
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            support_case, deleted_now = close_case(options["case"])
        except SupportError as exc:
            raise UsageError(
                t(
                    f"Fall {shown(options['case'])!r}: {exc} – „alphasms vendor cases list“ zeigt die Fälle.",
                    f"case {shown(options['case'])!r}: {exc} – 'alphasms vendor cases list' shows the cases.",
                )
            ) from None
        result = {**case_dict(support_case), "receipt": support_case.receipt}
        if options["json"]:
            self.print_json(result)
        elif deleted_now:
            self.stdout.write(
                t(
                    f"Fall {support_case.case} geschlossen: {result['path']} gelöscht "
                    f"um {result['deleted_at']}; "
                    "die signierte Quittung liegt für den Kunden bereit.",
                    f"Case {support_case.case} closed: {result['path']} deleted at {result['deleted_at']}; "
                    "the signed receipt awaits the customer.",
                )
            )
        else:
            self.stdout.write(
                t(
                    f"Fall {support_case.case}: Sicherung schon gelöscht "
                    f"({result['deleted_at']}, {result['reason']}).",
                    f"Case {support_case.case}: backup already deleted "
                    f"({result['deleted_at']}, {result['reason']}).",
                )
            )
        if not deleted_now:
            sys.exit(EXIT_NOTHING_TO_DO)
