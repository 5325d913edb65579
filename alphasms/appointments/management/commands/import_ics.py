"""``alphasms import ics FILE_OR_URL [--location L] [--subscribe] [--json]``.

Exit codes: 0 changes applied, 2 unreadable input or usage error (nothing changed), 3 nothing to do.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alphasms.appointments.ical import CalendarError
from alphasms.appointments.management.commands._common import (
    get_location,
    progress_printer,
    read_source,
    write_report,
)
from alphasms.appointments.models import CalendarSubscription
from alphasms.appointments.services.ics_import import import_ics
from alphasms.appointments.services.planning import plan


class Command(BaseCommand):
    help = "Importiert Termine aus einer iCalendar-Datei oder -URL (ganz oder gar nicht)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="Pfad oder http(s)-URL einer .ics-Datei")
        parser.add_argument("--location", help="Standort (Name oder Nummer)")
        parser.add_argument("--subscribe", action="store_true", help="URL als Abo anlegen (Worker ruft ab)")
        parser.add_argument("--interval", type=int, default=900, help="Abrufintervall in Sekunden")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        location = get_location(options["location"])
        source = options["source"]
        try:
            report = import_ics(read_source(source), location, source, progress=progress_printer("Import"))
        except CalendarError as exc:
            raise CommandError(f"{source}: {exc}") from None
        if options["subscribe"] and source.startswith(("http://", "https://")):
            CalendarSubscription.objects.get_or_create(
                url=source,
                location=location,
                defaults={"name": source[:200], "refresh_interval_s": options["interval"]},
            )
        plan()
        code = write_report(self, report, options["json"])
        if code:
            sys.exit(code)
