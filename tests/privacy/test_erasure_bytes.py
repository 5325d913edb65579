"""`alphasms privacy_erase` in a child process leaves no trace of the person in the database.

On SQLite the database file and its write-ahead log are searched byte by byte (UTF-8, also NFD and JSON
escapes, case-insensitively); on PostgreSQL every text and JSON column of every table is read with SQL.
The person had appointments, SMS sent by `alphasms worker --once` through the outbox gateway, delivery
reports with raw payloads, a reply (kept as a note in the message history: there is no InboundMessage
model yet), an unassigned calendar entry naming them and an admin-log entry. The other person's data
and the anonymous monthly counts must be unchanged, and the access export must hold every identifier
that the search finds before the erasure.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg

from tests.privacy.people import OTHER, PERSON, identifiers
from tests.worker_processes import alphasms, child_database

SETUP = """
import datetime as dt, json, unicodedata
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from alphasms.appointments.models import Appointment, Customer, Location, ReminderRule, UnmatchedEvent
from alphasms.messaging.models import SmsPrice
from alphasms.privacy.models import ConsentSource
from alphasms.privacy.services import record_opt_in

location = Location.objects.create(name="Praxis Sonnenhof")
SmsPrice.objects.create(country="*", price_per_part_micros=90_000)
always = dict(window_start=dt.time(0), window_end=dt.time(23, 59, 59))
ReminderRule.objects.create(name="SMS", channel="sms", offset_s=3 * 86400,
    body_template="Hallo {given_name} {family_name}, Termin {date} {time}.", **always)
ReminderRule.objects.create(name="Mail", channel="email", offset_s=12 * 3600,
    subject_template="Termin {date}", body_template="Hallo {given_name} {family_name}, {date}.", **always)
staff = User.objects.create_user("staff", password="x")
for number, who in json.loads(PEOPLE):
    customer = Customer.objects.create(customer_number=number, given_name=who["given"],
        family_name=who["family"], mobile_e164=who["mobile"], mobile_raw=who["national"], mobile_sms_ok=True,
        email=who["email"], notes="Rückruf an " + who["given"])
    for channel in ("sms", "email"):
        record_opt_in(customer, channel, source=ConsentSource.FORM, wording_version="v1", recorded_by="staff")
    start = timezone.now() + dt.timedelta(days=1)
    for days, source in ((0, "csv"), (9, "ics")):
        at = start + dt.timedelta(days=days)
        Appointment.objects.create(location=location, customer=customer, start_at=at,
            end_at=at + dt.timedelta(minutes=30), summary=who["given"] + " " + who["family"],
            source=source, source_name="termine." + source)
    title = unicodedata.normalize("NFD", "Kontrolle " + who["given"].upper() + " " + who["family"].upper())
    unassigned = Appointment.objects.create(location=location, start_at=start, end_at=start, summary=title,
        source="ics")
    UnmatchedEvent.objects.create(appointment=unassigned, reason="kein Kunde passt auf den Titel")
    LogEntry.objects.create(user=staff, content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(customer.pk), object_repr=str(customer), action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["Vorname"]}}]')
"""

REPORTS = """
import json
from alphasms.messaging.gateways.base import DeliveryStatus, DlrEvent
from alphasms.messaging.models import DeliveryAttempt
from alphasms.messaging.services.reports import apply_reports

people = {who["mobile"]: who for _, who in json.loads(PEOPLE)}
for attempt in DeliveryAttempt.objects.filter(outcome="sent").select_related("message"):
    message = attempt.message
    raw = {"msisdn": message.recipient.lstrip("+"), "status": "DELIVRD", "text": message.body}
    event = DlrEvent(DeliveryStatus.DELIVERED, reference=str(attempt.id), provider_status="DELIVRD", raw=raw)
    assert apply_reports("outbox", [event]) == 1
"""

REPLIES = """
import json
from alphasms.messaging.models import OutboundMessage
from alphasms.messaging.services.lifecycle import record

people = {who["mobile"]: who for _, who in json.loads(PEOPLE)}
for message in OutboundMessage.objects.filter(status="delivered"):
    who = people[message.recipient]
    name = who["given"] + " " + who["family"]
    record(message, "reply from " + message.recipient + ": Ja, ich komme. " + name)
