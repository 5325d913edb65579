"""Sample data on first start, so a new user has something to see: one practice, three customers with
recorded consent (source "sample"), a few appointments tomorrow and the day after, and two rules.

Only runs when no location exists yet; the people and numbers are invented (+49 1555… is a reserved
drama range of the German numbering plan, so nothing can reach a real person).
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from alphasms.appointments.models import (
    Appointment,
    AppointmentType,
    Channel,
    Customer,
    Location,
    ReminderRule,
)
from alphasms.privacy.models import ConsentSource
from alphasms.privacy.services import record_opt_in

SAMPLE_USER = "praxis"
_PEOPLE = [
    ("1001", "Jörg", "Bäcker", "+4915550001001", "joerg.baecker@example.org", "de"),
    ("1002", "Ayşe", "Öztürk", "+4915550001002", "", "de"),
    ("1003", "Emily", "Clarke", "+4915550001003", "emily.clarke@example.org", "en"),
]


def ensure_sample_data(now: dt.datetime | None = None) -> str | None:
    """Create the sample practice if the database has no location; returns the sample user name
    (password equal to it) when created, else None. Side effects: rows in most tables."""
    if Location.objects.exists():
        return None
    now = now or timezone.now()
    with transaction.atomic():
        location = Location.objects.create(name="Praxis Sonnenhof", phone="+49 30 1234567")
        kind = AppointmentType.objects.create(name="Physiotherapie")
        ReminderRule.objects.create(
            name="SMS am Vortag",
            channel=Channel.SMS,
            offset_s=24 * 3600,
            smart_encoding=True,
            body_template="{salutation}, Ihr Termin in der {practice_name}: {date}, {time}. {confirm_hint}",
            body_template_en="{salutation}, your appointment at {practice_name}: {date}, {time}. "
            "{confirm_hint}",
        )
        ReminderRule.objects.create(
            name="E-Mail zwei Tage vorher",
            channel=Channel.EMAIL,
            offset_s=48 * 3600,
            attach_ics=True,
            subject_template="Ihr Termin am {date}",
            body_template="{salutation},\n\nwir erinnern an Ihren Termin am {date} um {time} in der "
            "{practice_name}.\nFalls Sie nicht kommen können, rufen Sie uns bitte an: {practice_phone}.",
            subject_template_en="Your appointment on {date}",
            body_template_en="{salutation},\n\nthis is a reminder of your appointment on {date} at {time} at "
            "{practice_name}.\nIf you cannot come, please call us: {practice_phone}.",
        )
        local_tomorrow = (now.astimezone(location.tz) + dt.timedelta(days=1)).date()
        for index, (number, given, family, mobile, email, language) in enumerate(_PEOPLE):
            customer = Customer.objects.create(
                customer_number=number,
                given_name=given,
                family_name=family,
                mobile_e164=mobile,
                mobile_raw=mobile,
                mobile_sms_ok=True,
                email=email,
                language=language,
            )
            for channel in (Channel.SMS, Channel.EMAIL):
                record_opt_in(
                    customer,
                    channel,
                    source=ConsentSource.SAMPLE,
                    wording_version="sample",
                    recorded_by="sample",
                    at=now,
                )
            day = local_tomorrow + dt.timedelta(days=index % 2)
            start = dt.datetime.combine(day, dt.time(9 + 2 * index, 0), tzinfo=location.tz)
            Appointment.objects.create(
                location=location,
                customer=customer,
                appointment_type=kind,
                summary=f"{given} {family}",
                start_at=start,
                end_at=start + dt.timedelta(minutes=30),
            )
        user_model = get_user_model()
        if not user_model.objects.filter(username=SAMPLE_USER).exists():
            user_model.objects.create_superuser(SAMPLE_USER, "", SAMPLE_USER)
    return SAMPLE_USER
