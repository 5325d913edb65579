"""``alphasms sms info TEXT [--smart] [--country DE] [--json]``: encoding, parts and cost of an SMS text.

JSON keys: ``encoding`` ("GSM-7"/"UCS-2"), ``segments``, ``units`` (septets or UTF-16 code units over all
parts, without UDH), ``parts`` (their texts), ``replacements`` (with --smart), ``non_gsm_chars`` and
``cost`` where a price for the country is set: {"micros" (millionths of the currency, exact),
"amount" (the same as a decimal string, e.g. "0.225"), "currency", "price_per_part_micros"}.

Exit code 2 for an empty (or blank) TEXT or an unknown country code.
"""

from __future__ import annotations

import json
from typing import Any

import phonenumbers
from django.core.management.base import CommandParser

from alphasms.cli_text import cli_language, t
from alphasms.commands import AlphaCommand, UsageError, shown
from alphasms.messaging.encoding import analyse, reason_de, smart_replace
from alphasms.messaging.models import SmsPrice
from alphasms.messaging.money import amount_text, format_price


def price_micros(country: str) -> tuple[int, str] | None:
    """(price per part in millionths of the currency, currency) for ``country``, the "*" row, or None."""
    prices = {p.country: p for p in SmsPrice.objects.filter(country__in=[country, "*"])}
    price = prices.get(country) or prices.get("*")
    return None if price is None else (price.price_per_part_micros, price.currency)


def _cost(segments: int, price: tuple[int, str] | None) -> dict[str, object] | None:
    if price is None:
        return None
    micros, currency = segments * price[0], price[1]
    return {
        "micros": micros,
        "amount": amount_text(micros, currency),
        "currency": currency,
        "price_per_part_micros": price[0],
    }


class Command(AlphaCommand):
    help = "Zeigt Kodierung (GSM-7/UCS-2), SMS-Teile und Kosten eines Textes."
    help_en = "Shows encoding (GSM-7/UCS-2), SMS parts and cost of a text."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text", metavar="TEXT")
        parser.add_argument(
            "--smart",
            action="store_true",
            help=t("typografische Zeichen ersetzen (NFC)", "replace typographic characters (NFC)"),
        )
        parser.add_argument(
            "--country",
            default="DE",
            help=t(
                "Zielland für den Preis (ISO 3166, Standard DE)", "destination for the price (default DE)"
            ),
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        country = options["country"].upper()
        if country not in phonenumbers.SUPPORTED_REGIONS:
            raise UsageError(
                t(
                    f"--country: {shown(country)!r} ist kein Ländercode – zwei Buchstaben nach ISO 3166, "
                    "z. B. DE.",
                    f"--country: {shown(country)!r} is not a country code – two letters as in ISO 3166, "
                    "e.g. DE.",
                )
            )
        if not options["text"].strip():
            raise UsageError(
                t(
                    "TEXT ist leer – den Text der SMS in Anführungszeichen angeben, z. B. "
                    'alphasms sms info "Ihr Termin morgen um 9 Uhr".',
                    "TEXT is empty – give the SMS text in quotes, e.g. "
                    'alphasms sms info "Your appointment tomorrow at 9".',
                )
            )
        text, replacements = smart_replace(options["text"]) if options["smart"] else (options["text"], ())
        info = analyse(text)
        price = price_micros(country)
        result = {
            "encoding": info.encoding.value,
            "segments": info.segments,
            "units": info.units,
            "parts": list(info.parts),
            "replacements": [
                {
                    "position": r.position,
                    "original": r.original,
                    "replacement": r.replacement,
                    "reason": r.reason,
                }
                for r in replacements
            ],
            "non_gsm_chars": list(info.non_gsm_chars),
            "cost": _cost(info.segments, price),
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
            return
        if info.encoding.value == "GSM-7":
            unit = t("Septette", "septets")
        else:
            unit = t("UTF-16-Einheiten", "UTF-16 code units")
        self.stdout.write(f"{info.encoding.value}: {info.segments} SMS, {info.units} {unit}")
        if info.non_gsm_chars:
            chars = " ".join(repr(c) for c in info.non_gsm_chars)
            self.stdout.write(t(f"UCS-2 wegen: {chars}", f"UCS-2 because of: {chars}"))
        for r in replacements:
            self.stdout.write(
                t(
                    f"ersetzt: {r.original!r} → {r.replacement!r} ({reason_de(r.reason)})",
                    f"replaced: {r.original!r} → {r.replacement!r} ({r.reason})",
                )
            )
        if price is not None:  # exact: 3 × 0,075 € = 0,225 €, never rounded to cents
            locale = cli_language()
            total = format_price(info.segments * price[0], price[1], locale)
            each = format_price(price[0], price[1], locale)
            self.stdout.write(
                t(
                    f"Kosten: {total} ({info.segments} × {each} je Teil, {country})",
                    f"cost: {total} ({info.segments} × {each} per part, {country})",
                )
            )
