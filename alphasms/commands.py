"""The base of AlphaSMS's management commands: errors as one plain sentence, never a traceback.

* :class:`UsageError` — a usage error or unreadable input: exit 2, nothing changed. The message names
  the option or file and the fix, in the user's language (``t(de, en)``).
* :class:`AlphaCommand` prints such errors without "CommandError:", turns argparse's English into
  German where the locale says so, names commands as users type them ("alphasms import ics"),
  refuses to run on a database that is not migrated, and reports a crash in one line (exit 1; details
  with ``--traceback``) instead of a traceback.
* Option helpers shared by several commands: :func:`parse_instant`, :func:`check_time_zone`.

Exit codes (README): 0 success, 1 some messages/rows failed (the rest applied), 2 usage error or
unreadable input (nothing changed), 3 nothing to do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import zoneinfo
from typing import Any, NoReturn

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    SystemCheckError,
    handle_default_options,
)
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

from alphasms.cli import display_name
from alphasms.cli_text import t

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_NOTHING_TO_DO = 3
EXIT_INTERRUPTED = 130

# Instants must stay representable after time-zone conversion and the calendar's query margins.
_EARLIEST = dt.datetime(2, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(9998, 12, 31, tzinfo=dt.UTC)


class UsageError(CommandError):
    """Bad option or unreadable input; nothing changed (exit 2). One sentence: what, where, the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=EXIT_USAGE)


