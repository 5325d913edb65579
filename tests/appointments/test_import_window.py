"""An import says how many of a calendar's entries lie outside its window (past, beyond the horizon):
a 2015 export then reads "1 entry, before the window" instead of an unexplained row of zeros. The dry run
and the import itself report the same counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from alphasms.appointments.ical import read_window
from alphasms.appointments.models import Appointment
from alphasms.appointments.services.ics_import import import_ics, import_window

CALENDARS = Path(__file__).resolve().parent.parent / "data" / "calendars"
NOW = dt.datetime(2026, 5, 13, 8, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def _ics(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e}END:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{body}END:VCALENDAR\r\n".encode()


def test_a_2015_series_lies_wholly_before_the_window(alphasms_settings, location):
    data = (CALENDARS / "exchange-cdo-weekday-series.ics").read_bytes()
    preview = import_ics(data, location, "cdo.ics", now=NOW, dry_run=True)
    applied = import_ics(data, location, "cdo.ics", now=NOW)
    assert (preview.events_read, preview.events_before, preview.events_after) == (1, 1, 0)
    assert preview.counts() == applied.counts()
    assert preview.created == applied.created == 0 and Appointment.objects.count() == 0
    start, end = import_window(NOW)
    assert applied.as_dict()["window"] == {"start": start.isoformat(), "end": end.isoformat()}
    assert applied.as_dict()["events"] == {"read": 1, "before": 1, "after": 0}


def test_entries_are_counted_once_and_placed_before_in_or_after_the_window():
    data = _ics(
        "UID:past\r\nDTSTART:20150101T090000Z\r\nSUMMARY:a\r\n",
        "UID:soon\r\nDTSTART:20260520T090000Z\r\nSUMMARY:b\r\n",
        "UID:later\r\nDTSTART:20270101T090000Z\r\nSUMMARY:c\r\n",
        # a yearly series begun in 2015 whose next date lies beyond the 60 days: "after", not "before"
        "UID:yearly\r\nDTSTART:20151224T090000Z\r\nRRULE:FREQ=YEARLY\r\nSUMMARY:d\r\n",
        # a weekly series that ended in 2020, with one moved instance: one entry, before
        "UID:ended\r\nDTSTART:20200106T090000Z\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:e\r\n",
        "UID:ended\r\nRECURRENCE-ID:20200113T090000Z\r\nDTSTART:20200114T090000Z\r\nSUMMARY:e\r\n",
        # a weekly series running through the window: in it
        "UID:weekly\r\nDTSTART:20260101T090000Z\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:f\r\n",
    )
    window = read_window(data, NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=60))
    assert (window.events, window.in_window, window.before, window.after) == (6, 2, 2, 2)
    assert {o.uid for o in window.occurrences} == {"soon", "weekly"}
