"""``alphasms privacy unrestrict --customer NUMBER [--json]``: lift a restriction (GDPR Art. 18(3): tell
the person before). Reminders the restriction cancelled are planned again where the appointment is still
ahead and consent holds; new appointments are planned as usual.

Exit codes: 0 lifted, 2 unknown customer or usage error, 3 not restricted (nothing changed).
JSON: {"customer_id", "changed", "planned_count"}.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import EXIT_NOTHING_TO_DO, AlphaCommand
from alphasms.privacy.management.commands._subject import actor, add_person_arguments, get_person
from alphasms.privacy.subject_rights import unrestrict


class Command(AlphaCommand):
    help = "Hebt die Einschränkung eines Kunden auf (Art. 18 Abs. 3 DSGVO: die Person vorher informieren)."
    help_en = "Lifts the restriction of a customer (GDPR Art. 18(3): inform the person first)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_person_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        customer = get_person(options)
        result = unrestrict(customer, actor())
        if options["json"]:
            payload = {
                "customer_id": customer.pk,
                "changed": result.changed,
                "planned_count": result.messages_count,
            }
            self.stdout.write(json.dumps(payload))
        elif result.changed:
            self.stdout.write(
                t(
                    f"Einschränkung von Kunde #{customer.pk} aufgehoben; {result.messages_count} Nachrichten "
                    "wieder geplant.",
                    f"Restriction of customer #{customer.pk} lifted; {result.messages_count} messages "
                    "planned again.",
                )
            )
        else:
            self.stdout.write(
                t(
                    f"Kunde #{customer.pk} ist nicht eingeschränkt.",
                    f"Customer #{customer.pk} is not restricted.",
                )
            )
        if not result.changed:
            sys.exit(EXIT_NOTHING_TO_DO)
