"""The main job end to end, on real input and real peers.

A practice calendar and a Windows-1252 customer CSV are imported; with the clock moved by time-machine,
every reminder reaches a local server speaking seven.io's API or an in-process aiosmtpd server at its due
minute, exactly once; the signed delivery report posted to the live server marks the SMS delivered; a
re-import changes nothing. A second test runs the real `alphasms worker` process, kills it with SIGKILL in
the middle of a batch and restarts it: nothing is lost, and only flagged `unknown` messages may repeat.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
import time_machine
from django.test import override_settings

from alphasms.appointments.models import Channel
from alphasms.appointments.services.csv_import import import_csv
from alphasms.appointments.services.ics_import import import_ics
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import DeliveryAttempt, MessageStatus, OutboundMessage
from alphasms.messaging.services.worker import Worker
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer
from alphasms.testing.fake_smtp import FakeSmtpServer
from tests.conftest import make_rule

UTC = dt.UTC
DATA = Path(__file__).resolve().parent / "data" / "practice"
IMPORTED_AT = dt.datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
SIGNING_SECRET = "e2e-signing-secret"


def sevenio_accepts(msg_id: str, delay_s: float = 0.0) -> CannedResponse:
    """seven.io's answer to an accepted SMS (SmsResponse in its OpenAPI spec)."""
    message = {"id": msg_id, "parts": 1, "success": True, "error": None, "error_text": None}
    return CannedResponse.json({"success": "100", "messages": [message]}, delay_s=delay_s)


