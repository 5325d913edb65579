"""Tests for the framework-free iCalendar reader ``alphasms.appointments.ical``.

Three groups: the real exports in tests/data/calendars (counts from SOURCES.md), the trouble cases
in tests/data/cases (*.ics with *.expected.json), and inputs of the same kinds built here as bytes.
The reader needs no Django; the shared tests/conftest.py does, so without pytest-django run
``pytest -p no:django --noconftest tests/appointments/test_ical.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alphasms.appointments.ical import (
    DEFAULT_HORIZON,
    CalendarError,
    Occurrence,
    decode_text,
    occurrence_to_json,
    read_calendar,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
CALENDARS = DATA / "calendars"
CASES = DATA / "cases"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# SOURCES.md: window from 1990-01-01 up to, not including, 2030-01-01.
SOURCES_WINDOW = (utc(1990, 1, 1), utc(2030, 1, 1))
# The window the cases' library_check used; applies when a case states no window_utc.
CASES_DEFAULT_WINDOW = (utc(2026, 1, 1), utc(2027, 3, 1))


def ics(*lines: str | bytes, eol: bytes = b"\r\n") -> bytes:
    """A VCALENDAR around ``lines`` (str lines are UTF-8 encoded; bytes lines are kept as they are)."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//AlphaSMS tests//EN"]
    parts = [line if isinstance(line, bytes) else line.encode() for line in [*head, *lines, "END:VCALENDAR"]]
    return eol.join(parts) + eol


def starts(occurrences: list[Occurrence]) -> list[str]:
    return [o.start_utc.strftime("%Y-%m-%dT%H:%M:%SZ") if o.start_utc else str(o.date) for o in occurrences]


# ---------------------------------------------------------------------------------------------
# Real exports (tests/data/calendars)
# ---------------------------------------------------------------------------------------------


def test_calendar_files_are_the_ones_sources_md_describes() -> None:
    sources = (CALENDARS / "SOURCES.md").read_text(encoding="utf-8")
    listed = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+\.ics)$", sources, re.M)
    )
    assert len(listed) == 5
    for name, digest in listed.items():
        assert hashlib.sha256((CALENDARS / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("google-machbar-potsdam-2019.ics", 3704),
        ("google-anonymized-677-vevents.ics", 2377),
        ("outlook12-germany-holidays.ics", 159),
        ("thunderbird-event-with-alarms.ics", 1),
    ],
)
def test_real_export_instance_counts(name: str, count: int) -> None:
    occurrences = read_calendar((CALENDARS / name).read_bytes(), *SOURCES_WINDOW)
    assert len(occurrences) == count
    keys = [(o.uid, o.recurrence_id) for o in occurrences]
    assert len(set(keys)) == len(keys), "identity keys must be unique"
    assert all(
        o.start_utc is None or SOURCES_WINDOW[0] <= o.start_utc < SOURCES_WINDOW[1] for o in occurrences
    )


def test_outlook_holidays_are_all_day_with_exclusive_end() -> None:
    occurrences = read_calendar((CALENDARS / "outlook12-germany-holidays.ics").read_bytes(), *SOURCES_WINDOW)
    assert all(o.all_day and o.start_utc is None and o.recurrence_id is None for o in occurrences)
    new_year_2008 = occurrences[0]
    assert (new_year_2008.date, new_year_2008.end_date) == (date(2008, 1, 1), date(2008, 1, 2))
    assert new_year_2008.summary == "Germany: New Years Day"
    assert new_year_2008.location == "Germany"


def test_exchange_cdo_weekday_series_with_spaces_in_byday() -> None:
    # RRULE:FREQ=DAILY;UNTIL=20150722T080000Z;INTERVAL=1;BYDAY=MO, TU, WE, TH, FR<fold>;WKST=SU with
    # TZID "GMT +0100 (Standard) / GMT +0200 (Daylight)"; the libraries raise BadRuleStringFormat.
    occurrences = read_calendar((CALENDARS / "exchange-cdo-weekday-series.ics").read_bytes(), *SOURCES_WINDOW)
    expected_days = [3, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 20, 21, 22]  # July 2015, Mon-Fri
    assert [o.start_utc for o in occurrences] == [utc(2015, 7, d, 8, 0) for d in expected_days]
    assert [o.end_utc for o in occurrences] == [utc(2015, 7, d, 8, 30) for d in expected_days]
    assert [o.recurrence_id for o in occurrences] == [f"2015-07-{d:02d}T08:00:00Z" for d in expected_days]
    assert {o.summary for o in occurrences} == {"Sprint 25 Daily Standup"}
    assert {o.status for o in occurrences} == {"CONFIRMED"}
    # The file has no UID: a stable one is derived, the same on every read.
    again = read_calendar((CALENDARS / "exchange-cdo-weekday-series.ics").read_bytes(), *SOURCES_WINDOW)
    assert len({o.uid for o in occurrences}) == 1
    assert occurrences[0].uid.startswith("x-alphasms-") and again[0].uid == occurrences[0].uid


