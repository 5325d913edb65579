"""Framework-free iCalendar (RFC 5545) reader: appointments in a time window, in UTC.

``read_calendar(data, start, end, tz)`` turns the bytes of a calendar export or feed (Google,
Outlook/Exchange, Apple, Thunderbird, Nextcloud, hand-made) into a flat, sorted list of
:class:`Occurrence` objects, one per appointment instance whose start lies in ``[start, end)``.

Built on icalendar 7.3.2 (parsing, VTIMEZONE, Windows TZIDs), x-wr-timezone 2.0.1 (Google's
X-WR-TIMEZONE) and recurring-ical-events 3.8.2 (RRULE, RDATE, EXDATE, RECURRENCE-ID). Where those
libraries are wrong, :mod:`alphasms.appointments.ical_repair` corrects around them in one place.

Sources: RFC 5545 §3.1 (content lines, folding), §3.3.5 (DATE-TIME: UTC, floating, TZID forms),
§3.3.10 (RECUR), §3.6.1 (VEVENT, DTEND exclusive), §3.8.1.11 (STATUS), §3.8.4.4 (RECURRENCE-ID),
§3.8.5.1 (EXDATE), §3.8.5.2 (RDATE), §3.8.5.3 (RRULE). Must not import Django.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import icalendar
import recurring_ical_events
import x_wr_timezone

from alphasms.appointments.ical_repair import (
    CalendarError,
    Normalised,
    ThisAndFuture,
    align_exceptions,
    decode_text,
    iana_zone,
    normalise,
)

__all__ = [
    "DEFAULT_HORIZON",
    "DEFAULT_TZ",
    "CalendarError",
    "Occurrence",
    "decode_text",
    "occurrence_to_json",
    "read_calendar",
    "read_window",
]

log = logging.getLogger(__name__)

DEFAULT_TZ = "Europe/Berlin"
#: How far ahead the product imports by default (callers pass ``end = start + DEFAULT_HORIZON``).
DEFAULT_HORIZON = timedelta(days=60)
# The library is queried with a wider window; the exact [start, end) filter is ours. Two days
# cover any UTC offset (max. ±14 h) for floating and all-day entries.
_QUERY_MARGIN = timedelta(days=2)
_STATUSES = frozenset({"CONFIRMED", "TENTATIVE", "CANCELLED"})
# A broken value in one of these makes the VEVENT unusable (icalendar only records the error).
_ESSENTIAL = frozenset({"UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"})


@dataclass(frozen=True)
class Occurrence:
    """One instance of an appointment.

    Identity: ``(uid, recurrence_id)`` is stable across re-imports of the same calendar.

    Attributes:
        uid: the VEVENT's UID (RFC 5545 §3.8.4.7).
        recurrence_id: the instance's ORIGINAL start (RFC 5545 §3.8.4.4), also when an override
            moved it: ISO 8601 UTC with ``Z`` (``"2026-07-09T12:00:00Z"``) for timed series,
            the ISO date (``"2026-07-09"``) for all-day series; ``None`` for a non-recurring event.
        summary, description, location: unescaped text, ``""`` when absent.
        status: ``"CONFIRMED"``, ``"TENTATIVE"`` or ``"CANCELLED"`` (§3.8.1.11; absent or other
            values -> ``"CONFIRMED"``). Cancelled instances are returned so that the importer can
            cancel them; filter them out for reminders.
        start_utc, end_utc: aware datetimes in UTC (seconds resolution), ``None`` for all-day.
            ``end_utc == start_utc`` when the event has neither DTEND nor DURATION (§3.6.1).
        date, end_date: all-day only; ``end_date`` is EXCLUSIVE as DTEND;VALUE=DATE is (§3.6.1),
            a one-day event has ``end_date == date + 1 day``.
        all_day: True for ``DTSTART;VALUE=DATE`` events.
    """

    uid: str
    recurrence_id: str | None
    summary: str
    description: str
    location: str
    status: str
    start_utc: datetime | None
    end_utc: datetime | None
    date: dt.date | None
    end_date: dt.date | None
    all_day: bool


def read_calendar(data: bytes, start: datetime, end: datetime, tz: str = DEFAULT_TZ) -> list[Occurrence]:
    """Read the VEVENTs of an iCalendar file and expand them into occurrences in ``[start, end)``.

    Args:
        data: the raw file bytes (UTF-8 with or without BOM, UTF-16 with BOM, or cp1252; CRLF,
            LF or CR line ends; folds may split multi-byte characters).
        start, end: the window as timezone-aware datetimes (any zone; compared as instants).
            The product's default is ``end = start + DEFAULT_HORIZON`` (60 days).
        tz: IANA name of the practice's zone. All-day dates and floating times (§3.3.5 form 1)
            are read in it, and TZIDs without a VTIMEZONE that no zone database knows as well.
            A calendar-level X-WR-TIMEZONE (Google) takes precedence for floating times.

    Returns:
        Occurrences whose start falls in ``[start, end)`` (all-day: the date's midnight in
        ``tz``), sorted by start instant, then uid, then recurrence_id. Includes CANCELLED ones.

    Raises:
        CalendarError: the data is no readable iCalendar file; the message names the line
            and/or the VEVENT (UID) and property when known.
        ValueError: ``start``/``end`` are naive or ``tz`` is no IANA zone (caller errors).
    """
    return read_window(data, start, end, tz).occurrences


@dataclass(frozen=True)
class CalendarWindow:
    """What a calendar holds for the window ``[start, end)``.

    ``occurrences`` as :func:`read_calendar` returns them. ``events`` counts the file's entries: its
    distinct VEVENT UIDs (a series with its moved instances is one entry). Of those, ``in_window`` have
    at least one occurrence in the window; the others lie wholly ``before`` it (every occurrence starts
    before ``start``) or ``after`` it (the next occurrence starts at or after ``end``), so
    ``events == in_window + before + after``.
    """

    occurrences: list[Occurrence]
    events: int
    in_window: int
    before: int
    after: int


def read_window(data: bytes, start: datetime, end: datetime, tz: str = DEFAULT_TZ) -> CalendarWindow:
    """:func:`read_calendar` plus how many of the file's entries lie before or after the window.

    Same arguments, errors and ``occurrences`` as :func:`read_calendar`. For an entry without an
    occurrence in the window, a single event is placed by its start; a series is "after" when its
    recurrence rule still yields an occurrence at or after ``end`` (RFC 5545 §3.8.5.3), else "before".
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("read_calendar needs timezone-aware start and end")
    zone = iana_zone(tz)
    if zone is None:
        raise ValueError(f"unknown IANA time zone: {tz!r}")
    normalised = normalise(data)
    for note in normalised.notes:
        log.info("calendar input: %s", note)
    calendar = _parse(normalised)
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    _check_events(events, normalised.vevent_lines)
    # recurring-ical-events puts a RECURRENCE-ID on every result, so we decide here which UIDs
    # are series (RRULE/RDATE master or explicit overrides) and which are single events.
    series = {str(e["UID"]) for e in events if any(k in e for k in ("RRULE", "RDATE", "RECURRENCE-ID"))}
    try:
        standard = x_wr_timezone.to_standard(calendar)
        align_exceptions(standard.walk("VEVENT"), zone)
        moved = ThisAndFuture(standard.walk("VEVENT"))
        found: list[Any] = recurring_ical_events.of(standard).between(
            start - _QUERY_MARGIN, end + _QUERY_MARGIN
        )
    except Exception as exc:  # the libraries raise ValueError, TypeError, KeyError, ...
        raise CalendarError(f"cannot expand the calendar's events: {type(exc).__name__}: {exc}") from exc
    result = []
    for component in found:
        occurrence = _occurrence(component, zone, series, moved)
        if start <= _start_instant(occurrence, zone) < end:
            result.append(occurrence)
    result.sort(key=lambda o: (_start_instant(o, zone), o.uid, o.recurrence_id or ""))
    seen = {o.uid for o in result}
    by_uid: dict[str, list[Any]] = {}
    for component in standard.walk("VEVENT"):
        by_uid.setdefault(str(component.get("UID", "")), []).append(component)
    uids = {str(e["UID"]) for e in events}
    zones = [c for c in standard.subcomponents if c.name == "VTIMEZONE"]
    outside = uids - seen
    after = sum(1 for uid in outside if _lies_after(by_uid.get(uid, []), zones, uid in series, end, zone))
    return CalendarWindow(result, len(uids), len(uids & seen), len(outside) - after, after)


