"""Helpers shared by the import commands: location lookup, reading a file or URL, progress, output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import CommandError

from alphasms.appointments.models import Location
from alphasms.appointments.services.ics_import import ImportReport
from alphasms.cli_text import t

EXIT_SOME_FAILED = 1
EXIT_NOTHING_TO_DO = 3


def get_location(value: str | None) -> Location:
    """The location named ``value`` (name or id); the only one when ``value`` is None."""
    qs = Location.objects.all()
    if value:
        found = qs.filter(pk=int(value)) if value.isdigit() else qs.filter(name=value)
        location = found.first()
        if location is None:
            names = ", ".join(qs.values_list("name", flat=True)) or "-"
            raise CommandError(
                t(
                    f"--location: Standort {value!r} unbekannt; vorhanden: {names}",
                    f"--location: unknown location {value!r}; known: {names}",
                )
            )
        return location
    if qs.count() != 1:
        if not qs.exists():
            return Location.objects.create(name="Praxis")
        raise CommandError(
            t("--location fehlt: es gibt mehrere Standorte.", "--location missing: several locations exist.")
        )
    return qs.get()


def read_source(source: str) -> bytes:
    """The bytes of a file path or an http(s) URL (fetched with the private-address guard)."""
    if source.startswith(("http://", "https://")):
        from alphasms.appointments.services.subscriptions import fetch_calendar
        from alphasms.messaging.gateways.errors import GatewayError
        from alphasms.messaging.gateways.http import BlockedAddress

        try:
            response = fetch_calendar(source)
        except (GatewayError, BlockedAddress) as exc:
            raise CommandError(f"{source}: {exc}") from None
        if response.status != 200:
            raise CommandError(f"{source}: HTTP {response.status}")
        return response.body
    path = Path(source)
    if not path.is_file():
        raise CommandError(t(f"Datei nicht gefunden: {source}", f"file not found: {source}"))
    return path.read_bytes()


def progress_printer(label: str):  # type: ignore[no-untyped-def]
    """A progress callback printing ``label done/total`` to stderr at every 10 %."""
    state = {"last": -1}

    def report(done: int, total: int) -> None:
        step = done * 10 // max(total, 1)
        if total >= 200 and step != state["last"]:
            state["last"] = step
            print(f"\r{label}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr)

    return report


def write_report(command: object, report: ImportReport, as_json: bool) -> int:
    """Print the import report; return the exit code (1 rejected rows, 3 nothing changed)."""
    stdout = command.stdout  # type: ignore[attr-defined]
    if as_json:
        stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        unmatched, rejected = len(report.unmatched), len(report.rejected)
        stdout.write(
            t(
                f"neu: {report.created}, geändert: {report.updated}, unverändert: {report.unchanged}, "
                f"abgesagt: {report.cancelled}, ohne Kunde: {unmatched}, abgelehnt: {rejected}",
                f"created: {report.created}, updated: {report.updated}, unchanged: {report.unchanged}, "
                f"cancelled: {report.cancelled}, unmatched: {unmatched}, rejected: {rejected}",
            )
        )
        for summary, start, reason in report.unmatched:
            stdout.write(
                t(
                    f"  ohne Kunde: {start} {summary!r} – {reason}",
                    f"  unmatched: {start} {summary!r} – {reason}",
                )
            )
        for line, field, reason in report.rejected:
            stdout.write(
                t(f"  Zeile {line}, Feld {field}: {reason}", f"  line {line}, field {field}: {reason}")
            )
    if report.rejected:
        return EXIT_SOME_FAILED
    if not (report.created or report.updated or report.cancelled):
        return EXIT_NOTHING_TO_DO
    return 0
