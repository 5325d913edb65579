"""``alphasms licence set --name NAME --number LICENCE [--json]``: verify a licence offline and store it.

Exit codes: 0 stored; 2 refused (forged, expired, name mismatch, malformed — nothing stored).
JSON: the licence status (as ``alphasms licence show --json``).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import AlphaCommand, UsageError
from alphasms.licensing.evaluation import licence_status
from alphasms.licensing.licence import LicenceError, set_licence


class Command(AlphaCommand):
    help = "Prüft eine Lizenz offline (Signatur des Herstellers) und speichert sie."
    help_en = "Verifies a licence offline (the vendor's signature) and stores it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--name", required=True, help=t("Registrierungsname wie im Lizenzschreiben", "registration name")
        )
        parser.add_argument(
            "--number", required=True, help=t("Lizenznummer (AS1-…)", "licence number (AS1-…)")
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            set_licence(options["name"], options["number"])
        except LicenceError as exc:
            raise UsageError(str(exc)) from None
        status = licence_status()
        if options["json"]:
            self.stdout.write(json.dumps(status.as_dict(), ensure_ascii=False, indent=2))
            return
        self.stdout.write(t("Lizenz gespeichert. ", "Licence stored. ") + status.sentence)
