"""``alphasms import csv FILE [--location L] [--map field=Header …] [--consent sms,email --wording V]``.

Valid rows apply together; every rejected row is printed with line, field and reason.
Exit codes: 0 applied, 1 some rows rejected (the valid ones applied), 2 unreadable file or usage error
(nothing changed), 3 nothing to do.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser
from django.db import transaction

from alphasms.appointments.csvparse import CANONICAL_FIELDS, CsvFormatError
from alphasms.appointments.management.commands._common import get_location, progress_printer, write_report
from alphasms.appointments.management.commands._sources import csv_error, read_source
from alphasms.appointments.services.csv_import import import_csv
from alphasms.appointments.services.planning import plan
from alphasms.cli_text import t
from alphasms.commands import AlphaCommand, UsageError, shown

CHANNELS = ("sms", "email")


class Command(AlphaCommand):
    help = "Importiert Kunden und Termine aus einer CSV-Datei (Excel/deutsche Praxissoftware)."
    help_en = "Imports customers and appointments from a CSV file (Excel/German practice software)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar=t("DATEI", "FILE"))
        parser.add_argument(
            "--location",
            metavar=t("STANDORT", "LOCATION"),
            help=t("Standort (Name oder Nummer)", "location (name or id)"),
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar=t("FELD=SPALTE", "FIELD=HEADER"),
            help=t("Spaltenzuordnung; Felder: ", "column mapping; fields: ") + ", ".join(CANONICAL_FIELDS),
        )
        parser.add_argument(
            "--consent",
            default="",
            help=t(
                "vorliegende Einwilligungen erfassen: sms,email (nur mit --wording)",
                "record consent the practice holds: sms,email (only with --wording)",
            ),
        )
        parser.add_argument(
            "--wording",
            default="",
            help=t(
                "Fassung des Einwilligungstexts (nur mit --consent)",
                "consent wording version (with --consent)",
            ),
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        mapping = parse_map(options["map"])
        channels = parse_consent(options["consent"], options["wording"])
        source = read_source(options["file"], "csv")
        with transaction.atomic():  # a location created for the import goes if the file is unreadable
            location = get_location(options["location"])
            try:
                report = import_csv(
                    source.data,
                    location,
                    source.ident,
                    mapping=mapping or None,
                    consent_channels=channels,
                    consent_wording=options["wording"].strip(),
                    recorded_by="cli-import",
                    progress=progress_printer("Import"),
                )
            except CsvFormatError as exc:
                raise csv_error(source, exc) from None
        plan()
        code = write_report(self, report, options["json"])
        if code:
            sys.exit(code)


def parse_map(items: list[str]) -> dict[str, str]:
    """``["mobile=Tel. mobil"]`` → ``{"mobile": "Tel. mobil"}``; UsageError naming the bad item."""
    mapping = {}
    for item in items:
        field, sep, header = item.partition("=")
        field, header = field.strip(), header.strip().strip('"')
        if not sep or field not in CANONICAL_FIELDS or not header:
            raise UsageError(
                t(
                    f'--map {shown(item)!r}: erwartet FELD=Spalte, z. B. --map mobile="Tel. mobil"; '
                    f"FELD ist eines von {', '.join(CANONICAL_FIELDS)}.",
                    f'--map {shown(item)!r}: expected FIELD=Header, e.g. --map mobile="Tel. mobil"; '
                    f"FIELD is one of {', '.join(CANONICAL_FIELDS)}.",
                )
            )
        mapping[field] = header
    return mapping


def parse_consent(consent: str, wording: str) -> tuple[str, ...]:
    """The consent channels; --consent and --wording only together."""
    channels = tuple(c.strip().lower() for c in consent.split(",") if c.strip())
    wrong = [c for c in channels if c not in CHANNELS]
    if wrong:
        raise UsageError(
            t(
                f"--consent: {shown(', '.join(wrong))} geht nicht – erlaubt sind sms und email, "
                "z. B. --consent sms,email.",
                f"--consent: {shown(', '.join(wrong))} is not possible – allowed are sms and email, "
                "e.g. --consent sms,email.",
            )
        )
    if consent.strip() and not channels:
        raise UsageError(
            t(
                "--consent ist leer – z. B. --consent sms,email.",
                "--consent is empty – e.g. --consent sms,email.",
            )
        )
    if channels and not wording.strip():
        raise UsageError(
            t(
                "--wording fehlt: mit --consent angeben, welche Fassung des Einwilligungstexts gilt "
                "(z. B. --wording 2026-01).",
                "--wording missing: with --consent, say which version of the consent wording applies "
                "(e.g. --wording 2026-01).",
            )
        )
    if wording.strip() and not channels:
        raise UsageError(
            t(
                "--wording ohne --consent bewirkt nichts – mit --consent sms,email angeben, welche "
                "Einwilligungen vorliegen, oder --wording weglassen.",
                "--wording without --consent does nothing – say with --consent sms,email which consent "
                "the practice holds, or drop --wording.",
            )
        )
    return channels
