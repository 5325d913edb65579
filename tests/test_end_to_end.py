"""The main job end to end, on real input and real peers.

A practice calendar and a Windows-1252 customer CSV are imported; with the clock moved by time-machine,
every reminder reaches a local server speaking seven.io's API or an in-process aiosmtpd server at its due
minute, exactly once; the signed delivery report posted to the live server marks the SMS delivered; a
re-import changes nothing. The real worker process, killed mid-batch, is tested in test_worker_processes.py.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import time
import urllib.request
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
from alphasms.testing.fake_http import FakeHttpServer
from alphasms.testing.fake_smtp import FakeSmtpServer
from tests.conftest import make_rule
from tests.worker_processes import sevenio_accepts

UTC = dt.UTC
DATA = Path(__file__).resolve().parent / "data" / "practice"
IMPORTED_AT = dt.datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
SIGNING_SECRET = "e2e-signing-secret"


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