def post_signed_dlr(base_url: str, msg_id: str, status: str) -> int:
    """POST a DLR to the live server, signed as seven.io signs (docs.seven.io/en/rest-api/signing)."""
    url = f"{base_url}/hooks/sevenio/dlr/"
    body = json.dumps({"webhook_event": "dlr", "data": {"msg_id": msg_id, "status": status}}).encode()
    timestamp, nonce = str(int(time.time())), "0123456789abcdef0123456789abcdef"
    to_sign = "\n".join([timestamp, nonce, "POST", url, hashlib.md5(body).hexdigest()])
    signature = hmac.new(SIGNING_SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": signature,
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(answer.status)


@pytest.mark.django_db(transaction=True)
def test_reminders_reach_the_providers_at_their_due_minute_exactly_once(
    alphasms_settings, location, live_server
):
    make_rule(
        Channel.SMS, offset_s=24 * 3600, body_template="{salutation}, Termin {date}, {time}. {confirm_hint}"
    )
    make_rule(
        Channel.EMAIL,
        offset_s=48 * 3600,
        attach_ics=True,
        subject_template="Ihr Termin am {date}",
        body_template="{salutation},\nwir erinnern an Ihren Termin am {date} um {time}.",
    )
    with FakeHttpServer() as sevenio, FakeSmtpServer() as smtp:
        alphasms_settings.update(
            SMS_GATEWAY="sevenio",
            SEVENIO_BASE_URL=sevenio.url,
            SEVENIO_API_KEY="key",
            SEVENIO_SIGNING_SECRET=SIGNING_SECRET,
        )
        sevenio.enqueue(*(sevenio_accepts(f"7700{i}") for i in range(4)))
        with override_settings(
            **smtp.django_settings(), DEFAULT_FROM_EMAIL="Praxis Sonnenhof <termine@praxis.example>"
        ):
            with time_machine.travel(IMPORTED_AT, tick=False):
                import_csv(
                    (DATA / "kunden.csv").read_bytes(),
                    location,
                    "kunden.csv",
                    consent_channels=("sms", "email"),
                    consent_wording="2026-01",
                )
                import_ics((DATA / "praxis.ics").read_bytes(), location, "praxis.ics")
                plan()
            due = sorted(set(OutboundMessage.objects.values_list("due_at", flat=True)))
            arrivals: list[tuple[dt.datetime, str, str]] = []
            for instant in due:
                with time_machine.travel(instant - dt.timedelta(minutes=1), tick=False):
                    Worker().cycle()
                assert len(sevenio.requests) + len(smtp.envelopes) == len(arrivals), (
                    f"sent early at {instant}"
                )
                with time_machine.travel(instant, tick=False):
                    Worker().cycle()
                new_sms = sevenio.requests[len([a for a in arrivals if a[1] == "sms"]) :]
                new_mail = smtp.envelopes[len([a for a in arrivals if a[1] == "email"]) :]
                arrivals += [(instant, "sms", r.form()["to"][0]) for r in new_sms]
                arrivals += [(instant, "email", e.rcpt_tos[0]) for e in new_mail]
            with time_machine.travel(due[-1] + dt.timedelta(days=3), tick=False):
                Worker().cycle()  # nothing is left to send twice
            assert len(sevenio.requests) == 4 and len(smtp.envelopes) == 3

        # Every message arrived at exactly its due minute, once.
        expected = sorted((m.due_at, m.channel, m.recipient) for m in OutboundMessage.objects.all())
        assert sorted(arrivals) == expected
        assert [(d.isoformat(), c) for d, c, _ in expected] == [
            ("2026-12-06T09:00:00+00:00", "email"),  # Tue 8 Dec 10:00 local, 48 h before
            ("2026-12-07T09:00:00+00:00", "sms"),
            ("2026-12-08T13:00:00+00:00", "sms"),  # Öztürk, no e-mail address
            ("2026-12-21T10:30:00+00:00", "email"),  # the occurrence moved from 22 to 23 Dec 11:30
            ("2026-12-22T10:30:00+00:00", "sms"),
            ("2026-12-27T09:00:00+00:00", "email"),
            ("2026-12-28T09:00:00+00:00", "sms"),
        ]
        assert set(OutboundMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}

        first = sevenio.requests[0].form()
        assert set(first) == {"to", "text", "foreign_id", "from"}
        assert first["to"] == ["+4915112345678"]
        assert first["text"] == [
            "Guten Tag Jörg Bäcker, Termin Di., 8. Dez. 2026, 10:00 Uhr. "
            "Bitte antworten Sie JA zum Bestätigen oder NEIN zum Absagen."
        ]
        assert first["foreign_id"] == [str(DeliveryAttempt.objects.get(gateway_message_id="77000").id)]
        mail = email.message_from_bytes(smtp.envelopes[0].content, policy=email.policy.default)
        assert str(mail["To"]) == "Jörg Bäcker <joerg.baecker@example.org>"
        assert str(mail["Subject"]) == "Ihr Termin am Di., 8. Dez. 2026"
        assert [p.get_content_type() for p in mail.iter_attachments()] == ["text/calendar"]

        # The signed delivery report, posted to the live server, marks the SMS delivered.
        assert post_signed_dlr(live_server.url, "77000", "DELIVERED") == 200
        delivered = DeliveryAttempt.objects.get(gateway_message_id="77000").message
        delivered.refresh_from_db()
        assert delivered.status == MessageStatus.DELIVERED

        # Re-importing the same files changes nothing.
        before = list(OutboundMessage.objects.order_by("id").values_list("id", "status", "due_at", "body"))
        with time_machine.travel(due[-1] + dt.timedelta(hours=1), tick=False):
            report = import_ics((DATA / "praxis.ics").read_bytes(), location, "praxis.ics", now=IMPORTED_AT)
            plan(IMPORTED_AT)
        assert (report.created, report.updated, report.cancelled) == (0, 0, 0)
        assert (
            list(OutboundMessage.objects.order_by("id").values_list("id", "status", "due_at", "body"))
            == before
        )


# ---------------------------------------------------------------------------------------------------------
# The real worker process, killed with SIGKILL in the middle of a batch.

CUSTOMERS = 12


def alphasms(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alphasms", *args], env=env, capture_output=True, text=True, timeout=120
    )


def prepare_practice(tmp_path: Path, sevenio: FakeHttpServer) -> dict[str, str]:
    """A data directory with CUSTOMERS appointments whose SMS are all due now, set up through the CLI."""
    env = {
        **os.environ,
        "ALPHASMS_DATA_DIR": str(tmp_path / "data"),
        "ALPHASMS_SAMPLE_DATA": "false",
        "ALPHASMS_SMS_GATEWAY": "sevenio",
        "ALPHASMS_SEVENIO_BASE_URL": sevenio.url,
        "ALPHASMS_SEVENIO_API_KEY": "key",
        "ALPHASMS_LEASE_S": "2",
        "ALPHASMS_WORKER_POLL_S": "1",
        "ALPHASMS_WORKER_CONCURRENCY": "1",
        "ALPHASMS_LANGUAGE": "de",
    }
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    tomorrow = (dt.datetime.now(UTC) + dt.timedelta(days=1)).strftime("%d.%m.%Y")
    rows = ["Nachname;Vorname;Mobil;Datum;Uhrzeit"]
    rows += [
        f"Kunde{i:02d};Test;0151 2345{i:04d};{tomorrow};{8 + i % 10:02d}:{i % 4 * 15:02d}"
        for i in range(CUSTOMERS)
    ]
    (tmp_path / "termine.csv").write_text("\r\n".join(rows) + "\r\n", encoding="cp1252")
    assert alphasms(env, "migrate", "-v0").returncode == 0
    rule = (
        "import datetime as d; from alphasms.appointments.models import ReminderRule as R; "
        "R.objects.create(name='SMS', offset_s=3*86400, body_template='Termin {date} {time}', "
        "window_start=d.time(0), window_end=d.time(23, 59, 59))"
    )
    assert alphasms(env, "shell", "-c", rule).returncode == 0
    result = alphasms(
        env, "import", "csv", str(tmp_path / "termine.csv"), "--consent", "sms", "--wording", "v1"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return env


def messages(env: dict[str, str]) -> list[tuple[str, str, int]]:
    database = Path(env["ALPHASMS_DATA_DIR"]) / "alphasms.sqlite3"
    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT recipient, status, possible_duplicate FROM messaging_outboundmessage"
        ).fetchall()


def wait_for(condition, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_only_flagged_messages(tmp_path):
    with FakeHttpServer() as sevenio:
        sevenio.enqueue(*(sevenio_accepts(f"88{i:03d}", delay_s=0.3) for i in range(CUSTOMERS * 2)))
        env = prepare_practice(tmp_path, sevenio)
        assert len(messages(env)) == CUSTOMERS
        worker = subprocess.Popen(
            [sys.executable, "-m", "alphasms", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: len(sevenio.requests) >= 4)
        worker.send_signal(signal.SIGKILL)  # in the middle of the batch, during a provider call
        worker.wait(timeout=10)
        sent_before_kill = len(sevenio.requests)
        assert 4 <= sent_before_kill < CUSTOMERS
        time.sleep(2.5)  # the dead worker's lease expires
        restarted = alphasms(env, "worker", "--once")
        assert restarted.returncode == 0, restarted.stderr

    rows = messages(env)
    assert {status for _, status, _ in rows} == {"sent"}  # nothing lost
    per_number = Counter(r.form()["to"][0] for r in sevenio.requests)
    assert set(per_number) == {recipient for recipient, _, _ in rows}
    duplicated = {number for number, count in per_number.items() if count > 1}
    flagged = {recipient for recipient, _, flag in rows if flag}
    assert duplicated <= flagged  # a duplicate only where the outcome was unknown, and flagged
    assert len(flagged) <= 1  # at most the one message whose provider call the kill interrupted


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_lets_the_worker_finish_its_provider_call(tmp_path):
    with FakeHttpServer() as sevenio:
        sevenio.enqueue(*(sevenio_accepts(f"99{i:03d}", delay_s=0.5) for i in range(CUSTOMERS)))
        env = prepare_practice(tmp_path, sevenio)
        worker = subprocess.Popen(
            [sys.executable, "-m", "alphasms", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: len(sevenio.requests) >= 2)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
        assert worker.returncode == 0, stderr
        requested = len(sevenio.requests)
    rows = messages(env)
    statuses = Counter(status for _, status, _ in rows)
    assert statuses["sent"] == requested  # the call in flight finished and was recorded
    assert statuses["sending"] == 0 and statuses["unknown"] == 0
    assert statuses["sent"] + statuses["queued"] + statuses["planned"] == CUSTOMERS
    assert "finishing in-flight work" in stderr
