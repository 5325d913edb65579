"""Helpers shared by the import commands: location lookup, progress, output.

Reading a file or URL is in ``_sources``.
"""

from __future__ import annotations

import json
import sys

from alphasms.appointments.models import Location
from alphasms.appointments.services.ics_import import ImportReport
from alphasms.cli_text import t
from alphasms.commands import UsageError, shown

EXIT_SOME_FAILED = 1
EXIT_NOTHING_TO_DO = 3


def get_location(value: str | None) -> Location:
    """The location named ``value`` (name or id); the only one when ``value`` is None (created as
    "Praxis" when there is none yet — callers run this inside the import's transaction)."""
    qs = Location.objects.order_by("name")
    names = ", ".join(qs.values_list("name", flat=True))
    if value:
        is_id = value.isascii() and value.isdigit() and len(value) <= 9  # "²" is a digit; int() fails
        found = qs.filter(pk=int(value)) if is_id else qs.filter(name=value.strip())
        location = found.first()
        if location is None and not names:
            raise UsageError(
                t(
                    f"--location: Standort {shown(value)!r} unbekannt – es gibt noch keinen; im Admin "
                    "anlegen oder --location weglassen (dann wird „Praxis“ angelegt).",
                    f"--location: unknown location {shown(value)!r} – there is none yet; create it in the "
                    "admin or drop --location (a location 'Praxis' is created).",
                )
            )
        if location is None:
            raise UsageError(
                t(
                    f"--location: Standort {shown(value)!r} unbekannt – einen vorhandenen angeben: {names}.",
                    f"--location: unknown location {shown(value)!r} – give one of: {names}.",
                )
            )
        return location
    if qs.count() != 1:
        if not qs.exists():
            return Location.objects.create(name="Praxis")
        raise UsageError(
            t(
                f"--location fehlt: es gibt mehrere Standorte – einen mit --location angeben: {names}.",
                f"--location missing: there are several locations – choose one with --location: {names}.",
            )
        )
    return qs.get()


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
    """Print the import report; return the exit code: 1 rows rejected (the rest applied), 3 nothing
    changed at all (appointments, customers, consent), else 0. Warnings do not change the code.

    Every problem of every rejected row is printed (one line each); warnings (about applied rows) the
    first 100, all with --json.
    """
    max_warnings_shown = 100
    stdout = command.stdout  # type: ignore[attr-defined]
    if as_json:
        stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        unmatched, warnings = len(report.unmatched), len(report.warnings)
        rejected = len({issue.line for issue in report.rejected})  # rows; a row may have several problems
        stdout.write(
            t(
                f"Termine – neu: {report.created}, geändert: {report.updated}, "
                f"unverändert: {report.unchanged}, abgesagt: {report.cancelled}, ohne Kunde: {unmatched}; "
                f"abgelehnte Zeilen: {rejected}, Hinweise: {warnings}",
                f"appointments – created: {report.created}, updated: {report.updated}, "
                f"unchanged: {report.unchanged}, cancelled: {report.cancelled}, unmatched: {unmatched}; "
                f"rejected rows: {rejected}, warnings: {warnings}",
            )
        )
        customers = report.customers_created + report.customers_updated + report.customers_unchanged
        if customers or report.consents_recorded:
            stdout.write(
                t(
                    f"Kunden – neu: {report.customers_created}, geändert: {report.customers_updated}, "
                    f"unverändert: {report.customers_unchanged}; Einwilligungen erfasst: "
                    f"{report.consents_recorded}",
                    f"customers – created: {report.customers_created}, updated: {report.customers_updated}, "
                    f"unchanged: {report.customers_unchanged}; consents recorded: {report.consents_recorded}",
                )
            )
        for _column, reason_de, reason_en in report.ignored_columns:
            stdout.write(f"  {t(reason_de, reason_en)}")
        for summary, start, reason in report.unmatched:
            stdout.write(
                t(
                    f"  ohne Kunde: {start} {summary!r} – {reason}",
                    f"  unmatched: {start} {summary!r} – {reason}",
                )
            )
        for issue in report.rejected:
            where = t(f"Zeile {issue.line}", f"line {issue.line}")
            if issue.field != "row":
                where += t(f", Feld {issue.field}", f", field {issue.field}")
            stdout.write(
                t(f"  abgelehnt: {where}: {issue.reason}", f"  rejected: {where}: {issue.reason_en}")
            )
        for issue in report.warnings[:max_warnings_shown]:
            where = t(f"Zeile {issue.line}", f"line {issue.line}")
            if issue.field != "row":
                where += t(f", Feld {issue.field}", f", field {issue.field}")
            stdout.write(t(f"  Hinweis: {where}: {issue.reason}", f"  warning: {where}: {issue.reason_en}"))
        if warnings > max_warnings_shown:
            more = warnings - max_warnings_shown
            stdout.write(
                t(
                    f"  … und {more} weitere Hinweise (alle mit --json)",
                    f"  … and {more} more warnings (all with --json)",
                )
            )
    if report.rejected:
        return EXIT_SOME_FAILED
    if not report.changed:
        return EXIT_NOTHING_TO_DO
    return 0