def shown(text: str) -> str:
    """``text`` safe to print: bytes that were not UTF-8 (surrogate escapes from argv) as ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# argparse (Python 3.11+) messages → (German, English) with the option first.
_ARGPARSE: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), de, en)
    for pattern, de, en in (
        (r"the following arguments are required: (.+)", "Angabe fehlt: {0}", "missing: {0}"),
        (r"unrecognized arguments: (.+)", "unbekannte Angabe: {0}", "unrecognised argument: {0}"),
        (r"argument (\S+): expected one argument", "{0} braucht einen Wert", "{0} needs a value"),
        (
            r"argument (\S+): invalid int value: (.+)",
            "{0}: {1} ist keine ganze Zahl",
            "{0}: {1} is not a whole number",
        ),
        (
            r"argument (\S+): invalid choice: (.+) \(choose from (.+)\)",
            "{0}: {1} ist nicht möglich; erlaubt: {2}",
            "{0}: {1} is not possible; allowed: {2}",
        ),
        (r"argument (\S+): (.+)", "{0}: {1}", "{0}: {1}"),  # our ArgumentTypeError texts use t()
        (r"ambiguous option: (\S+) could match (.+)", "{0} ist mehrdeutig: {1}", "{0} is ambiguous: {1}"),
    )
)
_HELP_WORDS = (
    ("usage: ", "Aufruf: "),
    ("positional arguments:", "Argumente:"),
    ("options:", "Optionen:"),
    ("show this help message and exit", "diese Hilfe zeigen"),
)


def argparse_message(message: str) -> str:
    """argparse's English error in the user's language, option first."""
    for pattern, de, en in _ARGPARSE:
        match = pattern.fullmatch(message)
        if match:
            return t(de, en).format(*match.groups())
    return message


class AlphaParser(CommandParser):
    """CommandParser with translated errors and headings; errors exit 2 (or raise UsageError)."""

    def error(self, message: str) -> NoReturn:
        text = argparse_message(message)
        if not self.called_from_command_line:
            raise UsageError(text)
        help_hint = t(f"Hilfe: {self.prog} --help", f"help: {self.prog} --help")
        sys.stderr.write(f"{self.prog}: {text}\n{self.format_usage()}{help_hint}\n")
        sys.exit(EXIT_USAGE)

    def format_usage(self) -> str:
        return self._localise(super().format_usage())

    def format_help(self) -> str:
        return self._localise(super().format_help())

    @staticmethod
    def _localise(text: str) -> str:
        for en, de in _HELP_WORDS:
            text = text.replace(en, t(de, en))
        return text


class AlphaCommand(BaseCommand):
    """Base of every AlphaSMS command (see the module docstring). ``help`` is German, ``help_en``
    English; commands that need no database set ``requires_migrations_checks = False``."""

    help_en = ""
    requires_migrations_checks = True
    suppressed_base_arguments = {
        "--version",
        "--settings",
        "--pythonpath",
        "--no-color",
        "--force-color",
        "--skip-checks",
    }

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, display_name(subcommand), **kwargs)
        parser.__class__ = AlphaParser  # same state, translated errors; Django builds CommandParser itself
        parser.description = t(self.help, self.help_en or self.help)
        for action in parser._actions:
            if action.dest == "verbosity":
                action.help = t("Ausführlichkeit 0–3", "verbosity 0–3")
            elif action.dest == "traceback":
                action.help = t(
                    "bei Fehlern den Python-Traceback zeigen", "show the Python traceback on errors"
                )
            elif action.dest == "skip_checks":
                action.help = argparse.SUPPRESS
        return parser

    def run_from_argv(self, argv: list[str]) -> None:
        """Django's run_from_argv, but every error is one line on stderr and a documented exit code."""
        self._called_from_command_line = True
        parser = self.create_parser(argv[0], argv[1])
        options = parser.parse_args(argv[2:])
        cmd_options = vars(options)
        args = cmd_options.pop("args", ())
        handle_default_options(options)
        try:
            self.execute(*args, **cmd_options)
        except KeyboardInterrupt:
            self.stderr.write(t("Abgebrochen.", "Interrupted."))
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:
            if options.traceback:
                raise
            sys.exit(self.report_error(exc))
        finally:
            try:
                connections.close_all()
            except ImproperlyConfigured:
                pass

    def report_error(self, exc: Exception) -> int:
        """Write ``exc`` to stderr as the user should see it; return the exit code."""
        if isinstance(exc, SystemCheckError):
            self.stderr.write(str(exc), lambda x: x)
            return EXIT_USAGE
        if isinstance(exc, CommandError):  # ours are UsageError; Django's are usage errors too
            self.stderr.write(str(exc))
            return exc.returncode if isinstance(exc, UsageError) else EXIT_USAGE
        if isinstance(exc, OperationalError):
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.stderr.write(
                t(
                    f"Datenbank nicht nutzbar: {detail} – DATABASE_URL prüfen bzw. „alphasms migrate“ "
                    "ausführen.",
                    f"database not usable: {detail} – check DATABASE_URL or run 'alphasms migrate'.",
                )
            )
            return EXIT_USAGE
        self.stderr.write(
            t(
                f"Interner Fehler ({type(exc).__name__}: {shown(str(exc))[:200]}) – bitte melden; "
                "Einzelheiten zeigt derselbe Aufruf mit --traceback.",
                f"Internal error ({type(exc).__name__}: {shown(str(exc))[:200]}) – please report it; "
                "the same call with --traceback shows the details.",
            )
        )
        return EXIT_SOME_FAILED

    def check_migrations(self) -> None:
        """Refuse to run on a database without AlphaSMS's tables (Django only warns)."""
        from django.db.migrations.executor import MigrationExecutor

        try:
            executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        except ImproperlyConfigured:
            return
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise UsageError(
                t(
                    "Die Datenbank ist nicht eingerichtet oder nicht aktuell – zuerst „alphasms migrate“ "
                    "(oder „alphasms run“) ausführen.",
                    "The database is not set up or not up to date – run 'alphasms migrate' (or "
                    "'alphasms run') first.",
                )
            )


