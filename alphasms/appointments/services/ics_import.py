"""Import an iCalendar file or subscription into appointments for one location.

The whole import is one transaction: it applies whole or not at all. A dry run (``dry_run=True``) is the
same code in the same transaction, rolled back at the end: its report says exactly what the import
would do (staff see it before applying, in the web app's imports page). Occurrences are identified by
(UID, RECURRENCE-ID) (RFC 5545 §3.8.4.4), so a re-import updates in place and changes nothing when the
file is unchanged. An occurrence of this source that disappeared from the window is cancelled, and its
pending reminders with it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from alphasms.appointments.ical import Occurrence, read_window
from alphasms.appointments.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    AppointmentType,
    Customer,
    Location,
    UnmatchedEvent,
)
from alphasms.appointments.services.matching import CustomerIndex, norm
from alphasms.conf import app_settings
from alphasms.messaging.gateways.http import url_for_log
from alphasms.messaging.models import OutboundMessage
from alphasms.messaging.services.lifecycle import cancel_pending

log = logging.getLogger("alphasms.import")


class RowIssue(NamedTuple):
    """A rejected row or a warning about one: physical line (1 = header), field, German and English reason."""

    line: int
    field: str
    reason: str
    reason_en: str


class Change(NamedTuple):
    """One change an import made (or, in a dry run, would make), for staff to review: ``kind`` is
    "created", "updated" or "cancelled" (appointments) or "customer_created"; ``start`` the appointment's
    start (ISO 8601, UTC; "" for customers); ``summary`` the appointment's summary or the customer's name."""

    kind: str
    start: str
    summary: str


#: How many ``Change`` items a report keeps (the counts stay exact beyond it).
CHANGES_LIMIT = 500


@dataclass
class ImportReport:
    """What an import did, for the command line, the JSON output and staff.

    ``created``/``updated``/``unchanged``/``cancelled`` count appointments; ``customers_*`` count the
    customers a CSV file named (each once, however many rows name them; "updated" only when a stored
    value really changed) and ``consents_recorded`` the opt-ins it added. ``unmatched`` are events
    without a customer (summary, start, reason); ``rejected`` rows were not applied; ``warnings``
    are about rows that were applied (an unusable mobile number, a past appointment);
    ``ignored_columns`` are (header, German note, English note) for columns the import did not read.
    ``changes`` lists the first ``CHANGES_LIMIT`` changes one by one; ``dry_run`` is True when nothing
    was kept (the report says what the import would do).

    Calendar imports only: ``events_read`` counts the file's entries (distinct UIDs; a series is one),
    ``events_before``/``events_after`` those of them with no occurrence in the import window
    ``[window_start, window_end)`` (ISO 8601, UTC) because they lie wholly before it (past) or
    beyond the planning horizon. CSV imports leave them 0 and "".
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    cancelled: int = 0
    customers_created: int = 0
    customers_updated: int = 0
    customers_unchanged: int = 0
    consents_recorded: int = 0
    unmatched: list[tuple[str, str, str]] = field(default_factory=list)
    rejected: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    ignored_columns: list[tuple[str, str, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False
    events_read: int = 0
    events_before: int = 0
    events_after: int = 0
    window_start: str = ""
    window_end: str = ""

    def note(self, kind: str, start: dt.datetime | None, summary: str) -> None:
        """Remember one change (up to ``CHANGES_LIMIT``)."""
        if len(self.changes) < CHANGES_LIMIT:
            self.changes.append(Change(kind, start.isoformat() if start else "", summary))

    @property
    def changed(self) -> bool:
        """True when the import changed anything: appointments, customers or consent."""
        return bool(
            self.created
            or self.updated
            or self.cancelled
            or self.customers_created
            or self.customers_updated
            or self.consents_recorded
        )

    def counts(self) -> dict[str, int]:
        """The numbers only (for logs)."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "cancelled": self.cancelled,
            "customers_created": self.customers_created,
            "customers_updated": self.customers_updated,
            "customers_unchanged": self.customers_unchanged,
            "consents_recorded": self.consents_recorded,
            "unmatched": len(self.unmatched),
            "rejected": len(self.rejected),
            "warnings": len(self.warnings),
            "events_read": self.events_read,
            "events_before": self.events_before,
            "events_after": self.events_after,
        }

    def as_dict(self) -> dict[str, object]:
        def issues(items: list[RowIssue]) -> list[dict[str, object]]:
            return [
                {"line": i.line, "field": i.field, "reason": i.reason, "reason_en": i.reason_en}
                for i in items
            ]

        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "cancelled": self.cancelled,
            "customers": {
                "created": self.customers_created,
                "updated": self.customers_updated,
                "unchanged": self.customers_unchanged,
            },
            "consents_recorded": self.consents_recorded,
            "changed": self.changed,
            "unmatched": [{"summary": s, "start": t, "reason": r} for s, t, r in self.unmatched],
            "rejected": issues(self.rejected),
            "warnings": issues(self.warnings),
            "ignored_columns": [
                {"column": c, "reason": de, "reason_en": en} for c, de, en in self.ignored_columns
            ],
            "events": {"read": self.events_read, "before": self.events_before, "after": self.events_after},
            "window": {"start": self.window_start, "end": self.window_end},
        }


def import_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The expansion window: from one day back (all-day entries of today) to the planning horizon."""
    horizon = dt.timedelta(days=app_settings.PLANNING_HORIZON_DAYS)
    return now - dt.timedelta(days=1), now + horizon


def import_ics(
    data: bytes,
    location: Location,
    source_name: str,
    *,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Read ``data`` (iCalendar bytes) and apply it to ``location``'s appointments from ``source_name``.

    Raises ``alphasms.appointments.ical.CalendarError`` (nothing changed) for unreadable input.
    ``progress(done, total)`` is called while applying. Side effects: appointments created, updated
    or cancelled; pending messages of cancelled or disappeared occurrences cancelled — none with
    ``dry_run`` (everything is rolled back; the report, with ``changes``, says what would happen).
    """
    now = now or timezone.now()
    start, end = import_window(now)
    window = read_window(data, start, end, tz=location.time_zone)
    occurrences = window.occurrences
    report = ImportReport(
        events_read=window.events,
        events_before=window.before,
        events_after=window.after,
        window_start=start.isoformat(),
        window_end=end.isoformat(),
    )
    with transaction.atomic():
        index = CustomerIndex(list(Customer.objects.all()))
        types = {norm(t.name): t for t in AppointmentType.objects.all()}
        seen: set[tuple[str, str]] = set()
        for done, occurrence in enumerate(occurrences, 1):
            seen.add((occurrence.uid, occurrence.recurrence_id or ""))
            _apply(occurrence, location, source_name, index, types, report)
            if progress:
                progress(done, len(occurrences))
        gone = Appointment.objects.filter(
            location=location,
            source=AppointmentSource.ICS,
            source_name=source_name,
            status=AppointmentStatus.SCHEDULED,
            start_at__gte=max(start, now),
            start_at__lt=end,
        )
        for appointment in gone:
            if (appointment.external_uid, appointment.recurrence_id) not in seen:
                _cancel(appointment, "occurrence no longer in the calendar", report)
        if dry_run:
            transaction.set_rollback(True)
            report.dry_run = True
    # source_name may be a subscription URL with a token in it: log the host only
    log.info(
        "ics import%s source=%s %s",
        " (dry run)" if dry_run else "",
        url_for_log(source_name),
        report.counts(),
    )
    return report


def _times(occurrence: Occurrence, location: Location) -> tuple[dt.datetime, dt.datetime]:
    if occurrence.start_utc is not None and occurrence.end_utc is not None:
        return occurrence.start_utc, occurrence.end_utc
    assert occurrence.date is not None
    end_date = occurrence.end_date or occurrence.date + dt.timedelta(days=1)
    tz = location.tz
    start = dt.datetime.combine(occurrence.date, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    return start, dt.datetime.combine(end_date, dt.time(0), tzinfo=tz).astimezone(dt.UTC)


def _apply(
    occurrence: Occurrence,
    location: Location,
    source_name: str,
    index: CustomerIndex,
    types: dict[str, AppointmentType],
    report: ImportReport,
) -> None:
    start_at, end_at = _times(occurrence, location)
    match = index.match(occurrence.summary, occurrence.description)
    values = {
        "customer": match.customer,
        "appointment_type": types.get(norm(match.reason_text)) if match.reason_text else None,
        "summary": occurrence.summary[:500],
        "start_at": start_at,
        "end_at": end_at,
        "all_day": occurrence.all_day,
        "start_date": occurrence.date,
        "end_date": occurrence.end_date,
        "status": AppointmentStatus.CANCELLED
        if occurrence.status == "CANCELLED"
        else AppointmentStatus.SCHEDULED,
    }
    appointment = Appointment.objects.filter(
        location=location, external_uid=occurrence.uid, recurrence_id=occurrence.recurrence_id or ""
    ).first()
    if appointment is None:
        if values["status"] == AppointmentStatus.CANCELLED:
            return  # a cancelled occurrence we never had: nothing to do
        appointment = Appointment.objects.create(
            location=location,
            source=AppointmentSource.ICS,
            source_name=source_name[:500],
            external_uid=occurrence.uid,
            recurrence_id=occurrence.recurrence_id or "",
            **values,
        )
        report.created += 1
        report.note("created", start_at, appointment.summary)
    else:
        changed = {k: v for k, v in values.items() if getattr(appointment, k) != v}
        if not changed:
            report.unchanged += 1
        elif changed.get("status") == AppointmentStatus.CANCELLED:
            _cancel(appointment, "cancelled in the calendar (STATUS:CANCELLED)", report)
            return
        else:
            for name, value in changed.items():
                setattr(appointment, name, value)
            appointment.save()
            report.updated += 1
            report.note("updated", start_at, appointment.summary)
    _track_unmatched(appointment, occurrence, match.problem, report)


def _track_unmatched(
    appointment: Appointment, occurrence: Occurrence, problem: str, report: ImportReport
) -> None:
    if appointment.customer_id is None and not appointment.all_day:
        UnmatchedEvent.objects.update_or_create(appointment=appointment, defaults={"reason": problem[:200]})
        report.unmatched.append((occurrence.summary, appointment.start_at.isoformat(), problem))
    else:
        UnmatchedEvent.objects.filter(appointment=appointment).delete()


def _cancel(appointment: Appointment, note: str, report: ImportReport) -> None:
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save(update_fields=["status", "updated_at"])
    cancel_pending(OutboundMessage.objects.filter(appointment=appointment), note=note)
    report.cancelled += 1
    report.note("cancelled", appointment.start_at, appointment.summary)
