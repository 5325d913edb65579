"""A stateful property test of consent, restriction and erasure against imports, planning and sending.

Hypothesis drives four people through random sequences of: CSV imports (creating and updating customers
and appointments, with or without the practice's consent, re-importing people who were erased), calendar
imports (entries move, pass from one person to another, drop out), opt-ins and withdrawals per channel,
restriction and its lifting (GDPR Art. 18), erasure (Art. 17), planning, gateway trouble, and time
passing (time-machine) with dispatch runs. Next to the product the machine keeps its own *model* of each
person (in the system or not, consent per channel, restricted), updated only from the steps it took,
never from the tables.

Checked at every send, on the provider's side (``FakeGateway.outbox`` and the e-mail recorder), and at
every provider call (each DeliveryAttempt): the address belongs to a person the model allows to get that
channel at that instant — in the system, not restricted, consenting — and the message is that person's.
Checked after every step: every send was checked; no message was sent twice unless flagged
``possible_duplicate``; erased people leave no rows (Customer, Consent, Appointment, OutboundMessage);
a number or address is stored only with the customer who is that person now; nothing is pending that
may not go out; consent and restriction as stored agree with the model; an erased person imported again
is a new customer who needs new consent.

Each example runs in a savepoint of the Django test transaction, rolled back afterwards, so every example
starts from an empty database. (Hypothesis' Django ``TestCase`` resets only between examples of ``@given``
test methods; bound to ``PrivacyMachine.TestCase`` it lets rows leak from one example into the next.)
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import time_machine
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.test import TestCase, override_settings
from hypothesis import HealthCheck, currently_in_test_context, event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from alphasms.appointments.models import Appointment, Channel, Customer, Location
from alphasms.appointments.services.csv_import import import_csv
from alphasms.appointments.services.ics_import import import_ics
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.errors import GatewayError, GatewayUnavailable, OutcomeUnknown
from alphasms.messaging.gateways.fake.gateway import FakeGateway
from alphasms.messaging.models import (
    PENDING,
    AttemptOutcome,
    DeliveryAttempt,
    MessageStatus,
    OutboundMessage,
)
from alphasms.messaging.services.dispatch import Dispatcher
from alphasms.privacy.models import Consent, ConsentSource
from alphasms.privacy.services import record_opt_in, withdraw
from alphasms.privacy.subject_rights import ErasureDeferred, RestrictionBasis, erase, restrict, unrestrict
from tests.conftest import make_rule

UTC = dt.UTC
# Monday 08:00 in Berlin; no daylight saving change for months, so every local time in a file exists.
START = dt.datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
SMS, EMAIL = "sms", "email"
CHANNELS = (SMS, EMAIL)

MACHINE_SETTINGS = hypothesis_settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def note(name: str) -> None:
    """Count an event for Hypothesis' statistics (a no-op when a test drives the machine by hand)."""
    if currently_in_test_context():
        event(name)


@dataclass(frozen=True)
class Person:
    """Who someone is in the files: number ("" = found by name), names, mobile as typed, e-mail."""

    key: str
    number: str
    given: str
    family: str
    mobile: str
    e164: str  # the model's own expectation of the number an SMS goes to
    email: str


PEOPLE = {
    p.key: p
    for p in (
        Person("anna", "1001", "Anna", "Weiß", "0171 2345678", "+491712345678", "anna@example.org"),
        Person("ben", "1002", "Ben", "Groß", "0160 3456789", "+491603456789", "ben@example.net"),
        Person("cem", "", "Cem", "Öztürk", "0151 45678901", "+4915145678901", "cem@example.com"),
        Person("dora", "1004", "Dora", "Klein", "0170 5678901", "+491705678901", ""),  # SMS only
    )
}
KEYS = tuple(PEOPLE)
BY_ADDRESS = {
    SMS: {p.e164: p.key for p in PEOPLE.values()},
    EMAIL: {p.email: p.key for p in PEOPLE.values() if p.email},
}

