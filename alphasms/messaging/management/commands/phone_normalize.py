"""``alphasms phone normalize INPUT [--country CC] [--json]``: a typed number as E.164, its type, whether
an SMS can reach it, and every reason staff should look at it (``flags``).

Exit codes: 0 a number was found, 1 none could be made from the input, 2 usage error.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import phonenumbers
from django.core.management.base import CommandParser

from alphasms.cli_text import cli_language, t
from alphasms.commands import AlphaCommand, UsageError, shown
from alphasms.messaging.phone import FLAG_MESSAGES, TYPE_LABELS, to_e164


class Command(AlphaCommand):
    help = "Normalisiert eine Telefonnummer nach E.164 und sagt, ob eine SMS sie erreicht."
    help_en = "Normalises a phone number to E.164 and says whether an SMS reaches it."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "input",
            metavar=t("NUMMER", "INPUT"),
            help=t("die Nummer, wie sie eingegeben wurde", "the number as it was typed"),
        )
        parser.add_argument(
            "--country",
            help=t("Land des Kunden (ISO 3166), sonst Standard DE", "the customer's country (ISO 3166)"),
        )
        parser.add_argument(
            "--default-country",
            default="DE",
            help=t("Land des Standorts (Standard DE)", "the location's country (default DE)"),
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("country", "default_country"):
            value = options[name]
            if value and value.upper() not in phonenumbers.SUPPORTED_REGIONS:
                option = f"--{name.replace('_', '-')}"
                raise UsageError(
                    t(
                        f"{option}: {shown(value)!r} ist kein Ländercode – zwei Buchstaben nach ISO 3166, "
                        "z. B. DE oder AT.",
                        f"{option}: {shown(value)!r} is not a country code – two letters as in ISO 3166, "
                        "e.g. DE or AT.",
                    )
                )
        result = to_e164(options["input"], options["country"], options["default_country"].upper())
        language = 0 if cli_language() == "de" else 1
        flag_messages = [FLAG_MESSAGES.get(f, (f, f))[language] for f in result.flags]
        payload: dict[str, object] = {
            "input": result.input,
            "e164": result.e164,
            "type": result.type,
            "sms_ok": result.sms_ok,
            "flags": list(result.flags),
            "flag_messages": flag_messages,
            "alternatives": list(result.alternatives),
            "region": result.region,
        }
        if options["json"]:
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
        else:
            sms = t("SMS möglich", "SMS possible") if result.sms_ok else t("keine SMS", "no SMS")
            kind = TYPE_LABELS.get(result.type, (result.type, result.type))[language]
            self.stdout.write(f"{result.e164 or '–'}  {kind}  {sms}")
            for message in flag_messages:
                self.stdout.write(f"  • {message}")
        if result.e164 is None:
            sys.exit(1)