def test_machbar_google_export_selects_by_start_and_keeps_umlauts() -> None:
    data = (CALENDARS / "google-machbar-potsdam-2019.ics").read_bytes()
    day = read_calendar(data, utc(2019, 2, 28), utc(2019, 3, 1))
    assert [(o.start_utc, o.summary) for o in day] == [
        (utc(2019, 2, 28, 7, 30), "Montessori Schulklasse"),
        (utc(2019, 2, 28, 14), "Workshop DiReBio"),
        (utc(2019, 2, 28, 14), "#TEC - für Jugendliche"),  # same start: sorted by uid
        (utc(2019, 2, 28, 17), "OpenLab"),
        (utc(2019, 2, 28, 19), '"Bioökonomie-Tag"'),
    ]
    # Only the start counts: OpenLab (17:00-19:00Z) overlaps [18:00, 20:00) but starts before it.
    (evening,) = read_calendar(data, utc(2019, 2, 28, 18), utc(2019, 2, 28, 20))
    assert (evening.summary, evening.end_utc, evening.recurrence_id) == (
        '"Bioökonomie-Tag"',
        utc(2019, 2, 28, 20),
        None,
    )
    assert evening.description == "Kennenlernen der machBar facilities zum Thema Bioökonomie"


# ---------------------------------------------------------------------------------------------
# Trouble cases (tests/data/cases/*.ics + *.expected.json)
# ---------------------------------------------------------------------------------------------

CASE_FILES = sorted(CASES.glob("*.ics"))
OCCURRENCE_KEYS = {"start_utc", "end_utc", "uid", "summary", "location", "recurrence_id_utc", "local_start"}
EXPECTED_KEYS = {
    "occurrences",
    "all_day_events",
    "uids",
    "must_not_contain_start_utc",
    "cancelled_instances_start_utc",
    "send_reminder_for_cancelled",
    "calendar_name",  # X-WR-CALNAME: not part of the Occurrence API, deliberately not checked
}


def test_there_are_ics_cases() -> None:
    assert len(CASE_FILES) >= 8


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_case_gives_expected_occurrences(path: Path) -> None:
    spec = json.loads(path.with_name(f"{path.stem}.expected.json").read_text(encoding="utf-8"))
    expected = spec["expected"]
    assert set(expected) <= EXPECTED_KEYS, f"unknown expectation keys: {set(expected) - EXPECTED_KEYS}"
    assumptions = spec.get("assumptions", {})
    tz = assumptions.get("practice_timezone", "Europe/Berlin")
    start, end = CASES_DEFAULT_WINDOW
    if "window_utc" in assumptions:
        start, end = (z(text) for text in assumptions["window_utc"])

    occurrences = read_calendar(path.read_bytes(), start, end, tz=tz)
    active = [o for o in occurrences if o.status != "CANCELLED"]
    cancelled = [o for o in occurrences if o.status == "CANCELLED"]

    if "occurrences" in expected:
        wanted = expected["occurrences"]
        assert starts(active) == [w["start_utc"] for w in wanted]
        for got, want in zip(active, wanted, strict=True):
            assert set(want) <= OCCURRENCE_KEYS
            assert got.start_utc == z(want["start_utc"])
            assert got.end_utc == z(want["end_utc"])
            for key in ("uid", "summary", "location"):
                if key in want:
                    assert getattr(got, key) == want[key]
            if "recurrence_id_utc" in want:
                assert got.recurrence_id == want["recurrence_id_utc"]
            if "local_start" in want:
                assert got.start_utc.astimezone(ZoneInfo(tz)).isoformat() == want["local_start"]
    if "all_day_events" in expected:
        assert all(o.all_day and o.start_utc is None and o.end_date for o in active)
        got_days = [(o.uid, o.date, o.end_date and o.end_date - timedelta(days=1), o.summary) for o in active]
        assert got_days == [
            (w["uid"], date.fromisoformat(w["first_day"]), date.fromisoformat(w["last_day"]), w["summary"])
            for w in expected["all_day_events"]
        ]
    if "uids" in expected:
        assert sorted({o.uid for o in occurrences}) == sorted(expected["uids"])
    for text in expected.get("must_not_contain_start_utc", []):
        assert z(text) not in {o.start_utc for o in occurrences}
    if "cancelled_instances_start_utc" in expected:
        assert starts(cancelled) == expected["cancelled_instances_start_utc"]
        assert [o.recurrence_id for o in cancelled] == expected["cancelled_instances_start_utc"]
    keys = [(o.uid, o.recurrence_id) for o in occurrences]
    assert len(set(keys)) == len(keys)


