"""``alphasms privacy restrict --customer NUMBER --basis GROUND [--json]``: restrict processing of a
person (GDPR Art. 18). Reminders are no longer planned or sent; pending ones are cancelled at once.

Grounds (Art. 18(1)): ``accuracy`` (a, accuracy contested), ``unlawful`` (b), ``legal_claims`` (c),
``objection`` (d, objection pending).

Exit codes: 0 restricted, 2 unknown customer or usage error, 3 already restricted (nothing changed).
JSON: {"customer_id", "changed", "cancelled_count"}.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import EXIT_NOTHING_TO_DO, AlphaCommand
from alphasms.privacy.management.commands._subject import actor, add_person_arguments, get_person
from alphasms.privacy.subject_rights import RestrictionBasis, restrict


class Command(AlphaCommand):
    help = "Schränkt die Verarbeitung eines Kunden ein (Art. 18 DSGVO); offene Erinnerungen werden storniert."
    help_en = "Restricts processing of a customer (GDPR Art. 18); pending reminders are cancelled."

    def add_arguments(self, parser: CommandParser) -> None:
        add_person_arguments(parser)
        parser.add_argument(
            "--basis",
            required=True,
            choices=[basis.value for basis in RestrictionBasis],
            help=t(
                "Grund nach Art. 18 Abs. 1: accuracy (a), unlawful (b), legal_claims (c), objection (d)",
                "ground under Art. 18(1): accuracy (a), unlawful (b), legal_claims (c), objection (d)",
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        customer = get_person(options)
        result = restrict(customer, actor(), options["basis"])
        if options["json"]:
            payload = {
                "customer_id": customer.pk,
                "changed": result.changed,
                "cancelled_count": result.messages_count,
            }
            self.stdout.write(json.dumps(payload))
        elif result.changed:
            self.stdout.write(
                t(
                    f"Kunde #{customer.pk} eingeschränkt (Art. 18 Abs. 1, {options['basis']}); "
                    f"{result.messages_count} offene Nachrichten storniert.",
                    f"Customer #{customer.pk} restricted (Art. 18(1), {options['basis']}); "
                    f"{result.messages_count} pending messages cancelled.",
                )
            )
        else:
            self.stdout.write(
                t(
                    f"Kunde #{customer.pk} ist bereits eingeschränkt.",
                    f"Customer #{customer.pk} is already restricted.",
                )
            )
        if not result.changed:
            sys.exit(EXIT_NOTHING_TO_DO)
