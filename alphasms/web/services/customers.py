"""What the customer pages show and change: search, one person's contact data, consent per channel,
message history and appointments; contact edits, opt-ins and withdrawals.

Changes go through the domain services — ``privacy.services.record_opt_in`` and ``withdraw`` (which
cancels the person's pending messages on that channel in the same transaction) — and each writes an
audit entry with ids only (GDPR Art. 5(2)). A person whose processing is restricted (GDPR Art. 18,
``privacy.subject_rights.restrict``) keeps their data, but staff cannot change it or record new
consent (``CustomerRestricted``); withdrawing consent stays possible, since it only stops processing.

Lists are bounded: a search returns at most ``limit`` ids; the list pages are capped at ``MAX_PAGES``
(refine the search beyond); the history shows the newest ``HISTORY_LIMIT`` messages with the total.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet

from alphasms.appointments.folding import SEPARATOR, fold, fold_umlauts, search_words
from alphasms.appointments.models import Appointment, Channel, Customer, Location
from alphasms.messaging.models import PENDING, OutboundMessage
from alphasms.messaging.phone import to_e164
from alphasms.privacy.audit import audit
from alphasms.privacy.models import AuditAction, Consent, ConsentSource
from alphasms.privacy.services import record_opt_in, withdraw

PAGE_SIZE = 50
MAX_PAGES = 20
HISTORY_LIMIT = 50
APPOINTMENT_LIMIT = 20
CHANNELS = (Channel.SMS.value, Channel.EMAIL.value)
#: Consent sources staff may record by hand (import, reply and sample are recorded by their own paths).
STAFF_SOURCES = (ConsentSource.FORM, ConsentSource.PHONE, ConsentSource.BOOKING)
WITHDRAW_SOURCE = "staff"
CONTACT_FIELDS = (
    "customer_number",
    "given_name",
    "family_name",
    "mobile_raw",
    "mobile_e164",
    "mobile_sms_ok",
    "mobile_flags",
    "email",
    "language",
    "country",
    "notes",
)


class CustomerRestricted(Exception):
    """Processing of this person is restricted (GDPR Art. 18): no change, no new consent."""


def _looks_like_number(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    return digits >= 4 and all(c.isdigit() or c in "+ -/()." for c in text)


def search_condition(text: str) -> Q:
    """The condition for customers matching ``text``: a phone number (as typed, any format: its E.164
    form on the indexed ``mobile_e164``, else the digits), a customer number (exact, indexed), or
    words that each occur in the name or e-mail address. Words are compared on ``Customer.search_key``
    (``appointments.folding``): case, accents and the umlaut spelling do not matter ("ÖZTÜRK",
    "ozturk", "Oeztuerk"; "gross" for "Groß") on SQLite and PostgreSQL alike; on PostgreSQL the key has
    a trigram index."""
    text = text.strip()
    if not text:
        return Q()
    if _looks_like_number(text):
        digits = "".join(c for c in text if c.isdigit())
        e164 = to_e164(text, default_country=default_country()).e164
        condition = Q(customer_number=text) | Q(mobile_e164__contains=digits.lstrip("0"))
        return condition | Q(mobile_e164=e164) if e164 else condition
    words = search_words(text)
    if not words:
        return Q(customer_number=text)
    matching = Q()
    for word in words:
        matching &= Q(search_key__contains=word)
    return Q(customer_number=text) | matching


def matching_customer_ids(text: str, limit: int) -> list[int]:
    """Ids of at most ``limit`` customers matching ``text`` (``search_condition``)."""
    return list(Customer.objects.filter(search_condition(text)).values_list("pk", flat=True)[:limit])


def default_country() -> str:
    """The country national numbers are read with: the first location's, else "DE"."""
    return Location.objects.order_by("pk").values_list("country", flat=True).first() or "DE"


@dataclass(frozen=True)
class CustomerPage:
    """One page of the customer list (``number`` from 1); ``has_next`` False on the last page or at
    ``MAX_PAGES`` (``capped`` then says a narrower search is needed)."""

    customers: list[Customer]
    number: int
    has_next: bool
    capped: bool


def customer_page(text: str, number: int) -> CustomerPage:
    """Customers matching ``text`` (all when empty) by family name, given name, id; page ``number``."""
    number = min(max(number, 1), MAX_PAGES)
    query = Customer.objects.filter(search_condition(text)).order_by("family_name", "given_name", "pk")
    offset = (number - 1) * PAGE_SIZE
    found = list(query[offset : offset + PAGE_SIZE + 1])
    more = len(found) > PAGE_SIZE
    return CustomerPage(found[:PAGE_SIZE], number, more and number < MAX_PAGES, more and number >= MAX_PAGES)


