"""Access (Art. 15/20), restriction (Art. 18) and erasure (Art. 17) of one person, against the database as
SQL sees it (``dbscan``), on the engine of the test run."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from alphasms.appointments.models import Appointment
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import PENDING, MessageStatus, MonthlyUsage, OutboundMessage
from alphasms.messaging.services.dispatch import Dispatcher
from alphasms.privacy.audit import verify_chain
from alphasms.privacy.models import AuditAction, AuditEntry, LedgerKind, MonthlyStatistic, PrivacyLedger
from alphasms.privacy.registry import ERASED_MARK, REGISTRY
from alphasms.privacy.subject_rights import (
    RESTRICTED_NOTE,
    ErasureDeferred,
    RestrictionBasis,
    erase,
    export_person,
    render_export_html,
    render_export_text,
    restrict,
    unrestrict,
)
from tests.conftest import make_appointment
from tests.privacy import dbscan
from tests.privacy.people import OTHER, PERSON, identifiers, populate

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alphasms_settings, location):
    alphasms_settings["STATISTICS"] = True
    alphasms_settings["RETENTION_APPOINTMENTS_DAYS"] = 180
    alphasms_settings["RETENTION_DELIVERY_REPORTS_DAYS"] = 0
    return populate(location)


def pattern(who):
    return dbscan.matcher(who["given"], who["family"], who["mobile"], who["email"])


def counts():
    usage = sorted(
        MonthlyUsage.objects.values_list(
            "location_id", "month", "channel", "messages", "parts", "cost_micros"
        )
    )
    stats = sorted(
        MonthlyStatistic.objects.values_list(
            "location_id", "month", "channel", "sent", "delivered", "failed", "cancelled"
        )
    )
    return usage, stats


class TestAccessExport:
    def test_it_contains_every_value_of_every_row_that_sql_finds_about_the_person(self, people):
        person, _ = people
        data = json.loads(json.dumps(export_person(person, "staff:1")))  # JSON-serialisable as it is
        exported = dbscan.export_leaves(data)
        rows = dbscan.rows_about(dbscan.snapshot(), person.pk, pattern(PERSON))
        tables = {name for name, _ in rows}
        assert {"appointments_customer", "messaging_deliveryreport", "django_admin_log"} <= tables
        assert "appointments_unmatchedevent" in tables  # the unassigned entries naming the person
        tables_by_name = dbscan.snapshot()
        missing = [
            (name, value)
            for name, row in rows
            for value in dbscan.texts(tables_by_name[name], row)
            if value not in exported
        ]
        assert not missing

    def test_it_contains_nothing_about_the_other_person(self, people):
        person, _ = people
        text = json.dumps(export_person(person, "staff:1"), ensure_ascii=False).casefold()
        assert not [value for value in identifiers(OTHER) if value.casefold() in text]
        assert "bäckermann" not in text  # only looks like the person's name

    def test_it_names_recipients_sources_retention_and_rights(self, people, settings):
        person, _ = people
        settings.EMAIL_HOST = "mail.praxis.example"
        data = export_person(person, "staff:1")
        info = data["information"]["de"]
        names = [r["name"] for r in info["recipients"]]
        assert "Fake (tests)" in names and "mail.praxis.example" in names
        assert data["gateways"] == {"fake": "Fake (tests)"}
        assert {s["source"] for s in info["sources"]} >= {"csv", "ics"}
        periods = {item["data"]: item["period"] for item in info["retention"]}
        assert "180 Tage nach dem Termin" in periods.values() and "bis zur Löschung" in periods.values()
        assert "Art. 77" in info["complaint"] and "Art. 22" in info["automated_decisions"]
        assert "until erased" in {item["period"] for item in data["information"]["en"]["retention"]}
        assert data["generated_at"].endswith("Z") and data["person"]["created_at"].endswith("Z")
        assert data["statistics_objection"]["objected"] is True

    def test_it_is_audited_and_lists_the_audit_entries_about_the_person(self, people):
        person, _ = people
        data = export_person(person, "staff:7")
        entry = AuditEntry.objects.filter(action=AuditAction.EXPORT).get()
        assert (entry.actor, entry.object_type, entry.object_id) == ("staff:7", "customer", str(person.pk))
        listed = {(e["action"], e["object_id"]) for e in data["audit"]}
        assert listed == {("view", str(person.pk)), ("export", str(person.pk))}
        assert "hash" not in data["audit"][0]

    def test_the_page_is_readable_in_german_and_english_and_escapes_what_it_shows(self, people):
        person, _ = people
        person.notes = "<script>alert(1)</script>"
        person.save()
        data = export_person(person, "staff:1")
        german, english = render_export_html(data, "de"), render_export_html(data, "en")
        assert "Auskunft über Ihre gespeicherten Daten" in german and "Vorname" in german
        assert "Access to the data stored about you" in english
        for page in (german, english):
            assert "Jörg" in page and "Fake (tests)" in page and "Ja, ich komme." in page
            assert "<script>" not in page and "&lt;script&gt;" in page
        assert "Jörg" in render_export_text(data, "de")


class TestRestriction:
    def test_it_cancels_pending_messages_at_once_and_writes_ledger_and_audit(self, people):
        person, _ = people
        pending = OutboundMessage.objects.filter(customer=person, status__in=PENDING)
        assert pending.exists()
        result = restrict(person, "staff:1", RestrictionBasis.ACCURACY)
        assert result.changed and result.messages_count >= 1 and not pending.exists()
        person.refresh_from_db()
        assert person.restricted_at is not None
        assert PrivacyLedger.objects.filter(customer_id=person.pk, kind=LedgerKind.RESTRICT).count() == 1
        entry = AuditEntry.objects.get(action=AuditAction.RESTRICT)
        assert entry.detail == f"basis=accuracy cancelled={result.messages_count}"
        assert export_person(person, "staff:1")["restriction"]["basis"] == "accuracy"
        assert restrict(person, "staff:1", "accuracy").changed is False  # already restricted

    def test_planning_creates_nothing_for_a_restricted_person_and_resumes_after_lifting(
        self, people, location
    ):
        person, _ = people
        restrict(person, "staff:1", "objection")
        make_appointment(location, person, timezone.now() + dt.timedelta(days=5))
        before = OutboundMessage.objects.filter(customer=person).count()
        plan()
        assert OutboundMessage.objects.filter(customer=person).count() == before
        result = unrestrict(person, "staff:2")
        assert result.changed and result.messages_count >= 1  # the cancelled reminders are planned again
        plan()
        assert OutboundMessage.objects.filter(customer=person).count() > before  # and the new one is planned
        again = OutboundMessage.objects.filter(customer=person, events__note=RESTRICTED_NOTE).distinct()
        assert {m.status for m in again} == {MessageStatus.PLANNED}
        kinds = list(PrivacyLedger.objects.filter(customer_id=person.pk).values_list("kind", flat=True))
        assert kinds == [LedgerKind.RESTRICT, LedgerKind.UNRESTRICT]
        assert AuditEntry.objects.filter(action=AuditAction.UNRESTRICT, object_id=str(person.pk)).exists()
        assert unrestrict(person, "staff:2").changed is False

    def test_dispatch_cancels_a_message_of_a_person_restricted_after_planning(self, people):
        person, _ = people
        message = OutboundMessage.objects.filter(customer=person, status=MessageStatus.PLANNED).earliest(
            "due_at"
        )
        OutboundMessage.objects.exclude(pk=message.pk).filter(status__in=PENDING).update(
            next_attempt_at=timezone.now() + dt.timedelta(days=30)
        )
        type(person).objects.filter(pk=person.pk).update(
            restricted_at=timezone.now()
        )  # e.g. a restored ledger
        with time_machine.travel(message.next_attempt_at, tick=False):
            stats = Dispatcher("w1").run_once()
        message.refresh_from_db()
        assert stats.outcomes == {"cancelled": 1}
        assert message.status == MessageStatus.CANCELLED
        assert message.events.last().note == RESTRICTED_NOTE


class TestErasure:
    def test_it_removes_every_row_that_names_the_person_and_keeps_the_other(self, people):
        person, other = people
        before = counts()
        pk = person.pk
        report = erase(person, "staff:1")
        assert report.counts["appointments.customer"] == 1 and report.counts["admin.logentry"] == 1
        assert report.counts["appointments.unmatchedevent"] == 2  # NFD upper case and "Bäcker, Jörg"
        assert all(
            registration.rows(person).count() == 0
            for name, registration in REGISTRY.items()
            if name != "admin.logentry"
        )
        tables = dbscan.snapshot()
        leftover = [
            (table.name, text)
            for table in tables.values()
            for row in table.rows
            for text in dbscan.texts(table, row)
            if pattern(PERSON).search(dbscan.norm(text))
            or "jörg" in dbscan.norm(text)
            or "bäcker" in dbscan.norm(text)
        ]
        assert leftover == [("appointments_appointment", "Kontrolle Jörg Bäckermann")]
        assert len(dbscan.rows_about(tables, other.pk, pattern(OTHER))) > 10  # the other person is all there
        assert counts() == before  # anonymous monthly counts unchanged
        assert LogEntry.objects.filter(object_id=str(pk)).get().object_repr == ERASED_MARK

    def test_it_writes_the_ledger_and_an_audit_entry_with_ids_only(self, people):
        person, _ = people
        pk = person.pk
        erase(person, "staff:1")
        assert PrivacyLedger.objects.filter(customer_id=pk, kind=LedgerKind.ERASE).count() == 1
        entry = AuditEntry.objects.get(action=AuditAction.ERASE)
        assert entry.object_id == str(pk) and "appointments.customer=1" in entry.detail
        assert not [value for value in identifiers(PERSON) if value in entry.detail]
        assert verify_chain() is None

    def test_it_waits_while_a_message_of_the_person_is_being_sent(self, people):
        person, _ = people
        message = OutboundMessage.objects.filter(customer=person).first()
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=MessageStatus.SENDING, lease_until=timezone.now() + dt.timedelta(seconds=30)
        )
        with pytest.raises(ErasureDeferred) as raised:
            erase(person, "staff:1")
        assert 1 <= raised.value.retry_after_s <= 31
        assert type(person).objects.filter(pk=person.pk).exists()
        assert not PrivacyLedger.objects.filter(kind=LedgerKind.ERASE).exists()


class TestCommands:
    def test_export_prints_json_and_writes_html(self, people, tmp_path):
        out = io.StringIO()
        call_command("privacy_export", "--customer", "1001", "--json", stdout=out)
        assert json.loads(out.getvalue())["person"]["given_name"] == PERSON["given"]
        target = tmp_path / "auskunft.html"
        call_command("privacy_export", "--customer", "1001", "--output", str(target), stdout=io.StringIO())
        assert "Bäcker" in target.read_text(encoding="utf-8")
        assert (target.stat().st_mode & 0o077) == 0

    def test_an_unknown_customer_number_is_a_usage_error(self, people):
        for command in ("privacy_export", "privacy_erase", "privacy_unrestrict"):
            with pytest.raises(CommandError) as raised:
                call_command(command, "--customer", "9999")
            assert raised.value.returncode == 2 and "9999" in str(raised.value)

    def test_erase_asks_and_a_no_changes_nothing(self, people, monkeypatch):
        monkeypatch.setattr("builtins.input", lambda prompt: "n")
        with pytest.raises(SystemExit) as raised:
            call_command("privacy_erase", "--customer", "1001", stdout=io.StringIO())
        assert raised.value.code == 3
        assert Appointment.objects.filter(customer__customer_number="1001").exists()
        out = io.StringIO()
        call_command("privacy_erase", "--customer", "1001", "--yes", "--json", stdout=out)
        assert json.loads(out.getvalue())["counts"]["appointments.customer"] == 1

    def test_restrict_and_unrestrict_report_nothing_to_do_the_second_time(self, people):
        call_command(
            "privacy_restrict", "--customer", "1001", "--basis", "legal_claims", stdout=io.StringIO()
        )
        with pytest.raises(SystemExit) as raised:
            call_command(
                "privacy_restrict", "--customer", "1001", "--basis", "legal_claims", stdout=io.StringIO()
            )
        assert raised.value.code == 3
        out = io.StringIO()
        call_command("privacy_unrestrict", "--customer", "1001", "--json", stdout=out)
        assert json.loads(out.getvalue())["changed"] is True
