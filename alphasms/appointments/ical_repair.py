"""Pre-parse normaliser and post-expansion fallback for :mod:`alphasms.appointments.ical`.

This is the ONE place where AlphaSMS corrects around icalendar 7.3.2, x-wr-timezone 2.0.1 and
recurring-ical-events 3.8.2. Every workaround below carries a ``TROUBLE:`` comment naming what the
library gets wrong. Framework-free: no Django imports.

Pipeline (RFC 5545 section numbers in brackets):

1. raw bytes -> physical lines; UTF-16 is transcoded, a UTF-8 BOM dropped (§3.1.4);
2. folds are undone on BYTES, before decoding (§3.1: CRLF/LF/CR + one SPACE or HTAB);
3. blank and whitespace-only lines are dropped;
4. each logical line is decoded with :func:`decode_text` (UTF-8, fallback cp1252 with a note);
5. every line must be ``NAME[;PARAM=...]:VALUE`` (§3.1) and BEGIN/END must nest, else
   :class:`CalendarError` with the physical line number;
6. RRULE/EXRULE whitespace, X-WR-TIMEZONE and non-IANA TZIDs are repaired (see the TROUBLE notes).

After parsing, :func:`align_exceptions` and :class:`ThisAndFuture` correct two faults of
recurring-ical-events (EXDATE/RECURRENCE-ID matching by wall-clock digits; RANGE=THISANDFUTURE
instances sharing one RECURRENCE-ID).
"""

from __future__ import annotations

import codecs
import hashlib
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import icalendar
from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

__all__ = [
    "CalendarError",
    "Normalised",
    "ThisAndFuture",
    "align_exceptions",
    "decode_text",
    "german_message",
    "iana_zone",
    "normalise",
]


class CalendarError(ValueError):
    """The calendar data cannot be read; the message names the line and/or property when known.

    The message is English (logs, English UI); :attr:`german` is the same in German. Re-exported as
    :class:`alphasms.appointments.ical.CalendarError` (defined here so the normaliser can raise it
    without a circular import).
    """

    @property
    def german(self) -> str:
        """The message in German, for the German web UI and CLI (see :func:`german_message`)."""
        return german_message(str(self))


# English CalendarError messages (raised here and in ``ical.py``) → German. Quoted input, library
# details and property names stay as they are; the English text is kept when no pattern matches.
_WHERE = r"(?:line (?P<line>\d+): )?VEVENT(?P<uid> UID=.*?)?"
_GERMAN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), german)
    for pattern, german in (
        (r"no iCalendar data: the input is empty or blank", "keine iCalendar-Daten: die Eingabe ist leer"),
        (
            r"line (?P<n>\d+): content after END:VCALENDAR: (?P<x>.*)",
            "Zeile {n}: Inhalt nach END:VCALENDAR: {x}",
        ),
        (
            r"line (?P<n>\d+): expected BEGIN:VCALENDAR, found (?P<x>.*) \(not an iCalendar file\)",
            "Zeile {n}: BEGIN:VCALENDAR erwartet, gefunden: {x} (keine iCalendar-Datei)",
        ),
        (
            r"line (?P<n>\d+): not an iCalendar content line \(NAME:VALUE\): (?P<x>.*)",
            "Zeile {n}: keine iCalendar-Inhaltszeile (NAME:WERT): {x}",
        ),
        (
            r"line (?P<n>\d+): END:(?P<c>\S+) does not close BEGIN:(?P<b>\S+) of line (?P<a>\d+)",
            "Zeile {n}: END:{c} schließt nicht das BEGIN:{b} aus Zeile {a}",
        ),
        (
            r"the data ends inside (?P<b>\S+) begun at line (?P<a>\d+) \(no END:\S+; truncated\?\)",
            "die Daten enden innerhalb von {b} aus Zeile {a} (END:{b} fehlt; Datei abgeschnitten?)",
        ),
        (
            r"cannot expand the calendar's events: (?P<x>.*)",
            "die Termine des Kalenders lassen sich nicht berechnen: {x}",
        ),
        (r"not a readable iCalendar file: (?P<x>.*)", "keine lesbare iCalendar-Datei: {x}"),
        (
            _WHERE + r": property (?P<p>\S+) cannot be read: (?P<x>.*)",
            "{where}: Eigenschaft {p} ist nicht lesbar: {x}",
        ),
        (_WHERE + r" has no DTSTART", "{where} hat kein DTSTART (Beginn)"),
        (
            _WHERE + r": unusable date/time values: (?P<x>.*)",
            "{where}: unbrauchbare Datums-/Zeitangaben: {x}",
        ),
    )
)


