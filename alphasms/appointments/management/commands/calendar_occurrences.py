"""``alphasms calendar occurrences FILE --from ISO --to ISO [--tz Europe/Berlin] [--json]``.

Shows what the product reads from a calendar, without touching the database: one object per
occurrence with uid, recurrence_id, summary, status and start_utc/end_utc or date/end_date.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alphasms.appointments.ical import CalendarError, occurrence_to_json, read_calendar
from alphasms.appointments.management.commands._common import read_source
from alphasms.cli_text import t
from alphasms.messaging.management.commands.preview import parse_instant


class Command(BaseCommand):
    help = "Zeigt die Termine (aufgelöste Wiederholungen) einer iCalendar-Datei, ohne etwas zu speichern."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source")
        parser.add_argument("--from", dest="start", required=True, help="ISO-8601-Zeitpunkt")
        parser.add_argument("--to", dest="end", required=True, help="ISO-8601-Zeitpunkt (exklusiv)")
        parser.add_argument("--tz", default="Europe/Berlin", help="Zeitzone für ganztägige/schwebende Zeiten")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = parse_instant(options["start"], "--from"), parse_instant(options["end"], "--to")
        try:
            occurrences = read_calendar(read_source(options["source"]), start, end, tz=options["tz"])
        except CalendarError as exc:
            raise CommandError(f"{options['source']}: {exc}") from None
        items = [occurrence_to_json(o) for o in occurrences]
        if options["json"]:
            self.stdout.write(json.dumps(items, ensure_ascii=False, indent=2))
            return
        for item in items:
            when = item.get("start_utc") or item.get("date")
            self.stdout.write(f"{when}  {item['status']:<9}  {item['summary']}")
        self.stdout.write(t(f"{len(items)} Termine.", f"{len(items)} occurrences."))