def test_case_02_recurrence_ids_match_across_master_and_utc_overrides() -> None:
    data = (CASES / "02-cancelled-override-utc-recurrence-id.ics").read_bytes()
    occurrences = read_calendar(data, utc(2026, 12, 1), utc(2027, 2, 1))
    assert [(o.recurrence_id, o.status) for o in occurrences] == [
        ("2026-12-07T09:15:00Z", "CONFIRMED"),
        ("2026-12-14T09:15:00Z", "CONFIRMED"),
        ("2026-12-21T09:15:00Z", "CONFIRMED"),
        ("2026-12-28T09:15:00Z", "CANCELLED"),
        ("2027-01-04T09:15:00Z", "CANCELLED"),
        ("2027-01-11T09:15:00Z", "CONFIRMED"),
        ("2027-01-18T09:15:00Z", "CONFIRMED"),  # UNTIL is inclusive (RFC 5545 §3.3.10)
    ]


# ---------------------------------------------------------------------------------------------
# Inputs of the same kinds, built here
# ---------------------------------------------------------------------------------------------


def test_windows_tzid_without_vtimezone_series_across_dst() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:win-1@example.test",
        'DTSTART;TZID="W. Europe Standard Time":20260316T090000',
        "DTEND;TZID=W. Europe Standard Time:20260316T094500",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "SUMMARY:Physiotherapie Fr. Lange",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 3, 1), utc(2026, 5, 1))
    assert [(o.start_utc, o.end_utc) for o in occurrences] == [
        (utc(2026, 3, 16, 8, 0), utc(2026, 3, 16, 8, 45)),  # 09:00 CET
        (utc(2026, 3, 23, 8, 0), utc(2026, 3, 23, 8, 45)),
        (utc(2026, 3, 30, 7, 0), utc(2026, 3, 30, 7, 45)),  # 09:00 CEST after 2026-03-29
    ]


def test_same_custom_tzid_with_different_definitions_in_two_calendars() -> None:
    def calendar(offset: str) -> bytes:
        return ics(
            "BEGIN:VTIMEZONE",
            "TZID:Customized Time Zone",
            "BEGIN:STANDARD",
            "DTSTART:16010101T000000",
            f"TZOFFSETFROM:{offset}",
            f"TZOFFSETTO:{offset}",
            "END:STANDARD",
            "END:VTIMEZONE",
            "BEGIN:VEVENT",
            "UID:custom@example.test",
            'DTSTART;TZID="Customized Time Zone":20260320T090000',
            "SUMMARY:Termin",
            "END:VEVENT",
        )

    first = read_calendar(calendar("+0300"), utc(2026, 3, 1), utc(2026, 4, 1))
    second = read_calendar(calendar("-0500"), utc(2026, 3, 1), utc(2026, 4, 1))
    assert first[0].start_utc == utc(2026, 3, 20, 6, 0)
    assert second[0].start_utc == utc(2026, 3, 20, 14, 0)  # not the cached +0300 of the first file


@pytest.mark.parametrize(
    ("tz", "expected"),
    [("Europe/Vienna", utc(2026, 7, 15, 7, 0)), ("America/New_York", utc(2026, 7, 15, 13, 0))],
)
def test_floating_time_is_read_in_the_location_zone(tz: str, expected: datetime) -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:float@example.test",
        "DTSTART:20260715T090000",
        "DTEND:20260715T093000",
        "SUMMARY:Massage",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 7, 1), utc(2026, 8, 1), tz=tz)
    assert [(o.start_utc, o.end_utc) for o in occurrences] == [(expected, expected + timedelta(minutes=30))]
    assert occurrences[0].recurrence_id is None