@dataclass(frozen=True)
class ChannelConsent:
    """A channel's consent: the active opt-in (None = no consent) and every earlier row, newest first."""

    channel: str
    active: Consent | None
    history: list[Consent]


@dataclass(frozen=True)
class CustomerDetail:
    """Everything on a customer's page."""

    customer: Customer
    consents: list[ChannelConsent]
    messages: list[OutboundMessage]
    message_total: int
    upcoming: list[Appointment]
    past: list[Appointment]

    @property
    def restricted(self) -> bool:
        """True when processing is restricted (GDPR Art. 18)."""
        return self.customer.restricted_at is not None


def consents_of(customer: Customer) -> list[ChannelConsent]:
    """Per channel (SMS, e-mail) the active opt-in and the ledger's rows, newest first."""
    rows = list(Consent.objects.filter(customer=customer).order_by("-opted_in_at", "-pk"))
    result = []
    for channel in CHANNELS:
        mine = [row for row in rows if row.channel == channel]
        active = next((row for row in mine if row.opted_out_at is None), None)
        result.append(ChannelConsent(channel, active, mine))
    return result


def detail(customer: Customer, now: dt.datetime) -> CustomerDetail:
    """The customer page's data as of ``now`` (aware UTC). Six queries, none per row."""
    messages: QuerySet[OutboundMessage] = OutboundMessage.objects.filter(customer=customer)
    shown = list(
        messages.select_related("appointment__location", "rule").order_by("-due_at", "-pk")[:HISTORY_LIMIT]
    )
    total = len(shown) if len(shown) < HISTORY_LIMIT else messages.count()
    appointments = Appointment.objects.filter(customer=customer).select_related("location")
    return CustomerDetail(
        customer=customer,
        consents=consents_of(customer),
        messages=shown,
        message_total=total,
        upcoming=list(appointments.filter(start_at__gte=now).order_by("start_at", "pk")[:APPOINTMENT_LIMIT]),
        past=list(appointments.filter(start_at__lt=now).order_by("-start_at", "-pk")[:APPOINTMENT_LIMIT]),
    )


@dataclass(frozen=True)
class Contact:
    """Cleaned contact data from the edit form; ``mobile_raw`` as typed, ``mobile_e164`` normalised by
    ``messaging.phone.to_e164`` ("" without a number), ``mobile_flags`` its reason slugs."""

    customer_number: str
    given_name: str
    family_name: str
    mobile_raw: str
    mobile_e164: str
    mobile_sms_ok: bool
    mobile_flags: list[str]
    email: str
    language: str
    country: str
    notes: str


