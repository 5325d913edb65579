"""``alphasms import ics FILE_OR_URL [--location L] [--subscribe [--interval S]] [--json]``.

Exit codes: 0 changes applied (or a subscription created), 2 unreadable input or usage error (nothing
changed), 3 nothing to do.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandParser
from django.db import transaction

from alphasms.appointments.ical import CalendarError
from alphasms.appointments.management.commands._common import get_location, progress_printer, write_report
from alphasms.appointments.management.commands._sources import (
    calendar_error,
    read_source,
    redacted_logs,
    url_of,
)
from alphasms.appointments.models import MIN_REFRESH_INTERVAL_S, CalendarSubscription, Location
from alphasms.appointments.services.ics_import import import_ics
from alphasms.appointments.services.planning import plan
from alphasms.cli_text import t
from alphasms.commands import EXIT_NOTHING_TO_DO, AlphaCommand, UsageError, int_range, shown

DEFAULT_INTERVAL_S = 900
MIN_INTERVAL_S, MAX_INTERVAL_S = MIN_REFRESH_INTERVAL_S, 30 * 24 * 3600


class Command(AlphaCommand):
    help = "Importiert Termine aus einer iCalendar-Datei oder -URL (ganz oder gar nicht)."
    help_en = "Imports appointments from an iCalendar file or URL (whole or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "source",
            metavar=t("DATEI_ODER_URL", "FILE_OR_URL"),
            help=t("Pfad oder http(s)-URL einer .ics-Datei", "path or http(s) URL of an .ics file"),
        )
        parser.add_argument(
            "--location",
            metavar=t("STANDORT", "LOCATION"),
            help=t("Standort (Name oder Nummer)", "location (name or id)"),
        )
        parser.add_argument(
            "--subscribe",
            action="store_true",
            help=t("URL als Abo anlegen (der Worker ruft sie ab)", "subscribe to the URL (the worker polls)"),
        )
        parser.add_argument(
            "--interval",
            type=int_range(MIN_INTERVAL_S, MAX_INTERVAL_S, " Sekunden", " seconds"),
            metavar=t("SEKUNDEN", "SECONDS"),
            help=t(
                f"Abrufintervall des Abos in Sekunden (Standard {DEFAULT_INTERVAL_S}, ab {MIN_INTERVAL_S})",
                f"subscription poll interval in seconds (default {DEFAULT_INTERVAL_S}, at least "
                f"{MIN_INTERVAL_S})",
            ),
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subscribe"] and url_of(options["source"]) is None:
            raise UsageError(
                t(
                    f"--subscribe braucht eine http(s)-URL – {shown(options['source'])} ist ein Dateipfad; "
                    "eine Datei ohne --subscribe importieren.",
                    f"--subscribe needs an http(s) URL – {shown(options['source'])} is a file path; "
                    "import a file without --subscribe.",
                )
            )
        if options["interval"] is not None and not options["subscribe"]:
            raise UsageError(
                t(
                    "--interval gilt nur mit --subscribe – --subscribe ergänzen oder --interval weglassen.",
                    "--interval only applies with --subscribe – add --subscribe or drop --interval.",
                )
            )
        source = read_source(options["source"], "ics")
        changed, note = False, ""
        with redacted_logs(source):
            with transaction.atomic():  # a location created for the import goes if the import fails
                location = get_location(options["location"])
                try:
                    report = import_ics(
                        source.data, location, source.ident, progress=progress_printer("Import")
                    )
                except CalendarError as exc:
                    raise calendar_error(source, exc) from None
                if options["subscribe"] and source.url:
                    changed, note = subscribe(source.url, source.name, location, options["interval"])
            plan()
        code = write_report(self, report, options["json"])
        if note:
            (self.stderr if options["json"] else self.stdout).write(note)
        if code == EXIT_NOTHING_TO_DO and changed:
            code = 0  # a new subscription (or a new interval) is a change
        if code:
            sys.exit(code)


def subscribe(url: str, name: str, location: Location, interval: int | None) -> tuple[bool, str]:
    """Create the subscription (or find it, and set a new ``interval``); return (changed, a line for the
    user)."""
    subscription = CalendarSubscription.objects.filter(url=url, location=location).first()
    if subscription is None:
        subscription = CalendarSubscription(
            url=url, location=location, name=name[:200], refresh_interval_s=interval or DEFAULT_INTERVAL_S
        )
        try:
            subscription.full_clean()  # the admin's rules (interval, address guard, URL length)
        except ValidationError as exc:
            problems = "; ".join(str(m) for messages in exc.message_dict.values() for m in messages)
            raise UsageError(
                t(f"{name}: Abo nicht möglich – {problems}", f"{name}: cannot subscribe – {problems}")
            ) from None
        subscription.save()
        seconds = subscription.refresh_interval_s
        return True, t(
            f"Abo angelegt: {name} – der Worker ruft es alle {seconds} s ab.",
            f"Subscription created: {name} – the worker fetches it every {seconds} s.",
        )
    seconds = subscription.refresh_interval_s
    if interval is not None and interval != seconds:
        subscription.refresh_interval_s = interval
        subscription.save(update_fields=["refresh_interval_s"])
        return True, t(
            f"Abo bestand bereits: {name} – Abrufintervall von {seconds} s auf {interval} s geändert.",
            f"Subscription already existed: {name} – poll interval changed from {seconds} s to {interval} s.",
        )
    inactive_de = (
        "" if subscription.active else " Es ist inaktiv – im Admin unter „Kalender-Abonnements“ aktivieren."
    )
    inactive_en = (
        "" if subscription.active else " It is inactive – activate it in the admin (calendar subscriptions)."
    )
    return False, t(
        f"Abo bestand bereits: {name} (alle {seconds} s).{inactive_de}",
        f"Subscription already existed: {name} (every {seconds} s).{inactive_en}",
    )
