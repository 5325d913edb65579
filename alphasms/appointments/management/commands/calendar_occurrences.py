"""``alphasms calendar occurrences FILE --from ISO --to ISO [--tz Europe/Berlin] [--json]``.

Shows what the product reads from a calendar, without touching the database: one object per
occurrence with uid, recurrence_id, summary, status and start_utc/end_utc or date/end_date.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from alphasms.appointments.ical import CalendarError, occurrence_to_json, read_calendar
from alphasms.appointments.management.commands._sources import calendar_error, read_source
from alphasms.cli_text import t
from alphasms.commands import AlphaCommand, UsageError, check_time_zone, parse_instant


class Command(AlphaCommand):
    help = "Zeigt die Termine (aufgelöste Wiederholungen) einer iCalendar-Datei, ohne etwas zu speichern."
    help_en = "Shows the occurrences (expanded recurrences) of an iCalendar file without storing anything."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", metavar=t("DATEI_ODER_URL", "FILE_OR_URL"))
        parser.add_argument(
            "--from",
            dest="start",
            metavar="ISO",
            required=True,
            help=t("ISO-8601-Zeitpunkt", "ISO 8601 instant"),
        )
        parser.add_argument(
            "--to",
            dest="end",
            metavar="ISO",
            required=True,
            help=t("ISO-8601-Zeitpunkt (exklusiv)", "ISO 8601 instant (exclusive)"),
        )
        parser.add_argument(
            "--tz",
            default="Europe/Berlin",
            metavar=t("ZEITZONE", "TIME_ZONE"),
            help=t("Zeitzone für ganztägige/schwebende Zeiten", "time zone for all-day and floating times"),
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = parse_instant(options["start"], "--from"), parse_instant(options["end"], "--to")
        if start >= end:
            raise UsageError(
                t(
                    f"--from muss vor --to liegen ({options['start']} ist nicht vor {options['end']}) – "
                    "die beiden Zeitpunkte prüfen.",
                    f"--from must be before --to ({options['start']} is not before {options['end']}) – "
                    "check both instants.",
                )
            )
        tz = check_time_zone(options["tz"])
        source = read_source(options["source"], "ics")
        try:
            occurrences = read_calendar(source.data, start, end, tz=tz)
        except CalendarError as exc:
            raise calendar_error(source, exc) from None
        items = [occurrence_to_json(o) for o in occurrences]
        if options["json"]:
            self.stdout.write(json.dumps(items, ensure_ascii=False, indent=2))
            return
        for item in items:
            when = item.get("start_utc") or item.get("date")
            self.stdout.write(f"{when}  {item['status']:<9}  {item['summary']}")
        self.stdout.write(t(f"{len(items)} Termine.", f"{len(items)} occurrences."))
