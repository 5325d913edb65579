"""Turn an e-mail OutboundMessage into an ``OutboundEmail`` and send it through the SMTP backend or,
when ``ALPHASMS_EMAIL_PROVIDER`` names one, an ESP's API (``email_providers``).

Only sender, recipient, subject, text and — where the rule asks — the appointment as .ics leave the
machine (DESIGN.md invariant 6). The .ics names the practice, not the appointment's reason.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr

import icalendar
from django.conf import settings

from alphasms.appointments.models import Appointment
from alphasms.messaging.email import OutboundEmail, send_email
from alphasms.messaging.email_providers import SMTP, provider_slug, send_via_provider
from alphasms.messaging.models import OutboundMessage


def appointment_ics(appointment: Appointment, reference: str) -> bytes:
    """An RFC 5545 VCALENDAR (METHOD:PUBLISH) with one VEVENT for ``appointment``, times in UTC."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//AlphaSMS//Termin//DE")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"{reference}@alphasms")
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    if appointment.all_day and appointment.start_date:
        event.add("dtstart", appointment.start_date)
        if appointment.end_date:
            event.add("dtend", appointment.end_date)
    else:
        event.add("dtstart", appointment.start_at.astimezone(dt.UTC))
        event.add("dtend", appointment.end_at.astimezone(dt.UTC))
    event.add("summary", f"Termin: {appointment.location.name}")
    event.add("location", appointment.location.name)
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def send_reminder_email(message: OutboundMessage, reference: str) -> str:
    """Send ``message`` by e-mail with attempt id ``reference``; returns the Message-ID (SMTP) or the
    ESP's message id (``ALPHASMS_EMAIL_PROVIDER`` other than smtp).

    Raises the e-mail errors of ``alphasms.messaging.email`` / ``email_providers`` (GatewayError
    subclasses) or ``GatewayMisconfigured``.
    """
    from_name, from_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    customer = message.customer
    mail = OutboundEmail(
        reference=reference,
        from_name=from_name,
        from_address=from_address,
        to_name=f"{customer.given_name} {customer.family_name}".strip(),
        to_address=message.recipient,
        subject=message.subject,
        text=message.body,
        language=customer.language,
        ics=appointment_ics(message.appointment, reference) if message.rule.attach_ics else None,
    )
    return send_email(mail) if provider_slug() == SMTP else send_via_provider(mail)