def test_floating_series_keeps_local_wall_clock_across_dst() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:float-w@example.test",
        "DTSTART:20260323T090000",
        "RRULE:FREQ=WEEKLY;COUNT=2",
        "SUMMARY:Gruppe",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 3, 1), utc(2026, 5, 1), tz="Europe/Vienna")
    assert [o.start_utc for o in occurrences] == [utc(2026, 3, 23, 8), utc(2026, 3, 30, 7)]
    assert [o.recurrence_id for o in occurrences] == ["2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z"]


def test_x_wr_timezone_supplies_the_zone_for_floating_times() -> None:
    data = ics(
        "X-WR-TIMEZONE:America/New_York",
        "BEGIN:VEVENT",
        "UID:xwr@example.test",
        "DTSTART:20260715T090000",
        "SUMMARY:Call",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 7, 1), utc(2026, 8, 1), tz="Europe/Berlin")
    assert occurrences[0].start_utc == utc(2026, 7, 15, 13, 0)


@pytest.mark.parametrize("value", ["W. Europe Standard Time", '"Europe/Berlin"', "Mars/Olympus_Mons"])
def test_x_wr_timezone_that_zoneinfo_does_not_know_does_not_crash(value: str) -> None:
    data = ics(
        f"X-WR-TIMEZONE:{value}",
        "BEGIN:VEVENT",
        "UID:xwr2@example.test",
        "DTSTART:20260715T090000",
        "SUMMARY:Call",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 7, 1), utc(2026, 8, 1), tz="Europe/Berlin")
    assert occurrences[0].start_utc == utc(2026, 7, 15, 7, 0)  # 09:00 CEST either way


def test_all_day_event_and_window_at_local_midnight() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:allday@example.test",
        "DTSTART;VALUE=DATE:20260704",
        "DTEND;VALUE=DATE:20260705",
        "SUMMARY:Praxis geschlossen",
        "END:VEVENT",
    )
    (occurrence,) = read_calendar(
        data, utc(2026, 7, 3, 22, 0), utc(2026, 7, 4, 22, 0)
    )  # Berlin: Jul 4 00:00-24:00
    assert occurrence.all_day
    assert (occurrence.date, occurrence.end_date) == (date(2026, 7, 4), date(2026, 7, 5))
    assert (occurrence.start_utc, occurrence.end_utc, occurrence.recurrence_id) == (None, None, None)
    assert read_calendar(data, utc(2026, 7, 3, 22, 0, 1), utc(2026, 7, 5)) == []  # midnight is before start
    assert read_calendar(data, utc(2026, 7, 3), utc(2026, 7, 3, 22, 0)) == []  # end is exclusive
    # In New York the same date begins at 04:00Z.
    assert len(read_calendar(data, utc(2026, 7, 4, 4), utc(2026, 7, 4, 5), tz="America/New_York")) == 1
    assert read_calendar(data, utc(2026, 7, 4, 4), utc(2026, 7, 4, 5)) == []


def test_all_day_series_has_date_recurrence_ids() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:allday-s@example.test",
        "DTSTART;VALUE=DATE:20260601",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "SUMMARY:Fortbildung",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:allday-s@example.test",
        "RECURRENCE-ID;VALUE=DATE:20260608",
        "DTSTART;VALUE=DATE:20260609",
        "SUMMARY:Fortbildung (verschoben)",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 5, 1), utc(2026, 7, 1))
    assert [(o.date, o.end_date, o.recurrence_id) for o in occurrences] == [
        (date(2026, 6, 1), date(2026, 6, 2), "2026-06-01"),
        (date(2026, 6, 9), date(2026, 6, 10), "2026-06-08"),
        (date(2026, 6, 15), date(2026, 6, 16), "2026-06-15"),
    ]


@pytest.mark.parametrize("fold", [b"\r\n ", b"\r\n\t", b"\n "])
def test_fold_splitting_a_utf8_character(fold: bytes) -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:fold@example.test",
        "DTSTART:20260601T080000Z",
        b"SUMMARY:Kontrolle Fr. M\xc3" + fold + b"\xbcller, Gr\xc3\xb6\xc3" + fold + b"\x9fe 38",
        b"LOCATION:Stra\xc3\x9f" + fold + b"e 1",
        "END:VEVENT",
    )
    (occurrence,) = read_calendar(data, utc(2026, 6, 1), utc(2026, 6, 2))
    assert occurrence.summary == "Kontrolle Fr. Müller, Größe 38"
    assert occurrence.location == "Straße 1"


