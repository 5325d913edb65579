"""Retention: each rule removes exactly what is older than its period, nothing more; 0 switches a rule
off; restricted persons are kept; a dry run changes nothing; the worker purges once a day."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from alphasms.appointments.models import Appointment, Channel, Customer
from alphasms.messaging.models import (
    DeliveryAttempt,
    DeliveryReport,
    MessageStatus,
    MonthlyUsage,
    OutboundMessage,
    StatusEvent,
)
from alphasms.messaging.phone import redact
from alphasms.messaging.services.worker import Worker
from alphasms.privacy.audit import verify_chain
from alphasms.privacy.management.commands.privacy_purge import Command as PurgeCommand
from alphasms.privacy.models import (
    AuditAction,
    AuditEntry,
    LedgerKind,
    MonthlyStatistic,
    PrivacyLedger,
    RetentionRun,
)
from alphasms.privacy.retention import Rule, purge, purge_if_due
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
NOW = dt.datetime(2027, 6, 1, 10, 0, tzinfo=UTC)
SECOND = dt.timedelta(seconds=1)
MESSAGE_TEXT = dt.timedelta(days=90)
REPORTS = dt.timedelta(days=30)
APPOINTMENTS = dt.timedelta(days=180)
CUSTOMERS = dt.timedelta(days=1095)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def env(alphasms_settings, location, clock, monkeypatch):
    """Settings with the documented defaults, German CLI texts, a location and the clock at NOW."""
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "de")
    alphasms_settings.update(
        RETENTION_MESSAGE_TEXT_DAYS=90,
        RETENTION_DELIVERY_REPORTS_DAYS=30,
        RETENTION_APPOINTMENTS_DAYS=180,
        RETENTION_INACTIVE_CUSTOMERS_DAYS=1095,
    )
    return alphasms_settings


_numbers = iter(range(10_000, 99_999))


def customer(created_at: dt.datetime = NOW, **kwargs: Any) -> Customer:
    n = next(_numbers)
    person = make_customer(number=str(n), mobile=kwargs.pop("mobile", f"+4915112{n:05d}"), **kwargs)
    Customer.objects.filter(pk=person.pk).update(created_at=created_at)
    person.refresh_from_db()
    return person


def appointment(location, person: Customer | None, end_at: dt.datetime) -> Appointment:
    return make_appointment(location, person, end_at - dt.timedelta(minutes=30))


def message(
    appt: Appointment,
    due_at: dt.datetime,
    status: str = MessageStatus.SENT,
    channel: str = Channel.SMS,
    recipient: str | None = None,
) -> OutboundMessage:
    assert appt.customer is not None
    if recipient is None:
        recipient = appt.customer.mobile_e164 if channel == Channel.SMS else appt.customer.email
    return OutboundMessage.objects.create(
        appointment=appt,
        rule=make_rule(channel),
        channel=channel,
        customer=appt.customer,
        recipient=recipient,
        subject="Ihr Termin" if channel == Channel.EMAIL else "",
        body="Hallo Jörg, Termin morgen um 10:00.",
        occurrence_start_at=appt.start_at,
        due_at=due_at,
        next_attempt_at=due_at,
        status=status,
        status_changed_at=due_at,
        gateway="fake",
    )


def report(msg: OutboundMessage, received_at: dt.datetime) -> DeliveryReport:
    attempt = DeliveryAttempt.objects.create(message=msg, gateway="fake", started_at=msg.due_at)
    return DeliveryReport.objects.create(
        attempt=attempt,
        status="delivered",
        provider_status="DELIVRD",
        provider_error_code="000",
        received_at=received_at,
        raw={"to": msg.recipient, "text": msg.body},
        dedupe_key=uuid.uuid4().hex,
    )


def purge_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.PURGE).order_by("id"))


class TestMessageTexts:
    def test_it_blanks_texts_older_than_the_period_and_keeps_the_log(self, env, location):
        person = customer()
        appt = appointment(location, person, NOW + dt.timedelta(days=1))  # the appointment rule is apart
        old = message(appt, NOW - MESSAGE_TEXT - SECOND, channel=Channel.SMS)
        young = message(appt, NOW - MESSAGE_TEXT + SECOND, channel=Channel.EMAIL)
        result = purge(NOW)
        assert result.count(Rule.MESSAGE_TEXTS) == 1
        old.refresh_from_db()
        assert (old.subject, old.body, old.recipient) == ("", "", redact(person.mobile_e164))
        assert (old.status, old.channel, old.gateway, old.due_at) == ("sent", "sms", "fake", old.due_at)
        young_after = OutboundMessage.objects.get(pk=young.pk)
        assert (young_after.subject, young_after.body, young_after.recipient) == (
            young.subject,
            young.body,
            young.recipient,
        )

    def test_recipients_take_the_same_redacted_form_as_the_logs(self, env, location):
        numbers = ["+4915112345678", "+12025550123", "+436641234567", "+353861234567", "+79161234567"]
        appt = appointment(location, customer(), NOW)
        messages = [message(appt, NOW - MESSAGE_TEXT - SECOND, recipient=n) for n in numbers]
        mail = message(
            appt, NOW - MESSAGE_TEXT - SECOND, channel=Channel.EMAIL, recipient="j.b@praxis.example"
        )
        purge(NOW)
        assert [OutboundMessage.objects.get(pk=m.pk).recipient for m in messages] == [
            redact(n) for n in numbers
        ]
        assert redact("+4915112345678") == "+49•••••••5678"
        assert OutboundMessage.objects.get(pk=mail.pk).recipient == "•••@praxis.example"

    def test_messages_that_may_still_go_out_keep_their_text(self, env, location):
        appt = appointment(location, customer(), NOW)
        open_statuses = ["planned", "queued", "retry_wait", "held", "sending", "unknown"]
        for status in open_statuses:
            message(appt, NOW - MESSAGE_TEXT - dt.timedelta(days=1), status=status)
        assert purge(NOW).count(Rule.MESSAGE_TEXTS) == 0
        assert set(OutboundMessage.objects.values_list("body", flat=True)) == {
            "Hallo Jörg, Termin morgen um 10:00."
        }

    def test_a_second_run_finds_nothing_left(self, env, location):
        message(appointment(location, customer(), NOW), NOW - MESSAGE_TEXT - SECOND)
        assert purge(NOW).count(Rule.MESSAGE_TEXTS) == 1
        assert purge(NOW).count(Rule.MESSAGE_TEXTS) == 0


class TestDeliveryReports:
    def test_it_deletes_reports_received_before_the_period_and_nothing_else(self, env, location):
        msg = message(appointment(location, customer(), NOW), NOW - dt.timedelta(days=2))
        old = report(msg, NOW - REPORTS - SECOND)
        young = report(msg, NOW - REPORTS + SECOND)
        assert purge(NOW).count(Rule.DELIVERY_REPORTS) == 1
        assert list(DeliveryReport.objects.values_list("pk", flat=True)) == [young.pk]
        assert DeliveryAttempt.objects.filter(pk=old.attempt_id).exists()  # the attempt stays
        assert OutboundMessage.objects.get(pk=msg.pk).status == MessageStatus.SENT


class TestAppointments:
    def test_it_deletes_appointments_that_ended_before_the_period_with_their_messages(self, env, location):
        person = customer()
        old = appointment(location, person, NOW - APPOINTMENTS - SECOND)
        young = appointment(location, person, NOW - APPOINTMENTS + SECOND)
        unmatched = appointment(location, None, NOW - APPOINTMENTS - SECOND)
        old_message = message(old, old.start_at - dt.timedelta(days=1))
        report(old_message, NOW - dt.timedelta(days=1))
        StatusEvent.objects.create(message=old_message, at=old_message.due_at, status="sent")
        young_message = message(young, young.start_at - dt.timedelta(days=1))
        result = purge(NOW)
        assert result.count(Rule.APPOINTMENTS) == 2
        assert list(Appointment.objects.values_list("pk", flat=True)) == [young.pk]
        assert not Appointment.objects.filter(pk=unmatched.pk).exists()
        assert list(OutboundMessage.objects.values_list("pk", flat=True)) == [young_message.pk]
        assert not DeliveryAttempt.objects.filter(message_id=old_message.pk).exists()
        assert not StatusEvent.objects.filter(message_id=old_message.pk).exists()
        assert Customer.objects.filter(pk=person.pk).exists()  # the person is the customer rule's concern


class TestInactiveCustomers:
    def test_it_erases_customers_without_appointments_in_the_period(self, env, location):
        env["RETENTION_APPOINTMENTS_DAYS"] = 0  # keep the old appointments in view
        long_ago = NOW - CUSTOMERS - dt.timedelta(days=30)
        inactive = customer(created_at=long_ago)
        appointment(location, inactive, NOW - CUSTOMERS - SECOND)
        never_came = customer(created_at=NOW - CUSTOMERS - SECOND)
        recent = customer(created_at=long_ago)
        appointment(location, recent, NOW - CUSTOMERS + SECOND)
        new = customer(created_at=NOW - CUSTOMERS + SECOND)  # no appointment yet, but new
        coming = customer(created_at=long_ago)
        appointment(location, coming, NOW + dt.timedelta(days=3))
        result = purge(NOW)
        assert result.count(Rule.CUSTOMERS) == 2
        erased = set(
            PrivacyLedger.objects.filter(kind=LedgerKind.ERASE).values_list("customer_id", flat=True)
        )
        assert erased == {inactive.pk, never_came.pk}
        assert set(Customer.objects.values_list("pk", flat=True)) >= {recent.pk, new.pk, coming.pk}
        assert not Customer.objects.filter(pk__in=[inactive.pk, never_came.pk], given_name="Jörg").exists()

    def test_a_customer_with_a_message_still_open_is_kept(self, env, location):
        env["RETENTION_APPOINTMENTS_DAYS"] = 0
        person = customer(created_at=NOW - CUSTOMERS - dt.timedelta(days=30))
        old = appointment(location, person, NOW - CUSTOMERS - dt.timedelta(days=1))
        message(old, old.start_at, status=MessageStatus.HELD)
        assert purge(NOW).count(Rule.CUSTOMERS) == 0
        assert not PrivacyLedger.objects.filter(kind=LedgerKind.ERASE).exists()


def a_bit_of_everything(location) -> dict[str, Any]:
    """One row in scope for each rule (and one restricted person with old data of every kind)."""
    long_ago = NOW - CUSTOMERS - dt.timedelta(days=30)
    inactive = customer(created_at=long_ago)
    active = customer(created_at=long_ago)
    old = appointment(location, active, NOW - APPOINTMENTS - dt.timedelta(days=1))
    current = appointment(location, active, NOW - dt.timedelta(days=100))
    text = message(current, NOW - MESSAGE_TEXT - dt.timedelta(days=5))
    dlr = report(text, NOW - REPORTS - dt.timedelta(days=1))
    return {"inactive": inactive, "active": active, "old": old, "text": text, "dlr": dlr}


def snapshot() -> dict[str, Any]:
    return {
        "customers": sorted(Customer.objects.values_list("pk", "given_name", "mobile_e164")),
        "appointments": sorted(Appointment.objects.values_list("pk", flat=True)),
        "messages": sorted(OutboundMessage.objects.values_list("pk", "body", "subject", "recipient")),
        "reports": sorted(DeliveryReport.objects.values_list("pk", "raw")),
        "attempts": DeliveryAttempt.objects.count(),
        "ledger": PrivacyLedger.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


class TestDryRunAndSwitches:
    def test_a_dry_run_changes_nothing_and_reports_what_a_real_run_does(self, env, location):
        a_bit_of_everything(location)
        before = snapshot()
        dry = purge(NOW, dry_run=True)
        assert snapshot() == before
        real = purge(NOW)
        assert [r.count for r in dry.results] == [r.count for r in real.results] == [1, 1, 1, 1]
        assert dry.dry_run and not real.dry_run
        assert snapshot() != before

    @pytest.mark.parametrize("rule", list(Rule))
    def test_zero_days_switches_one_rule_off(self, env, location, rule):
        a_bit_of_everything(location)
        setting = {
            Rule.MESSAGE_TEXTS: "RETENTION_MESSAGE_TEXT_DAYS",
            Rule.DELIVERY_REPORTS: "RETENTION_DELIVERY_REPORTS_DAYS",
            Rule.APPOINTMENTS: "RETENTION_APPOINTMENTS_DAYS",
            Rule.CUSTOMERS: "RETENTION_INACTIVE_CUSTOMERS_DAYS",
        }[rule]
        env[setting] = 0
        result = purge(NOW)
        off = next(r for r in result.results if r.rule == rule)
        assert (off.days, off.cutoff_at, off.count) == (0, None, 0)
        assert all(r.count == 1 for r in result.results if r.rule != rule)
        assert rule.value not in [e.object_id for e in purge_entries()]

    def test_all_rules_off_changes_nothing(self, env, location):
        a_bit_of_everything(location)
        for name in list(env):
            if name.startswith("RETENTION_"):
                env[name] = 0
        before = snapshot()
        assert purge(NOW).total == 0
        assert snapshot() == before


class TestRestrictedPersons:
    def test_restricted_persons_are_kept_but_their_message_texts_age_out(self, env, location):
        person = customer(created_at=NOW - CUSTOMERS - dt.timedelta(days=30))
        old = appointment(location, person, NOW - CUSTOMERS - dt.timedelta(days=1))
        text = message(old, old.start_at)
        dlr = report(text, NOW - REPORTS - dt.timedelta(days=1))
        Customer.objects.filter(pk=person.pk).update(restricted_at=NOW - dt.timedelta(days=400))
        result = purge(NOW)
        assert [r.count for r in result.results] == [1, 0, 0, 0]
        assert Customer.objects.filter(pk=person.pk, given_name="Jörg").exists()
        assert Appointment.objects.filter(pk=old.pk).exists()
        assert DeliveryReport.objects.filter(pk=dlr.pk).exists()
        assert OutboundMessage.objects.get(pk=text.pk).body == ""


class TestAccountability:
    def test_anonymous_counts_are_untouched(self, env, location):
        a_bit_of_everything(location)
        MonthlyUsage.objects.create(
            location_id=location.pk, month=dt.date(2024, 1, 1), channel="sms", messages=7, parts=9
        )
        MonthlyStatistic.objects.create(
            location_id=location.pk, month=dt.date(2024, 1, 1), channel="sms", sent=7
        )
        usage = list(MonthlyUsage.objects.values())
        statistics = list(MonthlyStatistic.objects.values())
        assert purge(NOW).total == 4
        assert list(MonthlyUsage.objects.values()) == usage
        assert list(MonthlyStatistic.objects.values()) == statistics

    def test_each_rule_writes_one_audit_entry_with_its_count_and_no_personal_data(self, env, location):
        rows = a_bit_of_everything(location)
        purge(NOW)
        entries = purge_entries()
        assert [(e.actor, e.object_type, e.object_id) for e in entries] == [
            ("system:retention", "retention_rule", rule.value) for rule in Rule
        ]
        assert entries[0].detail == "days=90 cutoff=2027-03-03T10:00:00Z count=1"
        assert entries[2].detail.endswith("count=1 messages=0")
        for entry in entries:
            assert rows["active"].mobile_e164 not in entry.detail
            assert "Jörg" not in entry.detail
        assert verify_chain() is None

    @pytest.mark.django_db(transaction=True)  # VACUUM cannot run inside the test transaction
    def test_a_run_that_changed_something_rewrites_the_sqlite_file(self, env, location):
        message(appointment(location, customer(), NOW), NOW - MESSAGE_TEXT - SECOND)
        assert not purge(NOW, dry_run=True).file_compacted
        assert purge(NOW).file_compacted == (connection.vendor == "sqlite")
        assert not purge(NOW).file_compacted  # nothing left to change

    def test_a_dry_run_writes_no_audit_entry(self, env, location):
        a_bit_of_everything(location)
        purge(NOW, dry_run=True)
        assert purge_entries() == []


class TestWorker:
    # Committed data: each cycle may close the connection (close_old_connections and CONN_MAX_AGE under a
    # clock that jumps hours), which would end a test transaction.
    @pytest.mark.django_db(transaction=True)
    def test_the_worker_purges_once_a_day(self, env, location, clock):
        message(appointment(location, customer(), NOW), NOW - MESSAGE_TEXT - SECOND)
        Worker().cycle()  # 12:00 in Berlin
        clock.move_to(NOW + dt.timedelta(hours=8))  # 20:00 in Berlin, the same day
        message(appointment(location, customer(), NOW), NOW - MESSAGE_TEXT - SECOND)
        Worker().cycle()
        assert RetentionRun.objects.count() == 1
        run = RetentionRun.objects.get()
        assert (run.day, run.message_texts_count, run.finished_at) == (dt.date(2027, 6, 1), 1, NOW)
        assert len(purge_entries()) == 4
        assert OutboundMessage.objects.exclude(body="").count() == 1  # waits for tomorrow
        clock.move_to(dt.datetime(2027, 6, 1, 22, 5, tzinfo=UTC))  # 00:05 on 2 June in Berlin
        Worker().cycle()
        assert list(RetentionRun.objects.values_list("day", "message_texts_count")) == [
            (dt.date(2027, 6, 1), 1),
            (dt.date(2027, 6, 2), 1),
        ]
        assert OutboundMessage.objects.exclude(body="").count() == 0

    def test_a_day_already_claimed_is_not_run_again(self, env, location):
        RetentionRun.objects.create(day=dt.date(2027, 6, 1), started_at=NOW - dt.timedelta(hours=9))
        assert purge_if_due(NOW) is None
        assert purge_entries() == []


class TestCommand:
    def run(self, *args: str) -> tuple[int, str]:
        out = io.StringIO()
        try:
            call_command("privacy_purge", *args, stdout=out)
        except SystemExit as exc:
            return int(exc.code or 0), out.getvalue()
        return 0, out.getvalue()

    def test_dry_run_reports_the_counts_and_changes_nothing(self, env, location):
        a_bit_of_everything(location)
        before = snapshot()
        code, out = self.run("--dry-run", "--json")
        assert code == 0 and snapshot() == before
        data = json.loads(out)
        assert data["dry_run"] is True
        assert [(r["rule"], r["days"], r["count"]) for r in data["rules"]] == [
            ("message_texts", 90, 1),
            ("delivery_reports", 30, 1),
            ("appointments", 180, 1),
            ("customers", 1095, 1),
        ]
        assert data["rules"][0]["cutoff_utc"] == "2027-03-03T10:00:00Z"
        code, out = self.run("--dry-run")
        assert code == 0 and snapshot() == before
        assert out.startswith("Probelauf – nichts wurde geändert.")
        assert "Vergangene Termine – zu löschen: 1 (beendet vor 2026-12-03 11:00)" in out
        code, out = self.run()
        assert code == 0
        assert "Nachrichtentexte – geleert: 1 (fällig vor 2027-03-03 11:00)" in out
        assert "Kunden ohne Termine – gelöscht: 1 (ohne Termin seit 2024-06-01 12:00)" in out
        code, out = self.run()
        assert code == 3  # nothing left to do

    def test_help_states_each_rule_with_its_current_period(self, env, monkeypatch):
        env["RETENTION_MESSAGE_TEXT_DAYS"] = 45
        env["RETENTION_INACTIVE_CUSTOMERS_DAYS"] = 0
        help_de = " ".join(PurgeCommand().create_parser("alphasms", "privacy_purge").format_help().split())
        assert "(ALPHASMS_RETENTION_MESSAGE_TEXT_DAYS=45): 45 Tage nach dem Versandtermin" in help_de
        assert "30 Tage nach Empfang" in help_de
        assert "180 Tage nach Terminende" in help_de
        assert "Kunden ohne Termine (ALPHASMS_RETENTION_INACTIVE_CUSTOMERS_DAYS=0): aus" in help_de
        monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
        help_en = " ".join(PurgeCommand().create_parser("alphasms", "privacy_purge").format_help().split())
        assert "45 days after a message was due" in help_en
        assert "--dry-run" in help_en and "count only, change nothing" in help_en


def test_outbox_files_and_mail_sink_copies_age_out_with_the_message_texts(alphasms_settings, tmp_path):
    import os

    from alphasms.privacy.retention import delete_old_message_files

    outbox = Path(alphasms_settings["OUTBOX_DIR"])
    maildir = tmp_path / "mail"
    alphasms_settings["MAIL_SINK_DIR"] = str(maildir)
    for folder in (outbox, maildir / "new", maildir / "cur"):
        folder.mkdir(parents=True)
    now = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    old, fresh = now - dt.timedelta(days=91), now - dt.timedelta(days=89)
    files = {}
    for name, folder, when in (
        ("a.json", outbox, old),
        ("b.json", outbox, fresh),
        ("m1", maildir / "new", old),
        ("m2", maildir / "cur", fresh),
    ):
        path = folder / name
        path.write_text("+4915112345678")
        os.utime(path, (when.timestamp(), when.timestamp()))
        files[name] = path
    assert delete_old_message_files(now - dt.timedelta(days=90)) == 2
    assert sorted(p.name for p in files.values() if p.exists()) == ["b.json", "m2"]
