"""The explicit registry of every model that holds personal data (DESIGN.md invariant 9; STYLE.md §9).

``REGISTRY`` maps a model label ("appointments.customer") to a :class:`Registration`: the rows of that
model about one customer, an *exporter* (GDPR Art. 15 copy, Art. 20 portability: every field value of
each row as a plain, JSON-ready dict) and an *eraser* (Art. 17: deletes or anonymises those rows and
returns how many). The dict is written out by hand, as the gateway registry is — no discovery, no
registration by import order. Adding a model that holds names, numbers or addresses, or that points at
a customer (directly or through a registered model), means adding it here or to ``NOT_PERSONAL`` with a
reason; ``tests/privacy/test_registry.py`` fails until one of the two is done.

Erasure runs the erasers **in dict order**: children first (reports before attempts before messages …),
so each eraser counts its own rows, and the admin log and the unassigned calendar entries are found
while the rows that identify them still exist. The customer row comes last.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet

from alphasms.appointments.models import Appointment, Customer, UnmatchedEvent
from alphasms.appointments.services.matching import norm

Row = dict[str, Any]

#: What an anonymised admin-log entry shows instead of the object's name (who/when/what stay).
ERASED_MARK = "[gelöscht/erased]"


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: instants as ISO 8601 UTC with "Z", dates and times as ISO 8601,
    UUIDs and decimals as strings, dicts and lists recursively; everything else unchanged."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def to_row(obj: models.Model) -> Row:
    """Every concrete field of ``obj`` under its column name (``customer_id`` for a foreign key)."""
    return {field.attname: plain(getattr(obj, field.attname)) for field in obj._meta.concrete_fields}


@dataclasses.dataclass(frozen=True)
class Registration:
    """How one model's personal data is found, copied and erased.

    ``rows(customer)`` is the queryset of rows about the person; ``exporter(customer)`` returns them as
    dicts (every field value, see :func:`to_row`); ``eraser(customer)`` deletes or anonymises them and
    returns the number of rows of *this* model changed. ``category`` is (German, English): what the
    rows hold, for the Art. 15(1)(b) "categories of personal data".
    """

    model: type[models.Model]
    category: tuple[str, str]
    rows: Callable[[Customer], QuerySet[Any]]
    exporter: Callable[[Customer], list[Row]]
    eraser: Callable[[Customer], int]

    @property
    def label(self) -> str:
        """The model label in lower case, e.g. "messaging.outboundmessage"."""
        return self.model._meta.label_lower


def _registration(
    model: type[models.Model],
    category: tuple[str, str],
    rows: Callable[[Customer], QuerySet[Any]],
    eraser: Callable[[Customer], int] | None = None,
) -> Registration:
    """A registration whose exporter copies ``rows`` and whose eraser (default) deletes them."""

    def export(customer: Customer) -> list[Row]:
        return [to_row(obj) for obj in rows(customer).order_by("pk")]

    def delete(customer: Customer) -> int:
        _, per_model = rows(customer).delete()
        return per_model.get(model._meta.label, 0)

    return Registration(model, category, rows, export, eraser or delete)


# --- unassigned calendar entries that name the person -------------------------------------------------


def full_name_pattern(customer: Customer) -> re.Pattern[str] | None:
    """A pattern for the person's full name inside a normalised (``matching.norm``) text, as a whole
    phrase: "given family", "family, given" or "family given". None when given or family name is
    missing — a family name alone would also match other people's entries."""
    given, family = norm(customer.given_name), norm(customer.family_name)
    if not given or not family:
        return None
    forms = (f"{given} {family}", f"{family}, {given}", f"{family} {given}")
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(f) for f in forms) + r")(?!\w)")


def unassigned_appointment_ids(customer: Customer) -> list[int]:
    """Ids of appointments without a person (imports list them for staff as unmatched) whose title
    contains the person's full name exactly, after Unicode NFC normalisation and case folding
    (``matching.norm``). Reads the titles of all appointments without a person once."""
    pattern = full_name_pattern(customer)
    if pattern is None:
        return []
    unassigned = Appointment.objects.filter(customer__isnull=True)
    return [pk for pk, summary in unassigned.values_list("pk", "summary") if pattern.search(norm(summary))]


def _appointments(customer: Customer) -> QuerySet[Any]:
    return Appointment.objects.filter(Q(customer=customer) | Q(pk__in=unassigned_appointment_ids(customer)))


def _unmatched(customer: Customer) -> QuerySet[Any]:
    return UnmatchedEvent.objects.filter(appointment__in=_appointments(customer))


# --- Django admin's log: object_repr and change_message can hold names ---------------------------------


def _logged_objects(customer: Customer) -> Q:
    """Admin-log entries about any registered row of the person (by content type and object id)."""
    query = Q(pk__in=[])
    for label, registration in REGISTRY.items():
        if label == "admin.logentry":
            continue
        ids = [str(pk) for pk in registration.rows(customer).values_list("pk", flat=True)]
        if ids:
            content_type = ContentType.objects.get_for_model(registration.model)
            query |= Q(content_type=content_type, object_id__in=ids)
    return query


def _log_entries(customer: Customer) -> QuerySet[Any]:
    return LogEntry.objects.filter(_logged_objects(customer))


def _anonymise_log_entries(customer: Customer) -> int:
    """Blank what the entry said about the object; who did what when stays (GDPR Art. 5(2))."""
    return _log_entries(customer).update(object_repr=ERASED_MARK, change_message="")


# --- the registry -------------------------------------------------------------------------------------


def _model(label: str) -> type[models.Model]:
    return apps.get_model(label)


def _by_customer(label: str) -> Callable[[Customer], QuerySet[Any]]:
    def rows(customer: Customer) -> QuerySet[Any]:
        return _model(label)._default_manager.filter(customer=customer)

    return rows