def test_rdate_adds_instances() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:rdate@example.test",
        "DTSTART;TZID=Europe/Berlin:20260601T150000",
        "DURATION:PT45M",
        "RRULE:FREQ=WEEKLY;COUNT=2",
        "RDATE;TZID=Europe/Berlin:20260610T160000,20261104T160000",
        "SUMMARY:Nachsorge",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 5, 1), utc(2027, 1, 1))
    assert [(o.start_utc, o.end_utc, o.recurrence_id) for o in occurrences] == [
        (utc(2026, 6, 1, 13), utc(2026, 6, 1, 13, 45), "2026-06-01T13:00:00Z"),
        (utc(2026, 6, 8, 13), utc(2026, 6, 8, 13, 45), "2026-06-08T13:00:00Z"),
        (utc(2026, 6, 10, 14), utc(2026, 6, 10, 14, 45), "2026-06-10T14:00:00Z"),
        (utc(2026, 11, 4, 15), utc(2026, 11, 4, 15, 45), "2026-11-04T15:00:00Z"),  # CET
    ]


def test_rdate_only_event_is_a_series() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:rdate2@example.test",
        "DTSTART:20260601T070000Z",
        "RDATE:20260603T070000Z",
        "SUMMARY:Zwei Termine",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 5, 1), utc(2026, 7, 1))
    assert [o.recurrence_id for o in occurrences] == ["2026-06-01T07:00:00Z", "2026-06-03T07:00:00Z"]


SERIES_WITH_CANCELLED_OVERRIDE = ics(
    "BEGIN:VEVENT",
    "UID:cancel@example.test",
    "RECURRENCE-ID;TZID=Europe/Berlin:20260615T083000",
    "DTSTART;TZID=Europe/Berlin:20260615T083000",
    "DTEND;TZID=Europe/Berlin:20260615T090000",
    "SUMMARY:Zahnreinigung",
    "STATUS:CANCELLED",
    "END:VEVENT",
    "BEGIN:VEVENT",
    "UID:cancel@example.test",
    "DTSTART;TZID=Europe/Berlin:20260601T083000",
    "DTEND;TZID=Europe/Berlin:20260601T090000",
    "RRULE:FREQ=WEEKLY;COUNT=4",
    "SUMMARY:Zahnreinigung",
    "END:VEVENT",
)


def test_cancelled_override_is_returned_with_status_cancelled() -> None:
    occurrences = read_calendar(SERIES_WITH_CANCELLED_OVERRIDE, utc(2026, 6, 1), utc(2026, 7, 1))
    assert [(o.start_utc, o.status, o.recurrence_id) for o in occurrences] == [
        (utc(2026, 6, 1, 6, 30), "CONFIRMED", "2026-06-01T06:30:00Z"),
        (utc(2026, 6, 8, 6, 30), "CONFIRMED", "2026-06-08T06:30:00Z"),
        (utc(2026, 6, 15, 6, 30), "CANCELLED", "2026-06-15T06:30:00Z"),
        (utc(2026, 6, 22, 6, 30), "CONFIRMED", "2026-06-22T06:30:00Z"),
    ]
    to_remind = [o for o in occurrences if o.status != "CANCELLED"]
    assert utc(2026, 6, 15, 6, 30) not in {o.start_utc for o in to_remind}


def test_exdate_in_another_time_zone_excludes_the_same_instant() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:exdate-tz@example.test",
        "DTSTART;TZID=Europe/Berlin:20260320T090000",
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "EXDATE;TZID=America/New_York:20260327T040000",  # = 08:00Z = 09:00 CET: excluded
        "EXDATE;TZID=Europe/London:20260403T090000",  # = 08:00Z, but the instance is 07:00Z: kept
        "SUMMARY:Ergotherapie",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 3, 1), utc(2026, 5, 1))
    assert [o.start_utc for o in occurrences] == [
        utc(2026, 3, 20, 8),
        utc(2026, 4, 3, 7),
        utc(2026, 4, 10, 7),
    ]


