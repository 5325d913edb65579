"""Import customers and appointments from a CSV file as German practice software and Excel write it.

Parsing (delimiter, encoding, dates, headers) is ``alphasms.appointments.csvparse``; this module applies
the valid rows together in one transaction and reports every rejected row with line, field and reason.
Customers are matched by customer number, else by exact name plus mobile number or e-mail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from django.db import transaction

from alphasms.appointments.csvparse import CsvRecord, read_csv
from alphasms.appointments.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    AppointmentType,
    Customer,
    Location,
)
from alphasms.appointments.services.ics_import import ImportReport
from alphasms.privacy.models import ConsentSource
from alphasms.privacy.services import record_opt_in


def import_csv(
    data: bytes,
    location: Location,
    source_name: str,
    *,
    mapping: dict[str, str] | None = None,
    consent_channels: tuple[str, ...] = (),
    consent_wording: str = "",
    recorded_by: str = "import",
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Apply the valid rows of ``data`` to customers and appointments of ``location``.

    ``consent_channels`` ("sms", "email") records an opt-in of source ``import`` with wording version
    ``consent_wording`` for every imported customer — only when the practice holds that consent.
    Raises ``CsvFormatError`` for a file that cannot be read at all (nothing changes).
    """
    result = read_csv(data, tz=location.time_zone, default_country=location.country, mapping=mapping)
    report = ImportReport()
    report.rejected = [(r.line, r.field, f"{r.reason_de} ({r.value})") for r in result.rejected]
    with transaction.atomic():
        for done, record in enumerate(result.records, 1):
            customer = _upsert_customer(record, location.country)
            for channel in consent_channels:
                record_opt_in(
                    customer,
                    channel,
                    source=ConsentSource.IMPORT,
                    wording_version=consent_wording,
                    recorded_by=recorded_by,
                )
            if record.start_utc is not None:
                _upsert_appointment(record, customer, location, source_name, report)
            if progress:
                progress(done, len(result.records))
    return report


def _upsert_customer(record: CsvRecord, country: str) -> Customer:
    customer = None
    if record.customer_number:
        customer = Customer.objects.filter(customer_number=record.customer_number).first()
    mobile = record.mobile
    if (mobile is None or not mobile.sms_ok) and record.phone_raw:
        # Files with only a "Telefon" column: use it when it is a mobile number.
        from alphasms.messaging.phone import to_e164

        other = to_e164(record.phone_raw, default_country=country)
        mobile = other if other.sms_ok or mobile is None else mobile
    e164 = mobile.e164 if mobile and mobile.e164 else ""
    if customer is None:
        same_name = Customer.objects.filter(given_name=record.given_name, family_name=record.family_name)
        if e164:
            customer = same_name.filter(mobile_e164=e164).first()
        if customer is None and record.email:
            customer = same_name.filter(email=record.email).first()
    customer = customer or Customer()
    customer.customer_number = record.customer_number or customer.customer_number
    customer.given_name = record.given_name
    customer.family_name = record.family_name
    if mobile is not None:
        customer.mobile_raw = mobile.input
        customer.mobile_e164 = e164
        customer.mobile_sms_ok = bool(mobile and mobile.sms_ok)
        customer.mobile_flags = list(mobile.flags) if mobile else []
    customer.email = record.email or customer.email
    customer.language = record.language or customer.language
    customer.notes = record.notes or customer.notes
    customer.save()
    return customer


def _upsert_appointment(
    record: CsvRecord, customer: Customer, location: Location, source_name: str, report: ImportReport
) -> None:
    assert record.start_utc is not None
    end_utc = record.end_utc or record.start_utc + dt.timedelta(minutes=30)
    # CSV rows carry no stable id: the occurrence is identified by person and start instant.
    key = hashlib.sha256(f"{customer.pk}|{record.start_utc.isoformat()}".encode()).hexdigest()[:32]
    kind = None
    if record.appointment_type:
        kind, _ = AppointmentType.objects.get_or_create(name=record.appointment_type[:200])
    appointment, created = Appointment.objects.get_or_create(
        location=location,
        external_uid=f"csv:{key}",
        recurrence_id="",
        defaults={
            "customer": customer,
            "appointment_type": kind,
            "start_at": record.start_utc,
            "end_at": end_utc,
            "source": AppointmentSource.CSV,
            "source_name": source_name[:500],
            "summary": f"{customer} {record.appointment_type}".strip()[:500],
        },
    )
    if created:
        report.created += 1
    elif appointment.end_at != end_utc or appointment.status != AppointmentStatus.SCHEDULED:
        appointment.end_at, appointment.status = end_utc, AppointmentStatus.SCHEDULED
        appointment.save()
        report.updated += 1
    else:
        report.unchanged += 1