def _lies_after(
    components: list[Any], zones: list[Any], recurring: bool, end: datetime, zone: tzinfo
) -> bool:
    """True when the entry made of ``components`` (one UID, no occurrence in the window) has an
    occurrence starting at or after ``end``; False when all lie before the window."""
    masters = [c for c in components if "RECURRENCE-ID" not in c] or components
    try:
        first = _utc(masters[0]["DTSTART"].dt, zone)
    except (TypeError, ValueError, AttributeError, OverflowError, KeyError, IndexError):
        return False
    if first >= end or not recurring:
        return first >= end
    single = icalendar.Calendar()
    for component in [*zones, *components]:
        single.add_component(component)
    try:
        for occurrence in recurring_ical_events.of(single).after(end):
            begin = occurrence["DTSTART"].dt
            if _utc(begin, zone) >= end:
                return True
            # an occurrence that started before the window and lasts into it: look at the next one
        return False
    except Exception:  # the library failed on this entry alone: place it by its first start
        log.info("calendar input: cannot expand UID=%r beyond the window", str(masters[0].get("UID")))
        return False


def occurrence_to_json(o: Occurrence) -> dict[str, object]:
    """JSON-ready dict for ``alphasms calendar occurrences --json``.

    Shape: ``{"uid", "recurrence_id", "summary", "status"}`` plus ``"start_utc"``/``"end_utc"``
    (``"2026-07-09T12:00:00Z"``) for timed occurrences or ``"date"``/``"end_date"``
    (``"2026-07-09"``, end exclusive) for all-day ones.
    """
    out: dict[str, object] = {
        "uid": o.uid,
        "recurrence_id": o.recurrence_id,
        "summary": o.summary,
        "status": o.status,
    }
    if o.all_day:
        out["date"] = o.date.isoformat() if o.date else None
        out["end_date"] = o.end_date.isoformat() if o.end_date else None
    else:
        out["start_utc"] = _z(o.start_utc) if o.start_utc else None
        out["end_utc"] = _z(o.end_utc) if o.end_utc else None
    return out


