"""``alphasms send-test --gateway NAME --to NUMBER_OR_ADDRESS [--text TEXT]``: send one message and,
when it fails, say what is wrong — credentials, sender ID, number, network or TLS — and what to do.

An address with "@" goes through the configured mail server; anything else through the named SMS
gateway. Exit codes: 0 accepted, 1 the provider refused or could not be reached, 2 usage error.
The use case is ``alphasms.messaging.services.send_test`` (also behind Settings → Gateways).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import AlphaCommand, UsageError
from alphasms.messaging.gateways.errors import GatewayMisconfigured
from alphasms.messaging.gateways.registry import GATEWAYS
from alphasms.messaging.services.send_test import (
    DEFAULT_TEXT,
    SendTestInputError,
    diagnosis,
    misconfiguration,
    send_test,
)

__all__ = ["DEFAULT_TEXT", "Command", "diagnosis"]


class Command(AlphaCommand):
    help = "Sendet eine Testnachricht über ein Gateway und erklärt, was bei einem Fehler nicht stimmt."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--gateway", required=True, help=f"eines von: {', '.join(sorted(GATEWAYS))}, smtp"
        )
        parser.add_argument("--to", required=True, help="Mobilnummer oder E-Mail-Adresse")
        parser.add_argument("--text", default=DEFAULT_TEXT)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            outcome = send_test(options["gateway"], options["to"], options["text"])
        except SendTestInputError as exc:
            raise UsageError(t(f"--{exc.field}: {exc.de}", f"--{exc.field}: {exc.en}")) from None
        except GatewayMisconfigured as exc:
            raise UsageError(t(*misconfiguration(exc))) from None
        if not outcome.accepted:
            self.stderr.write(
                t(f"Fehlgeschlagen ({outcome.code}). {outcome.de}", f"Failed ({outcome.code}). {outcome.en}")
            )
            sys.exit(1)
        message_id = outcome.message_id
        self.stdout.write(
            t(
                f"Angenommen. Kennung beim Anbieter: {message_id or '–'}",
                f"Accepted. Provider's id: {message_id or '–'}",
            )
        )
