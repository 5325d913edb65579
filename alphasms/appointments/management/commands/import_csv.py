"""``alphasms import csv FILE [--location L] [--map field=Header …] [--consent sms,email --wording V]``.

Valid rows apply together; every rejected row is printed with line, field and reason.
Exit codes: 0 applied, 1 some rows rejected (the valid ones applied), 2 unreadable file, 3 nothing to do.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alphasms.appointments.csvparse import CANONICAL_FIELDS, CsvFormatError
from alphasms.appointments.management.commands._common import (
    get_location,
    progress_printer,
    read_source,
    write_report,
)
from alphasms.appointments.services.csv_import import import_csv
from alphasms.appointments.services.planning import plan


class Command(BaseCommand):
    help = "Importiert Kunden und Termine aus einer CSV-Datei (Excel/deutsche Praxissoftware)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--location", help="Standort (Name oder Nummer)")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FELD=SPALTE",
            help=f"Spaltenzuordnung; Felder: {', '.join(CANONICAL_FIELDS)}",
        )
        parser.add_argument("--consent", default="", help="vorliegende Einwilligungen erfassen: sms,email")
        parser.add_argument(
            "--wording", default="", help="Fassung des Einwilligungstexts (Pflicht mit --consent)"
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        mapping = {}
        for item in options["map"]:
            field, sep, header = item.partition("=")
            if not sep or field not in CANONICAL_FIELDS:
                raise CommandError(
                    f"--map {item!r}: erwartet FELD=Spalte mit FELD aus {', '.join(CANONICAL_FIELDS)}"
                )
            mapping[field] = header
        channels = tuple(c.strip() for c in options["consent"].split(",") if c.strip())
        if any(c not in ("sms", "email") for c in channels):
            raise CommandError("--consent: erlaubt sind sms und email, z. B. --consent sms,email")
        if channels and not options["wording"]:
            raise CommandError("--wording fehlt: welche Fassung des Einwilligungstexts gilt (z. B. 2026-01)?")
        location = get_location(options["location"])
        try:
            report = import_csv(
                read_source(options["file"]),
                location,
                options["file"],
                mapping=mapping or None,
                consent_channels=channels,
                consent_wording=options["wording"],
                recorded_by="cli-import",
                progress=progress_printer("Import"),
            )
        except CsvFormatError as exc:
            raise CommandError(f"{options['file']}: {exc}") from None
        plan()
        code = write_report(self, report, options["json"])
        if code:
            sys.exit(code)