def update_contact(customer: Customer, contact: Contact, actor: str) -> list[str]:
    """Store ``contact`` on ``customer`` (GDPR Art. 16 rectification). Returns the names of the fields
    that changed. Raises ``CustomerRestricted`` for a restricted person (re-read under a row lock).
    Pending messages keep their old address until the worker sends them: it takes the current one
    then (``dispatch``). Side effects: the customer row, an audit entry (field names only)."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.restricted_at is not None:
            raise CustomerRestricted(customer.pk)
        changed = [name for name in CONTACT_FIELDS if getattr(locked, name) != getattr(contact, name)]
        if not changed:
            return []
        for name in CONTACT_FIELDS:
            setattr(customer, name, getattr(contact, name))
        customer.save(update_fields=[*changed, "updated_at"])
        audit(actor, AuditAction.CHANGE, "customer", customer.pk, f"changed {','.join(changed)}"[:500])
    return changed


@dataclass(frozen=True)
class Duplicate:
    """An existing customer who may be the person being entered, and why: any of "mobile",
    "email", "name" (the same name, however it is capitalised, accented or its umlauts spelt)."""

    customer: Customer
    reasons: tuple[str, ...]


def _same_name(customer: Customer, given_name: str, family_name: str) -> bool:
    """The same given and family name, ignoring case and accents, umlauts written either way."""
    mine, theirs = f"{given_name} {family_name}", f"{customer.given_name} {customer.family_name}"
    return fold(mine) == fold(theirs) or fold_umlauts(mine) == fold_umlauts(theirs)


def find_duplicates(contact: Contact, limit: int = 10) -> list[Duplicate]:
    """Customers who may already be the person in ``contact``: the same E.164 mobile number, the same
    e-mail address (case-insensitive, via the folded ``search_key``) or the same given and family name
    (``_same_name``: "AYSE Oeztuerk" is "Ayşe Öztürk"); at most ``limit``, by name. Two queries."""
    condition = Q(pk__in=[])
    if contact.mobile_e164:
        condition |= Q(mobile_e164=contact.mobile_e164)
    email = fold(contact.email)
    if email:
        condition |= Q(search_key__endswith=f"{SEPARATOR}{email}")
    found = {c.pk: c for c in Customer.objects.filter(condition)[: limit * 2]}
    words = search_words(f"{contact.given_name} {contact.family_name}")
    if contact.family_name.strip() and words:
        named = Customer.objects.filter(search_key__contains=words[0])
        for word in words[1:]:
            named = named.filter(search_key__contains=word)
        for customer in named[: limit * 5]:
            if _same_name(customer, contact.given_name, contact.family_name):
                found.setdefault(customer.pk, customer)
    result = []
    for customer in sorted(found.values(), key=lambda c: (c.family_name, c.given_name, c.pk))[:limit]:
        reasons = []
        if contact.mobile_e164 and customer.mobile_e164 == contact.mobile_e164:
            reasons.append("mobile")
        if email and customer.search_key.endswith(f"{SEPARATOR}{email}"):
            reasons.append("email")
        if contact.family_name.strip() and _same_name(customer, contact.given_name, contact.family_name):
            reasons.append("name")
        result.append(Duplicate(customer, tuple(reasons)))
    return result


def create_customer(
    contact: Contact,
    actor: str,
    *,
    consent_channels: list[str] = (),  # type: ignore[assignment]
    consent_source: ConsentSource = ConsentSource.FORM,
    consent_wording: str = "",
) -> Customer:
    """Create a customer from ``contact`` (typed at the desk) and record an opt-in for each of
    ``consent_channels`` with its source and wording (``privacy.services.record_opt_in``; GDPR
    Art. 7(1)), in one transaction. Raises ``ValueError`` for an unknown channel (nothing created).
    Side effects: the customer row, Consent rows, audit entries (ids only)."""
    unknown = set(consent_channels) - set(CHANNELS)
    if unknown:
        raise ValueError(f"unknown channel {sorted(unknown)!r}")
    with transaction.atomic():
        customer = Customer(**{name: getattr(contact, name) for name in CONTACT_FIELDS})
        customer.save()
        audit(actor, AuditAction.CHANGE, "customer", customer.pk, "created")
        for channel in consent_channels:
            record_consent(customer, channel, consent_source, consent_wording, actor)
    return customer


def record_consent(
    customer: Customer, channel: str, source: ConsentSource, wording_version: str, actor: str
) -> Consent:
    """Record an opt-in for ``channel`` with its ``source`` and the version of the wording the person
    agreed to (GDPR Art. 7(1): the controller must be able to prove consent), by ``actor``. An active
    opt-in is returned unchanged. Raises ``CustomerRestricted``; ``ValueError`` for an unknown channel.
    Side effects: a Consent row (``privacy.services.record_opt_in``), an audit entry."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    with transaction.atomic():
        if Customer.objects.select_for_update().get(pk=customer.pk).restricted_at is not None:
            raise CustomerRestricted(customer.pk)
        consent = record_opt_in(
            customer, channel, source=source, wording_version=wording_version, recorded_by=actor
        )
        audit(actor, AuditAction.CONSENT, "customer", customer.pk, f"channel={channel} consent={consent.pk}")
    return consent


def has_active_consent(customer: Customer, channel: str) -> bool:
    """True when ``customer`` has an opt-in for ``channel`` that was not withdrawn."""
    return Consent.objects.filter(customer=customer, channel=channel, opted_out_at__isnull=True).exists()


def pending_on_channel(customer: Customer, channel: str) -> int:
    """How many messages to ``customer`` on ``channel`` are still pending (a withdrawal cancels them)."""
    return OutboundMessage.objects.filter(customer=customer, channel=channel, status__in=PENDING).count()


def withdraw_consent(customer: Customer, channel: str, actor: str) -> int:
    """Withdraw ``channel`` consent now (GDPR Art. 7(3)); the person's pending messages on it are
    cancelled in the same transaction (``privacy.services.withdraw``). Returns their count. Raises
    ``ValueError`` for an unknown channel. Side effects: Consent rows, messages, an audit entry."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    with transaction.atomic():
        cancelled = withdraw(customer, channel, source=WITHDRAW_SOURCE)
        audit(
            actor, AuditAction.WITHDRAW, "customer", customer.pk, f"channel={channel} cancelled={cancelled}"
        )
    return cancelled