def _by_message(label: str, path: str) -> Callable[[Customer], QuerySet[Any]]:
    def rows(customer: Customer) -> QuerySet[Any]:
        return _model(label)._default_manager.filter(**{f"{path}__customer": customer})

    return rows


def _replies(customer: Customer) -> QuerySet[Any]:
    """The person's SMS replies: matched to them, their appointments or messages, and replies from
    their mobile number that matched no one."""
    mine = Q(customer=customer) | Q(appointment__customer=customer) | Q(message__customer=customer)
    if customer.mobile_e164:
        mine |= Q(customer__isnull=True, from_e164=customer.mobile_e164)
    return _model("messaging.inboundmessage")._default_manager.filter(mine)


def _build() -> dict[str, Registration]:
    entries = [
        _registration(
            LogEntry,
            (
                "Verwaltungsprotokoll (Name des Eintrags, Änderungstext)",
                "admin log (entry name, change text)",
            ),
            _log_entries,
            _anonymise_log_entries,
        ),
        _registration(
            UnmatchedEvent,
            (
                "Termine ohne zugeordneten Kunden, deren Titel Ihren Namen nennt",
                "unassigned entries naming you",
            ),
            _unmatched,
        ),
        _registration(
            _model("messaging.statusevent"),
            ("Verlauf jeder Nachricht (Zeitpunkte, Status, Notizen)", "history of each message"),
            _by_message("messaging.statusevent", "message"),
        ),
        _registration(
            _model("messaging.deliveryreport"),
            ("Zustellberichte der Anbieter (Rohdaten)", "providers' delivery reports (raw data)"),
            _by_message("messaging.deliveryreport", "attempt__message"),
        ),
        _registration(
            _model("messaging.attemptpart"),
            (
                "SMS-Teile eines Versuchs (IDs und Status beim Anbieter)",
                "SMS parts of an attempt (provider ids, status)",
            ),
            _by_message("messaging.attemptpart", "attempt__message"),
        ),
        _registration(
            _model("messaging.deliveryattempt"),
            ("Zustellversuche (Anbieter, Zeit, Ergebnis)", "delivery attempts (provider, time, outcome)"),
            _by_message("messaging.deliveryattempt", "message"),
        ),
        _registration(
            _model("messaging.inboundmessage"),
            (
                "Ihre SMS-Antworten (Absendernummer, Text, Rohdaten, Ergebnis, Quittung)",
                "your SMS replies (sender number, text, raw data, outcome, acknowledgement)",
            ),
            _replies,
        ),
        _registration(
            _model("messaging.outboundmessage"),
            ("Nachrichten (Empfänger, Betreff, Text, Status)", "messages (recipient, subject, text, status)"),
            _by_customer("messaging.outboundmessage"),
        ),
        _registration(
            _model("privacy.consent"),
            ("Einwilligungen und Widerrufe", "consents and withdrawals"),
            _by_customer("privacy.consent"),
        ),
        _registration(
            _model("privacy.statisticsobjection"),
            ("Widerspruch gegen Statistik", "objection to statistics"),
            _by_customer("privacy.statisticsobjection"),
        ),
        _registration(
            _model("privacy.privacyrequest"),
            ("Ihre Anträge (z. B. Berichtigung)", "your requests (e.g. rectification)"),
            _by_customer("privacy.privacyrequest"),
        ),
        _registration(
            Appointment,
            ("Termine (Zeit, Titel, Quelle)", "appointments (time, title, source)"),
            _appointments,
        ),
        _registration(
            Customer,
            (
                "Stammdaten (Name, Mobilnummer, E-Mail, Sprache, Notizen)",
                "master data (name, mobile, e-mail)",
            ),
            lambda customer: Customer.objects.filter(pk=customer.pk),
        ),
    ]
    return {entry.label: entry for entry in entries}


#: Model label → Registration, in erasure order (children first, the customer last).
REGISTRY: dict[str, Registration] = _build()

#: Models with name-, phone- or address-like fields that hold no data about a customer: label → why.
NOT_PERSONAL: dict[str, str] = {
    "appointments.location": "the practice's own name, time zone and telephone number",
    "appointments.appointmenttype": "the name of a kind of appointment",
    "appointments.reminderrule": "a rule's name and templates; the texts rendered per person are messages",
    "appointments.calendarsubscription": "the practice's calendar feed: its name, URL and sync state",
    "auth.user": "staff accounts (employees), not persons who receive reminders",
    "auth.group": "names of staff roles",
    "auth.permission": "names of permissions",
    "licensing.licence": "the licensee's (the practice's) registration name and licence number",
    "support.backuprun": "a daily backup's file name, instant and size; the backup itself is encrypted and "
    "rotates within weeks, so erasure reaches it (README, Backups)",
    "credentials.storedsecret": "the practice's gateway credentials (setting name, ciphertext, last 4 "
    "characters)",
    "otp_totp.totpdevice": "staff members' second-factor devices (employees, like auth.user)",
    "axes.accessattempt": "failed staff sign-ins (employee user name, IP address) kept for throttling",
    "axes.accessattemptexpiration": "when a failed staff sign-in stops counting",
    "axes.accessfailurelog": "failed staff sign-ins (employee user name, IP address) kept for throttling",
    "axes.accesslog": "staff sign-ins (employee user name, IP address)",
    "django_tasks_database.dbtaskresult": "background jobs; their arguments and results are ids and counts "
    "only",
    "web.importrecord": "the history of applied imports: staff member, instant, the uploaded file's name, "
    "counts and rejected rows as line number and field only; the reasons and entry titles stay in the "
    "import's job folder and are deleted with it 6 hours after the upload",
}