# A file row: who, and an appointment that many hours ahead (None: a row without appointment).
ROWS = st.lists(
    st.tuples(st.sampled_from(KEYS), st.none() | st.integers(min_value=1, max_value=72)),
    min_size=1,
    max_size=5,
)
CONSENT_CHANNELS = st.sampled_from([(), (SMS,), (EMAIL,), (SMS, EMAIL)])
# A calendar entry: UID, whose name its title is, hours ahead. Between imports an entry may move and
# pass from one person to another (its title edited), or drop out of the file (cancelled).
CALENDAR_ENTRIES = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(KEYS), st.integers(min_value=1, max_value=72)).map(
        lambda e: (f"entry-{e[0]}", e[1], e[2])
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda e: e[0],
)
GATEWAY_TROUBLE = st.sampled_from(["unavailable", "outcome_unknown"])
# Fewer than the circuit breaker's threshold (5 failures in a row): an open breaker waits on the real
# monotonic clock, which time-machine does not move, and would make examples irreproducible.
GATEWAY_ERRORS_MAX = 4


@dataclass
class Expected:
    """The model of one person. ``customer_id`` is only the handle of the row that is this person now
    (None: not in the system — never imported, or erased); the rest follows from the steps alone."""

    customer_id: int | None = None
    consent: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(CHANNELS, False))
    # Any consent row for the channel, withdrawn ones included: an import records one only without.
    ledger: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(CHANNELS, False))
    restricted: bool = False
    erased_before: bool = False

    def may_receive(self, channel: str) -> bool:
        return self.customer_id is not None and not self.restricted and self.consent[channel]

    def describe(self) -> str:
        if self.customer_id is None:
            return "not in the system" + (" (erased)" if self.erased_before else "")
        consents = ", ".join(c for c in CHANNELS if self.consent[c]) or "none"
        return f"customer #{self.customer_id}, consent: {consents}, restricted: {self.restricted}"


def csv_file(rows: Iterable[tuple[str, int | None]], now: dt.datetime, location: Location) -> bytes:
    lines = ["Kundennummer;Nachname;Vorname;Mobil;E-Mail;Datum;Uhrzeit"]
    for key, hours in rows:
        p = PEOPLE[key]
        day = clock = ""
        if hours is not None:
            local = (now + dt.timedelta(hours=hours)).astimezone(location.tz)
            day, clock = f"{local:%d.%m.%Y}", f"{local:%H:%M}"
        lines.append(";".join([p.number, p.family, p.given, p.mobile, p.email, day, clock]))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def ics_file(entries: Iterable[tuple[str, str, dt.datetime]]) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//AlphaSMS tests//state machine//EN"]
    for uid, key, start in entries:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}@statemachine.test",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{start + dt.timedelta(minutes=30):%Y%m%dT%H%M%SZ}",
            f"SUMMARY:{PEOPLE[key].given} {PEOPLE[key].family}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