def german_message(english: str) -> str:
    """The German wording of a :class:`CalendarError` message ("line 1: expected BEGIN:VCALENDAR,
    found 'x' (not an iCalendar file)" → "Zeile 1: BEGIN:VCALENDAR erwartet, gefunden: 'x'
    (keine iCalendar-Datei)"); ``english`` unchanged when it is no known message."""
    for pattern, german in _GERMAN:
        match = pattern.fullmatch(english)
        if match is None:
            continue
        values = {k: v or "" for k, v in match.groupdict().items()}
        if "uid" in values:
            line = f"Zeile {values['line']}: " if values["line"] else ""
            values["where"] = f"{line}VEVENT{values['uid']}"
        return german.format(**values)
    return english


@dataclass
class Normalised:
    """Result of :func:`normalise`.

    ``text``: CRLF-joined, unfolded, repaired logical lines for ``icalendar.Calendar.from_ical``.
    ``vevent_lines``: 1-based physical line number of each top-level ``BEGIN:VEVENT`` in file
    order (same order as the parsed VEVENT subcomponents), for error messages.
    ``notes``: human-readable remarks on what was assumed or repaired (for logging).
    """

    text: str
    vevent_lines: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# NAME *(";" param) ":" -- quoted parameter values may contain ":" and ";" (RFC 5545 §3.1, §3.2).