"""

COUNTS = {
    "messaging_monthlyusage": "location_id, month, channel, currency, messages, parts, cost_micros",
    "privacy_monthlystatistic": "location_id, month, channel, sent, delivered, failed, cancelled",
}


def norm(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def forms(value: str) -> set[str]:
    """How ``value`` can appear in stored text: as itself (NFC/NFD, any case) and JSON-escaped."""
    return {norm(value), norm(json.dumps(value)[1:-1]), json.dumps(norm(value))[1:-1]}


def found(haystack: str, values: list[str]) -> set[str]:
    return {value for value in values if any(form in haystack for form in forms(value))}


class Database:
    """The child processes' database, read from outside: raw bytes (SQLite) or every text column (SQL)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.url = env["DATABASE_URL"].replace("postgres://", "postgresql://")
        self.path = Path(env["ALPHASMS_DATA_DIR"]) / "alphasms.sqlite3"

    @contextmanager
    def held_open(self) -> Iterator[None]:
        """Keep one idle SQLite connection open in a process of its own, so the WAL survives between the
        child processes (the last connection to close checkpoints and deletes it, hiding what it held).
        Not in this process: reading the files here would drop its POSIX locks (sqlite.org/howtocorrupt)."""
        if self.url:
            yield
            return
        code = (
            "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
            "db.execute('SELECT count(*) FROM django_migrations').fetchall(); print('ok', flush=True); "
            "sys.stdin.read()"
        )
        holder = subprocess.Popen(
            [sys.executable, "-c", code, str(self.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
            yield
        finally:
            holder.communicate(timeout=30)

    def checkpoint(self) -> None:
        """Copy the WAL into the database file (SQLite), so the file itself holds the person's data."""
        if not self.url:
            with closing(sqlite3.connect(self.path)) as db:
                assert db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[0] == 0

    def files(self) -> list[Path]:
        return [p for p in (self.path, Path(f"{self.path}-wal")) if p.exists()]

    def haystack(self) -> str:
        """Everything stored, normalised: file bytes decoded as UTF-8, or every text/JSON value."""
        if not self.url:
            return "".join(norm(p.read_bytes().decode("utf-8", "ignore")) for p in self.files())
        columns = (
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')"
        )
        with psycopg.connect(self.url) as db:
            values = [
                value
                for table, column in db.execute(columns).fetchall()
                for (value,) in db.execute(f'SELECT "{column}"::text FROM "{table}"').fetchall()
                if value
            ]
        return norm("\n".join(values))

    def counts(self) -> dict[str, list[tuple[object, ...]]]:
        queries = {table: f"SELECT {cols} FROM {table} ORDER BY {cols}" for table, cols in COUNTS.items()}
        if self.url:
            with psycopg.connect(self.url) as db:
                return {table: [tuple(r) for r in db.execute(q).fetchall()] for table, q in queries.items()}
        with closing(sqlite3.connect(self.path)) as db:
            return {table: db.execute(q).fetchall() for table, q in queries.items()}


def run(env: dict[str, str], *args: str) -> str:
    result = alphasms(env, *args)
    assert result.returncode == 0, f"alphasms {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


def practice_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ALPHASMS_DATA_DIR": str(tmp_path / "data"),
        "ALPHASMS_SAMPLE_DATA": "false",
        "ALPHASMS_SMS_GATEWAY": "outbox",
        "ALPHASMS_STATISTICS": "true",
        "ALPHASMS_WORKER_CONCURRENCY": "1",
        "ALPHASMS_LANGUAGE": "de",
        "DATABASE_URL": database_url,
        "PEOPLE": json.dumps([["1001", PERSON], ["2002", OTHER]]),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def script(code: str) -> str:
    return "import os; PEOPLE = os.environ['PEOPLE']\n" + code


def test_after_erasure_the_database_holds_nothing_about_the_person(tmp_path):
    with child_database(tmp_path) as database_url:
        env = practice_env(tmp_path, database_url)
        run(env, "migrate", "-v0")
        database = Database(env)
        with database.held_open():
            run(env, "shell", "-c", script(SETUP))
            run(env, "worker", "--once")
            run(env, "shell", "-c", script(REPORTS))
            assert len(list((tmp_path / "data" / "outbox").glob("*.json"))) == 2  # one SMS each was sent

            database.checkpoint()
            run(env, "shell", "-c", script(REPLIES))  # written after the checkpoint: in the WAL only
            before = database.haystack()
            assert found(before, identifiers(PERSON)) == set(identifiers(PERSON))  # the search can fail
            if not database_url:
                in_file = norm(database.path.read_bytes().decode("utf-8", "ignore"))
                in_wal = norm(Path(f"{database.path}-wal").read_bytes().decode("utf-8", "ignore"))
                assert found(in_file, identifiers(PERSON)) and found(in_wal, identifiers(PERSON))
            export = norm(run(env, "privacy_export", "--customer", "1001", "--json"))
            assert found(export, identifiers(PERSON)) == found(before, identifiers(PERSON))
            assert not found(export, identifiers(OTHER))
            counts = database.counts()
            assert counts["messaging_monthlyusage"] and counts["privacy_monthlystatistic"]

            report = json.loads(run(env, "privacy_erase", "--customer", "1001", "--yes", "--json"))
            after = database.haystack()
            left = found(after, identifiers(PERSON))
            kept = found(after, identifiers(OTHER))
            unchanged = database.counts() == counts

    assert (
        report["counts"]["messaging.outboundmessage"] == 4
        and report["counts"]["messaging.deliveryreport"] == 1
    )
    assert report["file_compacted"] == (not database_url) and report["wal_truncated"] == (not database_url)
    assert not left, f"still stored after erasure: {left}"
    assert kept == set(identifiers(OTHER))
    assert unchanged