def test_exdate_as_date_on_datetime_series_in_new_york() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:exdate-d@example.test",
        "DTSTART;TZID=America/New_York:20260601T220000",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "EXDATE;VALUE=DATE:20260608",
        "SUMMARY:Late",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 6, 1), utc(2026, 7, 1), tz="America/New_York")
    assert [o.start_utc for o in occurrences] == [utc(2026, 6, 2, 2), utc(2026, 6, 16, 2)]


def test_missing_vtimezone_for_an_iana_tzid() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:no-vtz@example.test",
        "DTSTART;TZID=America/New_York:20260302T100000",
        "DTEND;TZID=America/New_York:20260302T110000",
        "RRULE:FREQ=WEEKLY;COUNT=2",  # US DST starts 2026-03-08
        "SUMMARY:Beratung",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 3, 1), utc(2026, 4, 1))
    assert [(o.start_utc, o.end_utc) for o in occurrences] == [
        (utc(2026, 3, 2, 15), utc(2026, 3, 2, 16)),
        (utc(2026, 3, 9, 14), utc(2026, 3, 9, 15)),
    ]


def test_rrule_with_spaces_and_fold_other_than_the_exchange_file() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:spaces@example.test",
        "DTSTART:20260601T070000Z",
        "RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO, WE",
        " ;WKST=MO",
        "SUMMARY:Kurs",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 6, 1), utc(2026, 7, 1))
    assert [o.start_utc for o in occurrences] == [utc(2026, 6, d, 7) for d in (1, 3, 8, 10)]


def test_this_and_future_override_gives_each_instance_its_own_recurrence_id() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:taf@example.test",
        "DTSTART;TZID=Europe/Berlin:20260601T090000",
        "DURATION:PT1H",
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "SUMMARY:Kurs",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:taf@example.test",
        "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20260615T090000",
        "DTSTART;TZID=Europe/Berlin:20260615T100000",
        "DURATION:PT1H",
        "SUMMARY:Kurs (später)",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 6, 1), utc(2026, 7, 1))
    assert [(o.start_utc, o.recurrence_id) for o in occurrences] == [
        (utc(2026, 6, 1, 7), "2026-06-01T07:00:00Z"),
        (utc(2026, 6, 8, 7), "2026-06-08T07:00:00Z"),
        (utc(2026, 6, 15, 8), "2026-06-15T07:00:00Z"),
        (utc(2026, 6, 22, 8), "2026-06-22T07:00:00Z"),  # recurring-ical-events says 2026-06-15
    ]


def test_cp1252_utf16_and_bom_inputs() -> None:
    event = [
        "BEGIN:VEVENT",
        "UID:enc@example.test",
        "DTSTART:20260601T080000Z",
        "SUMMARY:Frau Müller",
        "END:VEVENT",
    ]
    utf8 = ics(*event)
    window = (utc(2026, 6, 1), utc(2026, 6, 2))
    for data in (
        utf8,
        b"\xef\xbb\xbf" + utf8,
        utf8.replace("ü".encode(), b"\xfc"),
        "\ufeff".encode("utf-16-le") + utf8.decode().encode("utf-16-le"),
    ):
        assert [o.summary for o in read_calendar(data, *window)] == ["Frau Müller"]


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\r\n"], ids=["LF", "CR", "CRCRLF"])
def test_line_ends_and_whitespace_lines_between_components(eol: bytes) -> None:
    data = ics(
        "",
        "BEGIN:VEVENT",
        "UID:lf@example.test",
        "DTSTART:20260601T080000Z",
        "SUMMARY:Termin ",
        "\t(lang)",
        "END:VEVENT",
        "\t",
        "   ",
        eol=eol,
    )
    (occurrence,) = read_calendar(data, utc(2026, 6, 1), utc(2026, 6, 2))
    assert occurrence.summary == "Termin (lang)"


def test_carriage_return_inside_a_value_does_not_split_the_line() -> None:
    data = ics(
        "BEGIN:VEVENT", "UID:cr@example.test", "DTSTART:20260601T080000Z", "SUMMARY:A\rB", "END:VEVENT"
    )
    (occurrence,) = read_calendar(data, utc(2026, 6, 1), utc(2026, 6, 2))
    assert occurrence.summary == "A\rB"