# The name pattern is icalendar's own (``[\w.-]+``), so we reject nothing icalendar would accept.
_CONTENT_LINE = re.compile(r'[\w.-]+(?:;(?:[^":]|"[^"]*")*)?:')
_TZID_PARAM = re.compile(r';TZID=("[^"]*"|[^;:"]*)', re.IGNORECASE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Lines that do not change what a VTIMEZONE means; left out of its content hash.
_TZ_HASH_SKIP = ("TZID", "LAST-MODIFIED", "TZURL", "X-LIC-LOCATION")


def decode_text(raw: bytes) -> tuple[str, str | None]:
    """Decode one line (or a whole file) of calendar bytes to text.

    Returns ``(text, note)``. A leading UTF-8 or UTF-16 byte-order mark is honoured and removed.
    RFC 5545 §3.1.4 makes UTF-8 the default charset; bytes that are not valid UTF-8 are decoded
    as Windows-1252 (what German Windows exporters write) and ``note`` says so; it is ``None``
    otherwise. Never raises: undefined cp1252 bytes become U+FFFD.
    """
    if raw.startswith(_UTF16_BOMS):
        return raw.decode("utf-16", errors="replace"), None
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        note = f"not valid UTF-8 ({exc.reason} at byte {exc.start}); decoded as Windows-1252"
        return raw.decode("cp1252", errors="replace"), note


def iana_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """Return the IANA zone called ``name`` (e.g. "Europe/Berlin"), or None if there is none."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return None


def _logical_lines(data: bytes) -> tuple[list[tuple[int, str]], list[str]]:
    """Unfold on bytes and decode. Returns ([(first physical line number, text)], notes)."""
    if data.startswith(_UTF16_BOMS):
        data = data.decode("utf-16", errors="replace").encode("utf-8")
    elif data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    # TROUBLE: icalendar decodes before it unfolds, so a fold that splits a UTF-8 sequence
    # ("M\xc3" CRLF SPACE "\xbcller") becomes "M\ufffd\ufffdller", and cp1252 input silently turns
    # into U+FFFD. We unfold the raw octets first (RFC 5545 §3.1 folds octets, not characters),
    # accept LF- and CR-only line ends, and drop whitespace-only lines (invalid but common).
    # A lone CR ends a line only in a file without any LF (old Mac exports); in other files CRs
    # are only stripped from line ends ("\r\r\n"), so a CR inside a value cannot split a line.
    physical_lines = data.split(b"\n") if b"\n" in data else data.split(b"\r")
    raw_lines: list[tuple[int, bytearray]] = []
    for number, physical in enumerate((line.rstrip(b"\r") for line in physical_lines), start=1):
        if not physical.strip():
            continue
        if physical[:1] in (b" ", b"\t") and raw_lines:
            raw_lines[-1][1].extend(physical[1:])
        else:
            raw_lines.append((number, bytearray(physical)))
    lines: list[tuple[int, str]] = []
    notes: list[str] = []
    for number, raw in raw_lines:
        text, note = decode_text(bytes(raw))
        if note:
            notes.append(f"line {number}: {note}")
        lines.append((number, text))
    return lines, notes


def _split(line: str) -> tuple[str, str, str] | None:
    """``"DTSTART;TZID=X:2026..."`` -> ``("DTSTART", "TZID=X", "2026...")``; None if not a content line."""
    match = _CONTENT_LINE.match(line)
    if match is None:
        return None
    name, _, params = line[: match.end() - 1].partition(";")
    return name.upper(), params, line[match.end() :]


def normalise(data: bytes) -> Normalised:
    """Turn raw calendar bytes into text icalendar reads correctly (see the module docstring).

    Raises :class:`CalendarError` for: no data, a first line that is not ``BEGIN:VCALENDAR`` (an
    HTML error page, a CSV file ...), a line that is not ``NAME[;PARAM]:VALUE``, unbalanced
    BEGIN/END (truncated download), or content after ``END:VCALENDAR``. Messages name the line.
    """
    lines, notes = _logical_lines(data)
    if not lines:
        raise CalendarError("no iCalendar data: the input is empty or blank")
    parsed: list[tuple[int, int, str, str, str]] = []  # (line number, depth, name, params, value)
    stack: list[tuple[str, int]] = []
    vevent_lines: list[int] = []
    closed = False
    tz_blocks: dict[str, list[str]] = {}  # TZID of a VTIMEZONE -> its definition lines
    tz_block: list[str] | None = None
    for number, line in lines:
        parts = _split(line)
        if not stack and closed:
            raise CalendarError(f"line {number}: content after END:VCALENDAR: {line[:80]!r}")
        if not stack and (parts is None or parts[0] != "BEGIN" or parts[2].strip().upper() != "VCALENDAR"):
            raise CalendarError(
                f"line {number}: expected BEGIN:VCALENDAR, found {line[:80]!r} (not an iCalendar file)"
            )
        if parts is None:
            raise CalendarError(f"line {number}: not an iCalendar content line (NAME:VALUE): {line[:80]!r}")
        name, params, value = parts
        component = value.strip().upper()
        parsed.append((number, len(stack), name, params, value))
        if name == "BEGIN":
            stack.append((component, number))
            if component == "VEVENT" and len(stack) == 2:
                vevent_lines.append(number)
            if component == "VTIMEZONE":
                tz_block = []
        elif name == "END":
            if stack[-1][0] != component:
                begun, at = stack[-1]
                raise CalendarError(
                    f"line {number}: END:{component} does not close BEGIN:{begun} of line {at}"
                )
            stack.pop()
            closed = not stack
            if component == "VTIMEZONE":
                tz_block = None
        if tz_block is not None:
            if name == "TZID" and len(stack) == 2:
                tz_blocks[value.strip().strip('"')] = tz_block
            if name not in _TZ_HASH_SKIP:
                tz_block.append(line)
    if stack:
        begun, at = stack[-1]
        raise CalendarError(f"the data ends inside {begun} begun at line {at} (no END:{begun}; truncated?)")
    renames = _tzid_renames(tz_blocks)
    out: list[str] = []
    for number, depth, name, params, value in parsed:
        if name in ("RRULE", "EXRULE") and re.search(r"\s", value):
            # TROUBLE: Exchange CDO writes "BYDAY=MO, TU, WE, TH, FR" (spaces after commas, often
            # with a fold before ";WKST"). icalendar marks the RRULE broken and
            # recurring-ical-events raises BadRuleStringFormat. RFC 5545 §3.3.10 allows no
            # whitespace in a RECUR value, so removing it cannot change a valid rule.
            value = re.sub(r"\s+", "", value).strip(";")
            notes.append(f"line {number}: removed whitespace from {name}")
        elif name == "X-WR-TIMEZONE" and depth == 1:
            value, note = _x_wr_timezone(value)
            if note:
                notes.append(f"line {number}: {note}")
            if not value:
                continue
        elif name == "TZID" and value.strip().strip('"') in renames:
            value = renames[value.strip().strip('"')]
        if "TZID=" in params.upper():
            notes.extend(_unknown_tzid_notes(number, params, tz_blocks))
            params = _TZID_PARAM.sub(lambda m: _renamed_param(m, renames), ";" + params)[1:]
        out.append(f"{name};{params}:{value}" if params else f"{name}:{value}")
    return Normalised("\r\n".join(out) + "\r\n", vevent_lines, notes)


def _x_wr_timezone(value: str) -> tuple[str, str | None]:
    """Return (IANA name or "" to drop the property, note)."""
    # TROUBLE: x_wr_timezone.to_standard() calls zoneinfo.ZoneInfo(X-WR-TIMEZONE) and raises
    # ZoneInfoNotFoundError for quoted, padded or Windows names ("W. Europe Standard Time").
    # We hand it an IANA name, or drop the property so floating times use the practice zone.
    name = value.strip().strip('"').strip()
    if iana_zone(name) is not None:
        return name, None if name == value else f"X-WR-TIMEZONE {value!r} read as {name!r}"
    if name in WINDOWS_TO_OLSON:
        return WINDOWS_TO_OLSON[name], f"X-WR-TIMEZONE {value!r} mapped to {WINDOWS_TO_OLSON[name]!r}"
    return "", f"X-WR-TIMEZONE {value!r} is no known time zone; ignored"


def _tzid_renames(tz_blocks: dict[str, list[str]]) -> dict[str, str]:
    # TROUBLE: icalendar caches a VTIMEZONE built from a non-IANA TZID in a process-wide cache
    # and never replaces it. Outlook names every custom zone "Customized Time Zone", so the
    # second calendar with a different definition under the same TZID is read with the FIRST
    # calendar's offsets (hours off, silently). We give every non-IANA VTIMEZONE a TZID that
    # includes a hash of its definition: equal definitions share a cache entry, different ones
    # cannot collide, and the cache stays bounded. IANA names are resolved by zoneinfo anyway.
    renames: dict[str, str] = {}
    for tzid, block in tz_blocks.items():
        if iana_zone(tzid) is None:
            digest = hashlib.sha256("\n".join(block).encode("utf-8")).hexdigest()[:12]
            renames[tzid] = f"{tzid} #{digest}"
    return renames


def _renamed_param(match: re.Match[str], renames: dict[str, str]) -> str:
    tzid = match.group(1).strip('"')
    return f';TZID="{renames[tzid]}"' if tzid in renames else match.group(0)


def _unknown_tzid_notes(number: int, params: str, tz_blocks: dict[str, list[str]]) -> list[str]:
    notes = []
    for match in _TZID_PARAM.finditer(";" + params):
        tzid = match.group(1).strip('"')
        if tzid not in tz_blocks and tzp.timezone(tzid) is None:
            notes.append(f"line {number}: TZID {tzid!r} has no VTIMEZONE and is unknown; read as floating")
    return notes


def align_exceptions(events: list[icalendar.Component], zone: tzinfo) -> None:
    """Rewrite EXDATE and RECURRENCE-ID values in place into the zone of their series' DTSTART.

    ``events``: the VEVENTs of one calendar (after x-wr-timezone). ``zone``: the practice zone,
    used when the series is floating (its aware exception values become floating there).

    TROUBLE: recurring-ical-events matches EXDATE (RFC 5545 §3.8.5.1) and RECURRENCE-ID
    (§3.8.4.4) against an instance by the UTC instant OR by the naive wall-clock digits of each
    value in its own zone. So "EXDATE;TZID=Europe/London:20260403T090000" (08:00Z) deletes the
    Berlin 09:00 instance (07:00Z), and an override written in another zone can replace the wrong
    instance. Expressed in the series' own zone, equal digits mean an equal instant again.
    """
    masters: dict[str, date] = {}
    for event in events:
        if "RECURRENCE-ID" not in event and "DTSTART" in event:
            masters[str(event.get("UID", ""))] = _prop(event, "DTSTART").dt
    for event in events:
        start = masters.get(str(event.get("UID", "")))
        if not isinstance(start, datetime):
            continue
        exdates = _prop(event, "EXDATE") or []
        for group in exdates if isinstance(exdates, list) else [exdates]:
            for value in group.dts:
                value.dt = _in_zone_of(value.dt, start, zone)
        recurrence_id = _prop(event, "RECURRENCE-ID")
        if recurrence_id is not None:
            recurrence_id.dt = _in_zone_of(recurrence_id.dt, start, zone)


def _prop(component: icalendar.Component, name: str) -> Any:
    """A property as the parser made it (vDDDTypes, vDDDLists, a list of them ...), or None."""
    return component.get(name)


def _in_zone_of(value: date, start: datetime, zone: tzinfo) -> date:
    if not isinstance(value, datetime) or value.tzinfo is None:
        return value
    if start.tzinfo is None:
        return value.astimezone(zone).replace(tzinfo=None)
    return value.astimezone(start.tzinfo)


class ThisAndFuture:
    """Original start of occurrences that recurring-ical-events derives from RANGE=THISANDFUTURE.

    TROUBLE: for an override ``RECURRENCE-ID;RANGE=THISANDFUTURE`` (RFC 5545 §3.2.13, §3.8.4.4)
    recurring-ical-events moves every later instance and gives each of them the OVERRIDE's
    RECURRENCE-ID, so several occurrences share one (UID, RECURRENCE-ID) identity key. It builds
    them as ``original + (override DTSTART - override RECURRENCE-ID)``; we undo exactly that.
    """

    def __init__(self, events: Iterable[icalendar.Component]) -> None:
        self._moves: dict[tuple[str, date], tuple[date, timedelta]] = {}
        for event in events:
            rid, start = _prop(event, "RECURRENCE-ID"), _prop(event, "DTSTART")
            if rid is None or start is None or rid.params.get("RANGE", "").upper() != "THISANDFUTURE":
                continue
            move = _difference(start.dt, rid.dt)
            if move is not None:
                self._moves[(str(event.get("UID", "")), rid.dt)] = (start.dt, move)

    def original_start(self, uid: str, recurrence_id: date, start: date) -> date:
        """The RECURRENCE-ID value the occurrence starting at ``start`` really stands for."""
        hit = self._moves.get((uid, recurrence_id))
        if hit is None or start == hit[0]:
            return recurrence_id
        return start - hit[1]


def _difference(a: date, b: date) -> timedelta | None:
    """``a - b`` if both are dates, or both datetimes with/without tzinfo alike; else None."""
    if isinstance(a, datetime) != isinstance(b, datetime):
        return None
    if isinstance(a, datetime) and isinstance(b, datetime) and (a.tzinfo is None) != (b.tzinfo is None):
        return None
    return a - b
