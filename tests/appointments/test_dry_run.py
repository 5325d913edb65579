"""A dry run of an import runs the real import code and rolls back: its report is what the import would
do, and nothing in the database changes (what staff see before they apply an import in the web app)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from alphasms.appointments.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Customer,
    UnmatchedEvent,
)
from alphasms.appointments.services.csv_import import import_csv
from alphasms.appointments.services.ics_import import Change, import_ics
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.privacy.models import Consent
from tests.conftest import make_rule

UTC = dt.UTC
DATA = Path(__file__).resolve().parent.parent / "data" / "practice"
NOW = dt.datetime(2026, 12, 5, 6, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def _customers(location):
    import_csv((DATA / "kunden.csv").read_bytes(), location, "kunden.csv")


def test_an_ics_dry_run_reports_what_the_import_then_does_and_changes_nothing(alphasms_settings, location):
    _customers(location)
    data = (DATA / "praxis.ics").read_bytes()
    preview = import_ics(data, location, "praxis.ics", now=NOW, dry_run=True)
    assert preview.dry_run is True
    assert preview.created > 0
    assert Appointment.objects.count() == 0
    assert UnmatchedEvent.objects.count() == 0
    assert {c.kind for c in preview.changes} == {"created"}
    assert len(preview.changes) == preview.created

    applied = import_ics(data, location, "praxis.ics", now=NOW)
    assert applied.dry_run is False
    assert applied.counts() == preview.counts()
    assert Appointment.objects.count() == applied.created
    assert sorted(applied.changes) == sorted(preview.changes)


def test_an_ics_dry_run_of_a_changed_calendar_names_the_cancelled_and_moved_appointments(
    alphasms_settings, location
):
    make_rule()
    _customers(location)
    import_ics((DATA / "praxis.ics").read_bytes(), location, "praxis.ics", now=NOW)
    plan(NOW)
    data = (
        (DATA / "praxis.ics")
        .read_bytes()
        .replace(b"20261209T14", b"20261210T15")
        .replace(
            b"EXDATE;TZID=Europe/Berlin:20261215T100000",
            b"EXDATE;TZID=Europe/Berlin:20261215T100000,20261229T100000",
        )
    )
    preview = import_ics(data, location, "praxis.ics", now=NOW, dry_run=True)
    assert (preview.created, preview.updated, preview.cancelled) == (0, 1, 1)
    kinds = {c.kind: c for c in preview.changes}
    assert kinds["cancelled"].start == "2026-12-29T09:00:00+00:00"
    assert kinds["updated"].start == "2026-12-10T14:00:00+00:00"
    # nothing happened: the occurrence and its reminder are still there
    assert not Appointment.objects.filter(status=AppointmentStatus.CANCELLED).exists()
    assert not OutboundMessage.objects.filter(status=MessageStatus.CANCELLED).exists()
    assert Appointment.objects.filter(start_at=dt.datetime(2026, 12, 9, 13, 0, tzinfo=UTC)).exists()


def test_a_csv_dry_run_lists_new_customers_and_every_rejected_row_and_writes_nothing(
    alphasms_settings, location
):
    data = (
        "Kundennummer;Nachname;Vorname;Mobil;Datum;Uhrzeit;Terminart\n"
        "2001;Weiß;Anna;0171 2345678;07.12.2026;09:30;Kontrolle\n"
        "2002;Groß;Ben;0171 3456789;31.02.2026;10:00;Kontrolle\n"
        "2003;Klein;Cem;0171 4567890;08.12.26;8:15;\n"
    ).encode("cp1252")
    preview = import_csv(
        data,
        location,
        "termine.csv",
        consent_channels=("sms",),
        consent_wording="2026-01",
        now=NOW,
        dry_run=True,
    )
    assert preview.dry_run is True
    assert (preview.customers_created, preview.created, preview.consents_recorded) == (2, 2, 2)
    assert [(r.line, r.field) for r in preview.rejected] == [(3, "date")]
    assert "31.02.2026" in preview.rejected[0].reason
    assert Change("customer_created", "", "Anna Weiß") in preview.changes
    assert (Customer.objects.count(), Appointment.objects.count(), Consent.objects.count()) == (0, 0, 0)
    assert AppointmentType.objects.count() == 0

    applied = import_csv(
        data, location, "termine.csv", consent_channels=("sms",), consent_wording="2026-01", now=NOW
    )
    assert applied.counts() == preview.counts()
    assert [r.reason for r in applied.rejected] == [r.reason for r in preview.rejected]
    assert (Customer.objects.count(), Appointment.objects.count(), Consent.objects.count()) == (2, 2, 2)