def test_decode_text() -> None:
    assert decode_text("Grüße".encode()) == ("Grüße", None)
    assert decode_text(b"\xef\xbb\xbfBEGIN") == ("BEGIN", None)
    assert decode_text("\ufeffGrüße".encode("utf-16-be")) == ("Grüße", None)
    text, note = decode_text(b"Gr\xfc\xdfe \x80")
    assert text == "Grüße €"
    assert note is not None and "Windows-1252" in note


def test_window_bounds_sorting_and_json() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:b@example.test",
        "DTSTART:20260601T080000Z",
        "DTEND:20260601T083000Z",
        "SUMMARY:B",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:a@example.test",
        "DTSTART:20260601T080000Z",
        "SUMMARY:A",
        "STATUS:tentative",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:c@example.test",
        "DTSTART:20260601T090000Z",
        "SUMMARY:C",
        "END:VEVENT",
    )
    occurrences = read_calendar(data, utc(2026, 6, 1, 8), utc(2026, 6, 1, 9))
    assert [(o.uid, o.status) for o in occurrences] == [
        ("a@example.test", "TENTATIVE"),
        ("b@example.test", "CONFIRMED"),
    ]
    assert occurrences[0].end_utc == occurrences[0].start_utc  # no DTEND, no DURATION
    assert occurrence_to_json(occurrences[1]) == {
        "uid": "b@example.test",
        "recurrence_id": None,
        "summary": "B",
        "status": "CONFIRMED",
        "start_utc": "2026-06-01T08:00:00Z",
        "end_utc": "2026-06-01T08:30:00Z",
    }
    all_day = read_calendar(
        ics("BEGIN:VEVENT", "UID:d@example.test", "DTSTART;VALUE=DATE:20260602", "SUMMARY:D", "END:VEVENT"),
        utc(2026, 6, 1),
        utc(2026, 6, 1) + DEFAULT_HORIZON,
    )
    assert occurrence_to_json(all_day[0]) == {
        "uid": "d@example.test",
        "recurrence_id": None,
        "summary": "D",
        "status": "CONFIRMED",
        "date": "2026-06-02",
        "end_date": "2026-06-03",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r"empty"),
        (b"garbage", r"line 1: expected BEGIN:VCALENDAR"),
        (b"<!DOCTYPE html>\n<html><body>Login</body></html>\n", r"line 1: expected BEGIN:VCALENDAR.*DOCTYPE"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"line 1: "),
        (ics("BEGIN:VEVENT", "this is no property", "END:VEVENT"), r"line 5: not an iCalendar content line"),
        (
            ics("BEGIN:VEVENT", "UID:x", "DTSTART:20260601T080000Z")[:-15],
            r"ends inside VEVENT begun at line 4",
        ),
        (
            ics("BEGIN:VEVENT", "UID:x", "END:VTODO"),
            r"line 6: END:VTODO does not close BEGIN:VEVENT of line 4",
        ),
        (
            ics("BEGIN:VEVENT", "UID:x", "DTSTART:2026-06-01", "END:VEVENT"),
            r"line 4: VEVENT UID='x'.*DTSTART",
        ),
        (
            ics("BEGIN:VEVENT", "UID:x", "DTSTART:20260601T080000Z", "RRULE:FREQ=SOMETIMES", "END:VEVENT"),
            r"UID='x': property RRULE",
        ),
        (
            ics("BEGIN:VEVENT", "UID:x", "SUMMARY:no start", "END:VEVENT"),
            r"line 4: VEVENT UID='x' has no DTSTART",
        ),
        (ics() + ics(), r"line 5: content after END:VCALENDAR"),
    ],
)
def test_bad_input_raises_calendar_error(data: bytes, message: str) -> None:
    with pytest.raises(CalendarError, match=message) as caught:
        read_calendar(data, utc(2026, 1, 1), utc(2027, 1, 1))
    assert isinstance(caught.value, ValueError)


def test_caller_errors() -> None:
    data = ics()
    with pytest.raises(ValueError, match="timezone-aware"):
        read_calendar(data, datetime(2026, 1, 1), utc(2027, 1, 1))
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        read_calendar(data, utc(2026, 1, 1), utc(2027, 1, 1), tz="Berlin")
    assert read_calendar(data, utc(2026, 1, 1), utc(2027, 1, 1)) == []


def test_reader_does_not_import_django() -> None:
    code = (
        "import sys, alphasms.appointments.ical;"
        "print(sorted(m for m in sys.modules if m.startswith('django')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"
