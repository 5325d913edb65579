"""Importing the practice calendar and customer CSV into the database: idempotent, whole or nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from alphasms.appointments.ical import CalendarError
from alphasms.appointments.models import Appointment, AppointmentStatus, Customer, UnmatchedEvent
from alphasms.appointments.services.csv_import import import_csv
from alphasms.appointments.services.ics_import import import_ics
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.privacy.models import Consent
from tests.conftest import make_rule

UTC = dt.UTC
DATA = Path(__file__).resolve().parent.parent / "data" / "practice"
NOW = dt.datetime(2026, 12, 5, 6, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def import_practice(location, now=NOW):
    csv_report = import_csv(
        (DATA / "kunden.csv").read_bytes(),
        location,
        "kunden.csv",
        consent_channels=("sms", "email"),
        consent_wording="2026-01",
    )
    return csv_report, import_ics((DATA / "praxis.ics").read_bytes(), location, "praxis.ics", now=now)


def test_the_customer_csv_from_windows_excel_is_imported_with_e164_numbers(alphasms_settings, location):
    report = import_csv((DATA / "kunden.csv").read_bytes(), location, "kunden.csv")
    assert (report.created, report.rejected) == (0, [])  # customers only, no appointment columns
    customers = {c.customer_number: c for c in Customer.objects.all()}
    assert customers["1001"].family_name == "Bäcker" and customers["1001"].given_name == "Jörg"
    assert customers["1001"].mobile_e164 == "+4915112345678"
    assert customers["1002"].family_name == "Öztürk" and customers["1002"].email == ""
    assert all(c.mobile_sms_ok for c in customers.values())
    assert Consent.objects.count() == 0  # importing never implies consent


def test_it_imports_the_practice_calendar_and_matches_people_exactly(alphasms_settings, location):
    _, report = import_practice(location)
    assert Consent.objects.filter(source="import", wording_version="2026-01").count() == 6
    # series: Dec 8, (15 excluded), 22 moved to 23, 29; Öztürk; closure; unmatched (cancelled one skipped)
    assert (report.created, report.updated, report.cancelled) == (6, 0, 0)
    series = Appointment.objects.filter(external_uid="moved-override@praxis-sonnenhof.example")
    assert sorted(a.start_at for a in series) == [
        dt.datetime(2026, 12, 8, 9, 0, tzinfo=UTC),
        dt.datetime(2026, 12, 23, 10, 30, tzinfo=UTC),
        dt.datetime(2026, 12, 29, 9, 0, tzinfo=UTC),
    ]
    assert {a.customer.family_name for a in series} == {"Bäcker"}
    moved = series.get(start_at=dt.datetime(2026, 12, 23, 10, 30, tzinfo=UTC))
    assert moved.recurrence_id == "2026-12-22T09:00:00Z"
    assert Appointment.objects.get(external_uid__startswith="single-oeztuerk").customer.given_name == "Ayla"
    closure = Appointment.objects.get(external_uid__startswith="closure")
    assert (closure.all_day, closure.start_date, closure.end_date) == (
        True,
        dt.date(2026, 12, 24),
        dt.date(2026, 12, 28),
    )
    assert closure.start_at == dt.datetime(2026, 12, 23, 23, 0, tzinfo=UTC)  # local midnight
    assert [(s, r) for s, _, r in report.unmatched] == [
        ("Günther Unbekannt", "kein Kunde passt auf den Titel")
    ]
    assert UnmatchedEvent.objects.get().appointment.summary == "Günther Unbekannt"
    assert not Appointment.objects.filter(external_uid__startswith="cancelled-mueller").exists()


def test_re_importing_changes_nothing(alphasms_settings, location):
    make_rule()
    import_practice(location)
    plan(NOW)
    before = list(OutboundMessage.objects.values_list("id", "status", "due_at", "body"))
    appointments = list(Appointment.objects.values_list("id", "start_at", "status", "updated_at"))
    _, again = import_practice(location)
    assert (again.created, again.updated, again.cancelled, again.unchanged) == (0, 0, 0, 6)
    plan(NOW)
    assert list(OutboundMessage.objects.values_list("id", "status", "due_at", "body")) == before
    assert list(Appointment.objects.values_list("id", "start_at", "status", "updated_at")) == appointments


def test_an_occurrence_that_disappears_is_cancelled_with_its_reminders(alphasms_settings, location):
    make_rule()
    import_practice(location)
    plan(NOW)
    data = (
        (DATA / "praxis.ics")
        .read_bytes()
        .replace(
            b"EXDATE;TZID=Europe/Berlin:20261215T100000",
            b"EXDATE;TZID=Europe/Berlin:20261215T100000,20261229T100000",
        )
    )
    report = import_ics(data, location, "praxis.ics", now=NOW)
    assert report.cancelled == 1
    gone = Appointment.objects.get(start_at=dt.datetime(2026, 12, 29, 9, 0, tzinfo=UTC))
    assert gone.status == AppointmentStatus.CANCELLED
    assert gone.messages.get().status == MessageStatus.CANCELLED


def test_an_event_cancelled_in_the_calendar_cancels_its_reminders(alphasms_settings, location):
    make_rule()
    import_practice(location)
    plan(NOW)
    data = (
        (DATA / "praxis.ics")
        .read_bytes()
        .replace(
            b"SUMMARY:\xc3\x96zt\xc3\xbcrk, Ayla", b"SUMMARY:\xc3\x96zt\xc3\xbcrk, Ayla\r\nSTATUS:CANCELLED"
        )
    )
    assert import_ics(data, location, "praxis.ics", now=NOW).cancelled == 1
    message = OutboundMessage.objects.get(customer__family_name="Öztürk")
    assert message.status == MessageStatus.CANCELLED
    assert message.events.last().note == "cancelled in the calendar (STATUS:CANCELLED)"


def test_a_moved_occurrence_updates_in_place_and_replans(alphasms_settings, location):
    make_rule()
    import_practice(location)
    plan(NOW)
    original = Appointment.objects.get(external_uid__startswith="single-oeztuerk")
    data = (DATA / "praxis.ics").read_bytes().replace(b"20261209T14", b"20261210T15")
    report = import_ics(data, location, "praxis.ics", now=NOW)
    assert (report.created, report.updated) == (0, 1)
    moved = Appointment.objects.get(pk=original.pk)
    assert moved.start_at == dt.datetime(2026, 12, 10, 14, 0, tzinfo=UTC)
    assert plan(NOW).replanned == 1
    assert "Do., 10. Dez. 2026" in moved.messages.get().body


def test_an_unreadable_calendar_changes_nothing(alphasms_settings, location):
    import_practice(location)
    count = Appointment.objects.count()
    with pytest.raises(CalendarError):
        import_ics(
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\nEND:VEVENT\r\n",
            location,
            "x.ics",
            now=NOW,
        )
    assert Appointment.objects.count() == count


def test_csv_rows_that_are_rejected_are_reported_and_the_rest_applies(alphasms_settings, location):
    data = (
        "Nachname;Vorname;Mobil;Datum;Uhrzeit\n"
        "Weiß;Anna;0171 2345678;07.12.2026;09:30\n"
        "Groß;Ben;0171 3456789;31.02.2026;10:00\n"
        ";;;07.12.2026;11:00\n"
        "Klein;Cem;0171 4567890;08.12.26;8:15\n"
    ).encode("cp1252")
    report = import_csv(data, location, "termine.csv")
    assert report.created == 2
    assert [(line, field) for line, field, *_ in report.rejected] == [(3, "date"), (4, "family_name")]
    cem = Appointment.objects.get(customer__given_name="Cem")
    assert cem.start_at == dt.datetime(2026, 12, 8, 7, 15, tzinfo=UTC)
    again = import_csv(data, location, "termine.csv")
    assert (again.created, again.unchanged) == (0, 2)
    assert Customer.objects.count() == 2
