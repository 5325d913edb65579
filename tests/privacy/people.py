"""Two people with data in every registered model: the one whose rights are exercised, and another whose
data must stay untouched. Used by the registry and subject-rights tests."""

from __future__ import annotations

import datetime as dt
import unicodedata

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from alphasms.appointments.models import Appointment, Channel, Customer, Location, UnmatchedEvent
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.base import MoEvent
from alphasms.messaging.models import (
    AttemptOutcome,
    AttemptPart,
    DeliveryAttempt,
    DeliveryReport,
    MessageStatus,
    OutboundMessage,
)
from alphasms.messaging.services.lifecycle import record, set_status
from alphasms.messaging.services.replies import receive_mo
from alphasms.privacy.audit import audit
from alphasms.privacy.models import AuditAction, PrivacyRequest, StatisticsObjection
from tests.conftest import make_appointment, make_customer, make_rule

PERSON = {
    "given": "Jörg",
    "family": "Bäcker",
    "mobile": "+4915112345678",
    "national": "0151 12345678",
    "email": "joerg.baecker@example.org",
}
OTHER = {
    "given": "Erika",
    "family": "Musterfrau",
    "mobile": "+4917098765432",
    "national": "0170 98765432",
    "email": "erika.musterfrau@example.net",
}


def identifiers(who: dict[str, str]) -> list[str]:
    """What identifies a person in stored data: names, the number as E.164, as MSISDN (provider
    payloads) and as typed (national form), the e-mail address."""
    return [
        who["given"],
        who["family"],
        who["mobile"],
        who["mobile"].lstrip("+"),
        who["national"],
        who["email"],
    ]


def _person(location: Location, who: dict[str, str], number: str) -> Customer:
    customer = make_customer(
        number=number, given=who["given"], family=who["family"], mobile=who["mobile"], email=who["email"]
    )
    Customer.objects.filter(pk=customer.pk).update(
        mobile_raw=who["national"], notes=f"ruft {who['given']} zurück"
    )
    customer.refresh_from_db()
    start = timezone.now() + dt.timedelta(days=2)
    make_appointment(location, customer, start, source="csv", source_name="termine.csv")
    make_appointment(location, customer, start + dt.timedelta(days=7), source="ics", source_name="praxis.ics")
    return customer


def _sent(message: OutboundMessage, who: dict[str, str]) -> None:
    """Mark ``message`` sent through the fake gateway, with a delivery report and a reply note."""
    now = timezone.now()
    attempt = DeliveryAttempt.objects.create(
        message=message, gateway="fake", started_at=now, finished_at=now, outcome=AttemptOutcome.SENT
    )
    set_status(message, MessageStatus.SENT, note="fake", gateway="fake")
    AttemptPart.objects.create(attempt=attempt, sequence=1, gateway_message_id=f"part-{attempt.pk}")
    raw = {"to": who["mobile"].lstrip("+"), "status": "DELIVERED", "text": message.body}
    DeliveryReport.objects.create(
        attempt=attempt, status="delivered", received_at=now, raw=raw, dedupe_key=f"dlr-{attempt.pk}"
    )
    set_status(message, MessageStatus.DELIVERED, note="dlr")
    record(message, f"reply from {who['mobile']}: Ja, ich komme. {who['given']} {who['family']}")
    text = f"Ja, ich komme. {who['given']} {who['family']}"  # names itself: an inbox reply, not a plain JA
    raw = {"webhook_event": "sms_mo", "data": {"sender": who["mobile"].lstrip("+"), "text": text}}
    receive_mo(
        "sevenio",
        [MoEvent(from_e164=who["mobile"], text=text, gateway_message_id=f"mo-{message.pk}", raw=raw)],
    )


def _unassigned(location: Location, summary: str) -> Appointment:
    appointment = make_appointment(location, None, timezone.now() + dt.timedelta(days=3))
    Appointment.objects.filter(pk=appointment.pk).update(summary=summary, source="ics")
    UnmatchedEvent.objects.create(appointment=appointment, reason="kein Kunde passt auf den Titel")
    return appointment


def populate(location: Location) -> tuple[Customer, Customer]:
    """(person, other): each with appointments (CSV and ICS), planned SMS and e-mail messages, one SMS
    sent with a delivery report, a reply note and the reply itself (an InboundMessage), consents, an
    objection, a request, an admin-log entry and an audit entry; unassigned calendar entries naming each
    (the person's in NFD and reversed form) and one that only looks similar ("Jörg Bäckermann")."""
    make_rule(Channel.SMS, offset_s=24 * 3600, window_start=dt.time(0), window_end=dt.time(23, 59, 59))
    make_rule(Channel.EMAIL, offset_s=12 * 3600, window_start=dt.time(0), window_end=dt.time(23, 59, 59))
    person, other = _person(location, PERSON, "1001"), _person(location, OTHER, "2002")
    plan()
    for customer, who in ((person, PERSON), (other, OTHER)):
        _sent(OutboundMessage.objects.filter(customer=customer, channel=Channel.SMS).earliest("due_at"), who)
        StatisticsObjection.objects.create(customer=customer, at=timezone.now())
        PrivacyRequest.objects.create(
            customer=customer, kind="rectification", text=f"{who['given']}: neue Nummer"
        )
        audit("staff:1", AuditAction.VIEW, "customer", customer.pk)
    _unassigned(location, unicodedata.normalize("NFD", "Kontrolle JÖRG BÄCKER"))
    _unassigned(location, "Bäcker, Jörg – Nachsorge")
    _unassigned(location, "Kontrolle Erika Musterfrau")
    _unassigned(location, "Kontrolle Jörg Bäckermann")
    staff = User.objects.create_user("staff", password="x")
    for customer in (person, other):
        LogEntry.objects.create(
            user=staff,
            content_type=ContentType.objects.get_for_model(Customer),
            object_id=str(customer.pk),
            object_repr=str(customer),
            action_flag=CHANGE,
            change_message='[{"changed": {"fields": ["Vorname"]}}]',
        )
    return person, other