class PrivacyMachine(RuleBasedStateMachine):
    """Product and model side by side; see the module docstring for what is checked."""

    def __init__(self) -> None:
        super().__init__()
        self._example = transaction.atomic()  # a savepoint, rolled back in teardown()
        self._example.__enter__()
        self._travel = time_machine.travel(START, tick=False)
        self._clock = self._travel.start()
        FakeGateway.reset()
        assert not Customer.objects.exists(), "an example must start from an empty database"
        self.now = START
        self.location = Location.objects.create(name="Praxis Sonnenhof", phone="+49 30 1234567")
        make_rule(Channel.SMS, offset_s=48 * 3600)  # sending window 08:00-20:00 local
        make_rule(Channel.SMS, offset_s=2 * 3600, window_start=dt.time(0, 0), window_end=dt.time(23, 59))
        make_rule(Channel.EMAIL, offset_s=48 * 3600)
        self.dispatcher = Dispatcher("statemachine:1", send_email=self._record_email)
        self.people = {key: Expected() for key in KEYS}
        self.customer_ids_seen: set[int] = set()  # every customer id the system ever gave one of them
        self.erased_ids: set[int] = set()
        self.emails: list[tuple[str, str]] = []  # (address, attempt reference), as the recorder got them
        self.sms_checked = 0  # FakeGateway.outbox entries already checked against the model
        self.sends: Counter[int] = Counter()  # message id -> sends seen
        self.references: set[str] = set()
        self.attempts_checked: set[str] = set()
        self.gateway_errors = 0
        self.calendar_titles: dict[str, str] = {}  # UID -> whose name its title was last

    def teardown(self) -> None:
        try:
            FakeGateway.reset()
            self._travel.stop()
        finally:
            transaction.set_rollback(True)
            self._example.__exit__(None, None, None)

    # -- helpers ------------------------------------------------------------------------------------
    def _present(self) -> list[str]:
        return [key for key in KEYS if self.people[key].customer_id is not None]

    def _by_customer_id(self) -> dict[int, str]:
        return {pk: key for key, who in self.people.items() if (pk := who.customer_id) is not None}

    def _customer(self, key: str) -> Customer:
        customer_id = self.people[key].customer_id
        assert customer_id is not None
        return Customer.objects.get(pk=customer_id)

    def _check_allowed(self, channel: str, address: str, customer_id: int, what: str) -> str:
        """Fail unless the model lets the person at ``address`` get ``channel`` now, and the message is
        that person's own. Returns the person's key."""
        key = BY_ADDRESS[channel].get(address)
        assert key is not None, f"{what}: {channel} to {address!r}, which is nobody's address"
        who = self.people[key]
        assert who.may_receive(channel), (
            f"{what}: {channel} to {key} at {self.now:%Y-%m-%d %H:%M}Z, but the model says "
            f"{key} is {who.describe()} — no {channel} may reach them now"
        )
        assert customer_id == who.customer_id, (
            f"{what}: {channel} to {key} (customer #{who.customer_id}) carries the reminder of "
            f"customer #{customer_id}"
        )
        return key

    def _check_send(self, channel: str, address: str, reference: str, message: OutboundMessage) -> None:
        key = self._check_allowed(channel, address, message.customer_id, "send")
        assert reference not in self.references, f"attempt reference {reference} used for two sends"
        self.references.add(reference)
        self.sends[message.pk] += 1
        assert self.sends[message.pk] == 1 or message.possible_duplicate, (
            f"message #{message.pk} ({channel} to {key}) sent {self.sends[message.pk]} times, "
            "not flagged possible_duplicate"
        )
        note(f"sent {channel}")
        if self.people[key].erased_before:
            note(f"sent {channel} to a person imported again after erasure")

    def _record_email(self, message: OutboundMessage, reference: str) -> str:
        """The e-mail channel of the Dispatcher: checked against the model at the instant of sending."""
        self._check_send(EMAIL, message.recipient, reference, message)
        self.emails.append((message.recipient, reference))
        return f"<{reference}@statemachine.test>"

    def _dispatch(self) -> None:
        self.dispatcher.run_once()
        # Every provider call (also those that failed or whose outcome is unknown) went to someone
        # the model allowed at this instant.
        calls = DeliveryAttempt.objects.exclude(pk__in=self.attempts_checked).select_related("message")
        for attempt in calls:
            message = attempt.message
            self._check_allowed(message.channel, message.recipient, message.customer_id, "provider call")
            self.attempts_checked.add(str(attempt.pk))
        # Every SMS the gateway took.
        for sms in FakeGateway.outbox[self.sms_checked :]:
            message = DeliveryAttempt.objects.select_related("message").get(pk=sms.reference).message
            assert message.channel == SMS and message.recipient == sms.to_e164
            self._check_send(SMS, sms.to_e164, sms.reference, message)
            self.sms_checked += 1

    # -- imports ------------------------------------------------------------------------------------
    @initialize(rows=ROWS, consent=CONSENT_CHANNELS)
    def first_import(self, rows: list[tuple[str, int | None]], consent: tuple[str, ...]) -> None:
        self.import_customers_csv(rows, consent)

    @rule(rows=ROWS, consent=CONSENT_CHANNELS)
    def import_customers_csv(self, rows: list[tuple[str, int | None]], consent: tuple[str, ...]) -> None:
        report = import_csv(
            csv_file(rows, self.now, self.location),
            self.location,
            "kunden.csv",
            consent_channels=consent,
            consent_wording="2026-05",
        )
        assert report.rejected == [], report.rejected
        # The model: the first row naming a person creates them, or records the practice's consent
        # for a channel they never had one for (a withdrawal stands); a restricted person is untouched.
        named: list[str] = []
        created: set[str] = set()
        for key, _ in rows:
            if key in named:
                continue
            named.append(key)
            who = self.people[key]
            if who.customer_id is None:
                created.add(key)
                if who.erased_before:
                    note("an erased person imported again")
                self.people[key] = who = Expected(erased_before=who.erased_before)
            elif who.restricted:
                continue
            for channel in consent:
                if not who.ledger[channel]:
                    who.consent[channel] = who.ledger[channel] = True
        for key in named:
            ids = list(Customer.objects.filter(mobile_e164=PEOPLE[key].e164).values_list("pk", flat=True))
            assert len(ids) == 1, f"{key} is stored {len(ids)} times: {ids}"
            who = self.people[key]
            if key in created:
                assert ids[0] not in self.customer_ids_seen, (
                    f"{key}, imported again after erasure, got back customer #{ids[0]}"
                )
                who.customer_id = ids[0]
                self.customer_ids_seen.add(ids[0])
            else:
                assert ids[0] == who.customer_id, f"{key} became customer #{ids[0]}, was #{who.customer_id}"

    @rule(entries=CALENDAR_ENTRIES)
    def import_calendar(self, entries: list[tuple[str, str, int]]) -> None:
        """Appointments whose titles name people (assigned when the person is in the system); entries
        missing from a later import are cancelled. Changes nothing in the model."""
        events = []
        for uid, key, hours in entries:
            start = self.now + dt.timedelta(hours=hours)
            if self.calendar_titles.get(uid, key) != key:
                note("a calendar entry changed hands")
            self.calendar_titles[uid] = key
            events.append((uid, key, start))
        import_ics(ics_file(events), self.location, "praxis.ics")

    # -- consent, restriction, erasure ----------------------------------------------------------------
    @precondition(lambda self: bool(self._present()))
    @rule(data=st.data(), channel=st.sampled_from(CHANNELS), given=st.booleans())
    def change_consent(self, data: st.DataObject, channel: str, given: bool) -> None:
        """Staff record an opt-in (form), or the person withdraws (STOP)."""
        self.set_consent(data.draw(st.sampled_from(self._present()), label="person"), channel, given)

    def set_consent(self, key: str, channel: str, given: bool) -> None:
        who = self.people[key]
        if given:
            record_opt_in(
                self._customer(key),
                channel,
                source=ConsentSource.FORM,
                wording_version="2026-05",
                recorded_by="staff:1",
            )
            who.consent[channel] = who.ledger[channel] = True
        else:
            withdraw(self._customer(key), channel, source="stop")
            who.consent[channel] = False

    @precondition(lambda self: bool(self._present()))
    @rule(data=st.data(), restricted=st.booleans(), basis=st.sampled_from(list(RestrictionBasis)))
    def change_restriction(self, data: st.DataObject, restricted: bool, basis: RestrictionBasis) -> None:
        """Restrict processing (Art. 18(1), on ``basis``) or lift it (a no-op when not restricted)."""
        self.set_restricted(data.draw(st.sampled_from(self._present()), label="person"), restricted, basis)

    def set_restricted(
        self, key: str, restricted: bool, basis: RestrictionBasis = RestrictionBasis.ACCURACY
    ) -> None:
        if restricted:
            restrict(self._customer(key), "staff:1", basis)
        else:
            unrestrict(self._customer(key), "staff:1")
        self.people[key].restricted = restricted

    @precondition(lambda self: bool(self._present()))
    @rule(data=st.data())
    def erase_person(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(self._present()), label="person")
        customer_id = self.people[key].customer_id
        assert customer_id is not None
        try:
            erase(self._customer(key), "staff:1")
        except ErasureDeferred as exc:  # no step leaves a message mid-send
            raise AssertionError(f"erasure of {key} deferred although nothing is being sent: {exc}") from exc
        self.erased_ids.add(customer_id)
        self.people[key] = Expected(erased_before=True)

    # -- planning and sending -------------------------------------------------------------------------
    # Hypothesis orders rules by number of arguments, then name, and favours the first: "an_hour_passes"
    # is the most frequent step, so the clock moves and reminders fall due in most examples.
    @rule()
    def an_hour_passes(self) -> None:
        """The clock moves on an hour: a dispatch run, then planning — what this plans goes out in a
        later step, so consent, restriction or erasure can change while it is pending."""
        self._clock.shift(dt.timedelta(hours=1))
        self.now += dt.timedelta(hours=1)
        self._dispatch()
        plan()

    @rule()
    def plan_reminders(self) -> None:
        plan()

    @rule(
        minutes=st.sampled_from([10, 4 * 60, 12 * 60, 24 * 60, 2 * 24 * 60]),
        plan_first=st.booleans(),
    )
    def time_passes(self, minutes: int, plan_first: bool) -> None:
        """The clock moves on, then a dispatch run, with or without planning first."""
        self._clock.shift(dt.timedelta(minutes=minutes))
        self.now += dt.timedelta(minutes=minutes)
        if plan_first:
            plan()
        self._dispatch()

    @precondition(lambda self: self.gateway_errors < GATEWAY_ERRORS_MAX)
    @rule(trouble=GATEWAY_TROUBLE)
    def gateway_fails_next_sms(self, trouble: str) -> None:
        """The next SMS send fails: refused (retried later) or timed out after sending (outcome unknown:
        resent, flagged possible_duplicate)."""
        error: GatewayError = (
            GatewayUnavailable("refused") if trouble == "unavailable" else OutcomeUnknown("read timeout")
        )
        FakeGateway.script.append(error)
        self.gateway_errors += 1

    # -- invariants -----------------------------------------------------------------------------------
    def check_all(self) -> None:
        """Every invariant below, as Hypothesis runs them after each step (for tests driving by hand)."""
        self.every_send_was_checked()
        self.no_message_is_mid_send_between_steps()
        self.no_message_was_sent_twice()
        self.stored_consent_and_restriction_agree_with_the_model()
        self.nothing_pending_may_not_go_out()
        self.erased_people_leave_no_rows()
        self.numbers_and_addresses_belong_to_their_person()

    @invariant()
    def every_send_was_checked(self) -> None:
        """Nothing reaches the gateway outside a dispatch run (where each send is checked)."""
        assert len(FakeGateway.outbox) == self.sms_checked, FakeGateway.outbox[self.sms_checked :]
        assert len(self.emails) == len(self.references) - self.sms_checked

    @invariant()
    def no_message_is_mid_send_between_steps(self) -> None:
        assert not OutboundMessage.objects.filter(status=MessageStatus.SENDING).exists()

    @invariant()
    def no_message_was_sent_twice(self) -> None:
        twice = (
            DeliveryAttempt.objects.filter(outcome=AttemptOutcome.SENT)
            .values("message_id")
            .annotate(sends=Count("id"))
            .filter(sends__gt=1)
            .values_list("message_id", flat=True)
        )
        unflagged = OutboundMessage.objects.filter(pk__in=list(twice), possible_duplicate=False)
        assert not unflagged.exists(), list(unflagged.values_list("pk", "channel", "recipient"))

    @invariant()
    def stored_consent_and_restriction_agree_with_the_model(self) -> None:
        present = self._by_customer_id()
        restricted = dict(Customer.objects.values_list("pk", "restricted_at"))
        assert set(restricted) == set(present), f"customers {set(restricted)}, model {present}"
        active = set(Consent.objects.filter(opted_out_at__isnull=True).values_list("customer_id", "channel"))
        for customer_id, key in present.items():
            who = self.people[key]
            assert (restricted[customer_id] is not None) == who.restricted, (key, who.describe())
            stored = {channel for channel in CHANNELS if (customer_id, channel) in active}
            expected = {channel for channel in CHANNELS if who.consent[channel]}
            assert stored == expected, f"{key}: consent stored for {stored}, model: {who.describe()}"

    @invariant()
    def nothing_pending_may_not_go_out(self) -> None:
        """Withdrawal, restriction and erasure cancel at once; planning adds only what may go out."""
        present = self._by_customer_id()
        pending = OutboundMessage.objects.filter(status__in=PENDING)
        for message_id, customer_id, channel in pending.values_list("pk", "customer_id", "channel"):
            key = present.get(customer_id)
            assert key is not None and self.people[key].may_receive(channel), (
                f"message #{message_id} ({channel}) of customer #{customer_id} is pending, but the model "
                f"says {key or 'that customer'} is "
                f"{self.people[key].describe() if key else 'not in the system'}"
            )

    @invariant()
    def erased_people_leave_no_rows(self) -> None:
        if self.erased_ids:
            erased = list(self.erased_ids)
            for model in (Customer, Consent, Appointment, OutboundMessage):
                field = "pk" if model is Customer else "customer_id"
                rows = list(model._default_manager.filter(**{f"{field}__in": erased}).values_list("pk"))
                assert not rows, f"{model.__name__} rows {rows} of erased customers {erased}"

    @invariant()
    def numbers_and_addresses_belong_to_their_person(self) -> None:
        """A person's number and address are stored only with the customer who is that person now: not
        with an erased one, and no message row of one customer is addressed to another person."""
        owner = {
            (channel, address): (key, self.people[key].customer_id)
            for channel, addresses in BY_ADDRESS.items()
            for address, key in addresses.items()
        }
        for pk, e164, email in Customer.objects.values_list("pk", "mobile_e164", "email"):
            for address in ((SMS, e164), (EMAIL, email)):
                if address in owner:
                    key, current = owner[address]
                    assert pk == current, (
                        f"customer #{pk} holds {key}'s {address[0]} address, but {key} is "
                        f"{self.people[key].describe()}"
                    )
        for pk, channel, recipient, customer_id in OutboundMessage.objects.values_list(
            "pk", "channel", "recipient", "customer_id"
        ):
            if (channel, recipient) in owner:
                key, current = owner[(channel, recipient)]
                assert customer_id == current, (
                    f"message #{pk} of customer #{customer_id} is addressed to {key}, who is "
                    f"{self.people[key].describe()}"
                )