def _parse(normalised: Normalised) -> icalendar.Calendar:
    try:
        return icalendar.Calendar.from_ical(normalised.text)
    except ValueError as exc:
        raise CalendarError(f"not a readable iCalendar file: {exc}") from exc


def _check_events(events: list[icalendar.Component], lines: list[int]) -> None:
    """Raise CalendarError for a VEVENT without DTSTART or with an unreadable date/rule.

    A VEVENT without UID (Exchange CDO meeting requests have none) gets a stable one derived
    from its DTSTART and SUMMARY, so that re-imports give the same identity key.
    """
    for index, event in enumerate(events):
        where = f"line {lines[index]}: VEVENT" if index < len(lines) else "VEVENT"
        uid = str(event.get("UID", "")).strip()
        if uid:
            where = f"{where} UID={uid!r}"
        for prop, message in event.errors:
            if (prop or "").upper() in _ESSENTIAL:
                raise CalendarError(f"{where}: property {prop} cannot be read: {message}")
        if "DTSTART" not in event:
            raise CalendarError(f"{where} has no DTSTART")
        if not uid:
            dtstart = event["DTSTART"]
            seed = f"{dtstart.to_ical()!r}|{dtstart.params.get('TZID', '')}|{_text(event, 'SUMMARY')}"
            event["UID"] = icalendar.vText("x-alphasms-" + hashlib.sha256(seed.encode()).hexdigest()[:24])
            log.info("calendar input: %s has no UID; using %s", where, event["UID"])


def _occurrence(component: Any, zone: tzinfo, series: set[str], moved: ThisAndFuture) -> Occurrence:
    uid = str(component["UID"])
    try:
        begin: date = component["DTSTART"].dt
        finish: date | None = component["DTEND"].dt if "DTEND" in component else None
        recurrence_id = None
        if uid in series and "RECURRENCE-ID" in component:
            original = moved.original_start(uid, component["RECURRENCE-ID"].dt, begin)
            recurrence_id = (
                _z(_utc(original, zone)) if isinstance(original, datetime) else original.isoformat()
            )
        status = str(component.get("STATUS", "CONFIRMED")).strip().upper()
        common: dict[str, Any] = {
            "uid": uid,
            "recurrence_id": recurrence_id,
            "summary": _text(component, "SUMMARY"),
            "description": _text(component, "DESCRIPTION"),
            "location": _text(component, "LOCATION"),
            "status": status if status in _STATUSES else "CONFIRMED",
        }
        if isinstance(begin, datetime):
            start_utc = _utc(begin, zone)
            end_utc = _utc(finish, zone) if finish is not None else start_utc
            return Occurrence(
                **common, start_utc=start_utc, end_utc=end_utc, date=None, end_date=None, all_day=False
            )
        end_date = finish.date() if isinstance(finish, datetime) else finish
        if end_date is None or end_date <= begin:
            end_date = begin + timedelta(days=1)
        return Occurrence(**common, start_utc=None, end_utc=None, date=begin, end_date=end_date, all_day=True)
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise CalendarError(f"VEVENT UID={uid!r}: unusable date/time values: {exc}") from exc


def _utc(value: date, zone: tzinfo) -> datetime:
    """Aware UTC instant of a DATE-TIME (floating ones read in ``zone``, §3.3.5) or of a DATE's midnight."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), zone)
    elif value.tzinfo is None:
        # fold=0: an ambiguous local time means its first occurrence, a time in the spring gap uses
        # the offset before the gap -- both as RFC 5545 §3.3.5 prescribes.
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC).replace(microsecond=0)


def _start_instant(o: Occurrence, zone: tzinfo) -> datetime:
    if o.start_utc is not None:
        return o.start_utc
    assert o.date is not None
    return _utc(o.date, zone)


def _text(component: Any, name: str) -> str:
    value = component.get(name)
    if isinstance(value, list):  # the property occurs more than once
        value = value[0] if value else None
    return "" if value is None else str(value)


def _z(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