def parse_instant(value: str, name: str) -> dt.datetime:
    """Parse an ISO 8601 instant; naive values are UTC. Raises UsageError naming ``name``."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            t(
                f"{name}: {shown(value)!r} ist kein ISO-8601-Zeitpunkt (z. B. 2026-12-01T18:00Z).",
                f"{name}: {shown(value)!r} is not an ISO 8601 instant (e.g. 2026-12-01T18:00Z).",
            )
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        in_range = _EARLIEST <= parsed.astimezone(dt.UTC) <= _LATEST
    except OverflowError:
        in_range = False
    if not in_range:
        raise UsageError(
            t(
                f"{name}: {value!r} liegt außerhalb des möglichen Bereichs – einen Zeitpunkt zwischen "
                "0002-01-01 und 9998-12-31 angeben.",
                f"{name}: {value!r} is out of range – give an instant between 0002-01-01 and 9998-12-31.",
            )
        )
    return parsed


_TODAY_WORDS = {"heute": 0, "today": 0, "morgen": 1, "tomorrow": 1, "übermorgen": 2}
_DATE_DE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def parse_until(value: str, name: str, zone_name: str, now: dt.datetime | None = None) -> dt.datetime:
    """An end instant (aware) for options like ``--until``, as a receptionist writes it.

    ``heute``/``today``, ``morgen``/``tomorrow``, ``übermorgen``, or a plain date (``2026-12-02`` or
    ``02.12.2026``) mean the *end* of that calendar day in ``zone_name`` (IANA; the last microsecond
    before the next local midnight, DST-aware); anything else is an ISO 8601 instant
    (:func:`parse_instant`, naive = UTC). ``now`` (default: the current time) fixes "today". Raises
    UsageError naming ``name`` and the accepted forms.
    """
    zone = zoneinfo.ZoneInfo(zone_name)
    text = value.strip().lower()
    day: dt.date | None = None
    if text in _TODAY_WORDS:
        today = (now or dt.datetime.now(dt.UTC)).astimezone(zone).date()
        day = today + dt.timedelta(days=_TODAY_WORDS[text])
    else:
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                day = dt.date.fromisoformat(text)
            elif match := _DATE_DE.fullmatch(text):
                day = dt.date(int(match[3]), int(match[2]), int(match[1]))
        except ValueError:
            raise UsageError(
                t(
                    f"{name}: {shown(value)!r} ist kein gültiges Datum (z. B. 02.12.2026 oder 2026-12-02).",
                    f"{name}: {shown(value)!r} is not a valid date (e.g. 2026-12-02 or 02.12.2026).",
                )
            ) from None
    if day is None:
        if re.fullmatch(r"[^\d]+", text):  # a word we do not know
            raise UsageError(
                t(
                    f"{name}: {shown(value)!r} ist nicht verständlich – erlaubt: heute, morgen, ein Datum "
                    "(02.12.2026) oder ein Zeitpunkt (2026-12-02T18:00Z).",
                    f"{name}: {shown(value)!r} is not understood – today, tomorrow, a date (2026-12-02) or "
                    "an instant (2026-12-02T18:00Z).",
                )
            )
        return parse_instant(value, name)
    if not dt.date(2, 1, 1) <= day <= dt.date(9998, 12, 30):
        return parse_instant(value, name)  # its out-of-range sentence
    next_midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return next_midnight.astimezone(dt.UTC) - dt.timedelta(microseconds=1)


def local_time_text(instant: dt.datetime, zone_name: str, language: str = "de") -> str:
    """``instant`` as wall time in ``zone_name`` with the zone's abbreviation, for people: German
    "Mo. 30.11.2026 08:00 MEZ" (CLDR names through Babel), English "Mon 30 Nov 2026 08:00 CET" (the
    IANA abbreviation)."""
    local = instant.astimezone(zoneinfo.ZoneInfo(zone_name))
    if language == "de":
        from babel.dates import format_datetime

        return str(format_datetime(local, "EEE dd.MM.yyyy HH:mm z", locale="de"))
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return (
        f"{days[local.weekday()]} {local.day:02d} {months[local.month - 1]} {local.year} "
        f"{local:%H:%M} {local.tzname()}"
    )


def check_time_zone(value: str, name: str = "--tz") -> str:
    """``value`` if it names an IANA time zone, else UsageError naming ``name``."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise UsageError(
            t(
                f"{name}: {shown(value)!r} ist keine IANA-Zeitzone (z. B. Europe/Berlin).",
                f"{name}: {shown(value)!r} is not an IANA time zone (e.g. Europe/Berlin).",
            )
        ) from None
    return value


def int_range(low: int, high: int, unit_de: str = "", unit_en: str = "") -> Any:
    """An argparse ``type`` accepting whole numbers from ``low`` to ``high`` (bilingual errors)."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                t(f"{shown(text)!r} ist keine ganze Zahl", f"{shown(text)!r} is not a whole number")
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                t(
                    f"{value} liegt nicht zwischen {low} und {high}{unit_de} – einen Wert dazwischen wählen",
                    f"{value} is not between {low} and {high}{unit_en} – choose a value in that range",
                )
            )
        return value

    return convert
