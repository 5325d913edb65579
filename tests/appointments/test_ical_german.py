"""Unreadable calendars are explained in German too (``CalendarError.german``)."""

from __future__ import annotations

import datetime as dt

import pytest

from alphasms.appointments.ical import CalendarError, read_calendar
from alphasms.appointments.ical_repair import german_message


def _ics(*lines: str) -> bytes:
    return (
        "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//DE", *lines, "END:VCALENDAR"])
        + "\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("data", "german"),
    [
        (b"", "keine iCalendar-Daten: die Eingabe ist leer"),
        (
            b"not a calendar",
            "Zeile 1: BEGIN:VCALENDAR erwartet, gefunden: 'not a calendar' (keine iCalendar-Datei)",
        ),
        (_ics("BEGIN:VEVENT", "this is no property", "END:VEVENT"), "Zeile 5: keine iCalendar-Inhaltszeile"),
        (
            _ics("BEGIN:VEVENT", "UID:x", "END:VTODO"),
            "Zeile 6: END:VTODO schließt nicht das BEGIN:VEVENT aus Zeile 4",
        ),
        (
            _ics("BEGIN:VEVENT", "UID:x", "SUMMARY:no start", "END:VEVENT"),
            "Zeile 4: VEVENT UID='x' hat kein DTSTART",
        ),
        (
            _ics("BEGIN:VEVENT", "UID:x", "DTSTART:20260601T080000Z", "RRULE:FREQ=SOMETIMES", "END:VEVENT"),
            "UID='x': Eigenschaft RRULE ist nicht lesbar",
        ),
        (_ics() + _ics(), "Zeile 5: Inhalt nach END:VCALENDAR"),
    ],
)
def test_every_reader_error_has_a_german_wording(data: bytes, german: str) -> None:
    start, end = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(CalendarError) as caught:
        read_calendar(data, start, end)
    assert caught.value.german.startswith(german) or german in caught.value.german
    assert caught.value.german != str(caught.value)


def test_a_message_without_a_german_wording_stays_as_it_is() -> None:
    assert german_message("something new") == "something new"
    assert german_message("the data ends inside VEVENT begun at line 4 (no END:VEVENT; truncated?)") == (
        "die Daten enden innerhalb von VEVENT aus Zeile 4 (END:VEVENT fehlt; Datei abgeschnitten?)"
    )


@pytest.mark.django_db
def test_the_import_page_shows_the_german_reason(web_client, location, tmp_path, alphasms_settings) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import override_settings

    from alphasms.web.roles import Role

    immediate = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(DATA_DIR=tmp_path, TASKS=immediate):
        owner = web_client(Role.OWNER, HTTP_ACCEPT_LANGUAGE="de")
        upload = SimpleUploadedFile("bad.ics", b"not a calendar\r\n")
        job_url = owner.post("/imports/", {"file": upload, "location": location.pk})["Location"]
        page = owner.get(job_url).content.decode()
    assert "Kalender nicht lesbar – nichts wurde geändert: Zeile 1: BEGIN:VCALENDAR erwartet" in page
    assert "expected BEGIN" not in page