class TestPrivacyStateMachine(TestCase):
    """The machine inside one Django test (transaction); each example in its own savepoint."""

    def setUp(self) -> None:
        values: dict[str, Any] = {
            **settings.ALPHASMS,
            "SMS_GATEWAY": "fake",
            "WORKER_CONCURRENCY": 1,
            "SMS_SENDER_ID": "Praxis",
        }
        self.enterContext(override_settings(ALPHASMS=values))
        FakeGateway.reset()
        self.addCleanup(FakeGateway.reset)

    def test_nobody_is_messaged_without_consent_while_restricted_or_after_erasure(self) -> None:
        run_state_machine_as_test(PrivacyMachine, settings=MACHINE_SETTINGS)

    # Regressions the machine found (each fixed since); the same steps by hand, checked after each step.
    def test_a_calendar_entry_given_to_another_person_never_sends_them_the_first_persons_reminder(
        self,
    ) -> None:
        machine = PrivacyMachine()
        try:
            # Anna consents to SMS, Ben consents to nothing.
            machine.import_customers_csv([("anna", None)], (SMS,))
            machine.import_customers_csv([("ben", None)], ())
            # The practice's calendar: entry-1, tomorrow 14:00, is Anna's; her reminders are planned.
            machine.import_calendar([("entry-1", "anna", 30)])
            machine.plan_reminders()
            machine.check_all()
            # The same entry (same UID, same time) is given to Ben.
            machine.import_calendar([("entry-1", "ben", 30)])
            machine.check_all()
            # The next morning the worker runs. It used to send "Hallo Anna, Termin …" to Ben's mobile.
            machine.time_passes(24 * 60, plan_first=True)
            machine.check_all()
            self.assertEqual(FakeGateway.outbox, [])
        finally:
            machine.teardown()

    def test_a_planned_calendar_entry_that_moves_and_names_nobody_is_cancelled_not_crashing(self) -> None:
        machine = PrivacyMachine()
        try:
            machine.import_customers_csv([("anna", None)], (SMS,))
            machine.import_calendar([("entry-1", "anna", 30)])
            machine.plan_reminders()
            # The entry moves by an hour, and its title now names someone who is not a customer.
            machine.import_calendar([("entry-1", "ben", 31)])
            machine.plan_reminders()  # used to fail an assertion in render_with_replacements
            machine.check_all()
            self.assertFalse(OutboundMessage.objects.filter(status__in=PENDING).exists())
        finally:
            machine.teardown()

    def test_lifting_a_restriction_never_readdresses_a_message_to_another_person(self) -> None:
        machine = PrivacyMachine()
        try:
            machine.import_customers_csv([("anna", None), ("ben", None)], (SMS,))
            machine.import_calendar([("entry-1", "anna", 30)])
            machine.plan_reminders()  # Anna's reminders are pending
            machine.set_restricted("anna", True)  # ... and cancelled by her restriction
            machine.import_calendar([("entry-1", "ben", 30)])  # the entry is Ben's now
            # Lifting it used to re-plan "Hallo Ben …" to Ben's number in a message row of Anna's.
            machine.set_restricted("anna", False)
            machine.check_all()
        finally:
            machine.teardown()

    def test_an_entry_passed_to_a_consenting_person_after_a_cancellation_reminds_them(self) -> None:
        machine = PrivacyMachine()
        try:
            machine.import_customers_csv([("anna", None), ("ben", None)], (SMS,))
            machine.import_calendar([("entry-1", "anna", 30)])  # tomorrow 14:00 local
            machine.plan_reminders()
            machine.set_consent("anna", SMS, False)  # Anna's STOP cancels her reminders
            machine.import_calendar([("entry-1", "ben", 30)])  # the slot is Ben's now; he consents
            machine.time_passes(24 * 60, plan_first=True)  # both SMS rules are due by 12:00Z
            machine.time_passes(5 * 60, plan_first=True)
            machine.check_all()
            self.assertEqual({sms.to_e164 for sms in FakeGateway.outbox}, {PEOPLE["ben"].e164})
        finally:
            machine.teardown()
