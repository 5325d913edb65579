"""``alphasms licence show [--json]``: the licence in force, or evaluation mode and what is left of it.

JSON keys: mode (licensed|evaluation), reason (licensed|none|expired|invalid), registration_name, edition,
locations, locations_in_use, expires, serial, month, monthly_limit, sent_this_month, remaining_this_month
(the last three null when licensed). The licence number itself is not printed.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import AlphaCommand
from alphasms.licensing.evaluation import licence_status


class Command(AlphaCommand):
    help = "Zeigt die Lizenz oder den Testmodus mit den in diesem Monat verbleibenden Nachrichten."
    help_en = "Shows the licence, or evaluation mode with the messages left this month."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        status = licence_status()
        if options["json"]:
            self.stdout.write(json.dumps(status.as_dict(), ensure_ascii=False, indent=2))
            return
        self.stdout.write(status.sentence)
        lic = status.licence
        if status.mode == "licensed" and lic is not None and status.locations_in_use > lic.locations:
            self.stdout.write(
                t(
                    f"Hinweis: {status.locations_in_use} Standorte angelegt, die Lizenz gilt für "
                    f"{lic.locations} – eine Lizenz für mehr Standorte beim Hersteller anfordern.",
                    f"Note: {status.locations_in_use} locations set up, the licence covers {lic.locations} – "
                    "ask the vendor for a licence for more locations.",
                )
            )
