"""SMS Gateway for Android webhooks: the signature check through the real view, DLR and MO mapping.

Requests are signed here with a key generated per test run, following the documented algorithm
(https://docs.sms-gate.app/features/webhooks/ "Payload Signing", read 2026-11-30: hex HMAC-SHA256 of the
raw body followed by X-Timestamp) independently of the code under test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.http import HttpRequest
from django.test import Client, RequestFactory, override_settings
from django.urls import Resolver404, resolve

from alphasms.appointments.models import Location
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.android import webhooks
from alphasms.messaging.gateways.base import DeliveryStatus
from alphasms.messaging.gateways.errors import WebhookForged
from alphasms.messaging.models import (
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryReport,
    MessageStatus,
    OutboundMessage,
)
from alphasms.messaging.services.lifecycle import set_status
from alphasms.testing.prism import REPO_ROOT
from tests.conftest import make_appointment, make_customer, make_rule

FIXTURES = Path(__file__).parent / "fixtures"
SPEC = REPO_ROOT / "tests" / "data" / "provider-specs" / "android-sms-gateway.swagger.json"
KEY = secrets.token_urlsafe(16)  # the app generates a short random key; any string works
DLR_HOOK, MO_HOOK = "/hooks/android/dlr/", "/hooks/android/mo/"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"


def payload(name: str, **changes: Any) -> bytes:
    envelope = json.loads((FIXTURES / name).read_text())["payload"]
    envelope["payload"].update(changes)
    return json.dumps(envelope).encode("utf-8")


def signed_headers(body: bytes, *, at: float | None = None, key: str = KEY) -> dict[str, str]:
    """X-Timestamp and X-Signature as the app sends them (PayloadSingingPlugin.kt)."""
    timestamp = str(int(time.time() if at is None else at))
    signature = hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()
    return {"X-Timestamp": timestamp, "X-Signature": signature}


@pytest.fixture(autouse=True)
def signing_key() -> Iterator[None]:
    values = {"ANDROID_WEBHOOK_SIGNING_KEY": KEY, "SMS_GATEWAY": "fake", "SMS_SENDER_ID": "Praxis"}
    with override_settings(ALPHASMS={**settings.ALPHASMS, **values}):
        yield


def post(body: bytes, headers: dict[str, str], hook: str = DLR_HOOK) -> Any:
    client = Client(enforce_csrf_checks=True)
    return client.post(hook, data=body, content_type="application/json", headers=headers)


def factory_request(body: bytes, headers: dict[str, str] | None = None) -> HttpRequest:
    return RequestFactory().post(DLR_HOOK, data=body, content_type="application/json", headers=headers or {})


@pytest.fixture
def sent_attempt(db: Any) -> DeliveryAttempt:
    """A reminder the phone accepted: attempt id = the ``id`` we sent = ``messageId`` in its webhooks."""
    location = Location.objects.create(name="Praxis Sonnenhof", phone="+49 30 1234567")
    make_rule()
    make_appointment(location, make_customer(), dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    plan()
    message = OutboundMessage.objects.get()
    set_status(message, MessageStatus.SENT)
    return DeliveryAttempt.objects.create(
        id=REFERENCE,
        message=message,
        gateway="android",
        started_at=dt.datetime.now(dt.UTC),
        outcome=AttemptOutcome.SENT,
        gateway_message_id=REFERENCE,
    )


@pytest.mark.django_db
class TestSignedReports:
    def test_a_delivered_report_marks_the_reminder_delivered_once(self, sent_attempt):
        body = payload("webhook-sms-delivered.json")
        assert post(body, signed_headers(body)).status_code == 200
        assert post(body, signed_headers(body, at=time.time() + 10)).status_code == 200  # the app's retry

        assert OutboundMessage.objects.get().status == MessageStatus.DELIVERED
        report = DeliveryReport.objects.get()
        assert (report.status, report.provider_status) == ("delivered", "sms:delivered")

    def test_a_send_failure_marks_the_reminder_undelivered(self, sent_attempt):
        body = payload("webhook-sms-failed.json")
        assert post(body, signed_headers(body)).status_code == 200

        assert OutboundMessage.objects.get().status == MessageStatus.UNDELIVERED
        report = DeliveryReport.objects.get()
        assert (report.status, report.provider_error_code) == ("failed", "RESULT_ERROR_NO_SERVICE")

    def test_a_report_for_a_message_we_did_not_send_is_acknowledged(self, sent_attempt, caplog):
        body = payload("webhook-sms-sent.json", messageId="NanoIdFromAnotherClient")
        with caplog.at_level(logging.INFO, logger="alphasms.webhooks"):
            assert post(body, signed_headers(body)).status_code == 200  # 200: the phone stops retrying

        assert "gateway=android events=1 applied=0" in caplog.text
        assert DeliveryReport.objects.count() == 0

    def test_a_reply_sent_to_the_dlr_hook_is_not_a_report(self, sent_attempt):
        body = payload("webhook-sms-received.json")
        assert post(body, signed_headers(body)).status_code == 200

        assert DeliveryReport.objects.count() == 0


@pytest.mark.django_db
class TestForgedReports:
    def assert_refused(self, body: bytes, headers: dict[str, str]) -> None:
        assert post(body, headers).status_code == 400
        assert DeliveryReport.objects.count() == 0
        assert OutboundMessage.objects.get().status == MessageStatus.SENT

    def test_it_rejects_a_wrong_key(self, sent_attempt):
        body = payload("webhook-sms-delivered.json")
        self.assert_refused(body, signed_headers(body, key=secrets.token_urlsafe(16)))

    def test_it_rejects_a_body_changed_after_signing(self, sent_attempt):
        body = payload("webhook-sms-sent.json")
        forged = body.replace(b"sms:sent", b"sms:delivered")
        self.assert_refused(forged, signed_headers(body))

    def test_it_rejects_a_timestamp_changed_after_signing(self, sent_attempt):
        body = payload("webhook-sms-delivered.json")
        headers = signed_headers(body)
        self.assert_refused(body, {**headers, "X-Timestamp": str(int(headers["X-Timestamp"]) + 1)})

    def test_it_rejects_a_signature_over_the_body_alone(self, sent_attempt):
        body = payload("webhook-sms-delivered.json")
        headers = {**signed_headers(body), "X-Signature": hmac.new(KEY.encode(), body, "sha256").hexdigest()}
        self.assert_refused(body, headers)

    @pytest.mark.parametrize("missing", ["X-Signature", "X-Timestamp"])
    def test_it_rejects_a_report_without_signature_headers(self, sent_attempt, missing):
        body = payload("webhook-sms-delivered.json")
        headers = signed_headers(body)
        del headers[missing]
        self.assert_refused(body, headers)

    @pytest.mark.parametrize("offset_s", [-webhooks.REPLAY_WINDOW_S - 5, webhooks.REPLAY_WINDOW_S + 5])
    def test_it_rejects_a_timestamp_outside_the_replay_window(self, sent_attempt, offset_s):
        body = payload("webhook-sms-delivered.json")
        self.assert_refused(body, signed_headers(body, at=time.time() + offset_s))

    def test_it_rejects_a_timestamp_that_is_not_unix_seconds(self, sent_attempt):
        body = payload("webhook-sms-delivered.json")
        timestamp = "2026-11-30T10:00:00Z"
        signature = hmac.new(KEY.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()
        self.assert_refused(body, {"X-Timestamp": timestamp, "X-Signature": signature})

    def test_it_answers_500_when_no_signing_key_is_configured(self, sent_attempt):
        body = payload("webhook-sms-delivered.json")
        alphasms = {**settings.ALPHASMS, "ANDROID_WEBHOOK_SIGNING_KEY": ""}
        with override_settings(ALPHASMS=alphasms):
            assert post(body, signed_headers(body)).status_code == 500  # our fault: the phone retries

        assert DeliveryReport.objects.count() == 0

    def test_it_answers_a_head_probe(self):
        assert Client().head(DLR_HOOK).status_code == 200


class TestDlrMapping:
    @pytest.mark.parametrize(
        ("name", "status", "second"),
        [
            ("webhook-sms-sent.json", DeliveryStatus.SENT, 44),
            ("webhook-sms-delivered.json", DeliveryStatus.DELIVERED, 51),
            ("webhook-sms-failed.json", DeliveryStatus.FAILED, 45),
        ],
    )
    def test_it_maps_each_event_to_our_reference(self, name, status, second):
        (event,) = webhooks.parse_dlr(factory_request(payload(name)))

        assert (event.status, event.reference, event.gateway_message_id) == (status, REFERENCE, REFERENCE)
        assert event.occurred_at == dt.datetime(2026, 11, 30, 9, 15, second, tzinfo=dt.UTC)  # 10:15 CET
        assert event.provider_status == json.loads(payload(name))["event"]
        assert event.raw["webhookId"]

    @pytest.mark.parametrize(
        ("reason", "status", "code"),
        [
            ("TTL expired", DeliveryStatus.EXPIRED, "TTL expired"),
            ("Delivery result from SC +491722270333: 64", DeliveryStatus.UNDELIVERED, "64"),
            ("Delivery result: 2", DeliveryStatus.UNDELIVERED, "2"),
            (
                "Send result: RESULT_ERROR_LIMIT_EXCEEDED (Failed because we reached the sending queue "
                "limit)",
                DeliveryStatus.FAILED,
                "RESULT_ERROR_LIMIT_EXCEEDED",
            ),
            ("Can't send message: No SIMs found", DeliveryStatus.FAILED, "Can't send message: No SIMs found"),
            ("", DeliveryStatus.FAILED, ""),
        ],
    )
    def test_it_splits_failures_by_reason(self, reason, status, code):
        body = payload("webhook-sms-failed.json", reason=reason)
        (event,) = webhooks.parse_dlr(factory_request(body))

        assert (event.status, event.provider_error_code) == (status, code)

    def test_every_message_event_of_the_published_spec_is_handled(self):
        events = json.loads(SPEC.read_text())["components"]["schemas"]["smsgateway.WebhookEvent"]["enum"]
        handled = set(webhooks.DLR_EVENTS) | {"sms:received"}
        assert handled <= set(events)
        # not ours: data SMS, MMS and the phone's ping
        assert set(events) - handled == {"sms:data-received", "mms:received", "mms:downloaded", "system:ping"}

    @pytest.mark.parametrize(
        "body",
        [b"not json", b"[]", b'{"event": "sms:delivered"}', b'{"event": "system:ping", "payload": {}}'],
    )
    def test_it_ignores_bodies_it_cannot_read(self, body):
        assert webhooks.parse_dlr(factory_request(body)) == []

    def test_a_time_without_offset_is_left_open(self):
        body = payload("webhook-sms-delivered.json", deliveredAt="2026-11-30T10:15:51")
        (event,) = webhooks.parse_dlr(factory_request(body))

        assert event.occurred_at is None


class TestReplies:
    def test_it_maps_the_documented_example(self):
        (event,) = webhooks.parse_mo(factory_request(payload("webhook-sms-received.json")))

        assert event.text == "Android is always a sweet treat!"
        assert event.from_e164 == "+496505551212"  # no "+": read as a German national number
        assert event.received_at == dt.datetime(2024, 6, 22, 8, 46, 11, tzinfo=dt.UTC)
        assert event.gateway_message_id == "Ey6ECgOkVVFjz3CL48B8C"  # the envelope id, not messageId
        assert event.raw["payload"]["messageId"] == "abc123"

    def test_two_identical_replies_stay_two_events(self):
        # messageId is derived from the content: "JA" twice from one number gives the same messageId
        first = json.loads(payload("webhook-sms-received.json", phoneNumber="+4915112345678", message="JA"))
        second = {**first, "id": "Zz9YyXx8WwVv7UuTt6SsR"}
        events = [
            *webhooks.parse_mo(factory_request(json.dumps(first).encode())),
            *webhooks.parse_mo(factory_request(json.dumps(second).encode())),
        ]

        assert [e.from_e164 for e in events] == ["+4915112345678", "+4915112345678"]
        assert events[0].gateway_message_id != events[1].gateway_message_id

    def test_a_sender_that_is_no_number_is_dropped(self):
        body = payload("webhook-sms-received.json", phoneNumber="DHL")
        assert webhooks.parse_mo(factory_request(body)) == []

    @pytest.mark.parametrize("name", ["webhook-sms-sent.json", "webhook-sms-delivered.json"])
    def test_reports_are_not_replies(self, name):
        assert webhooks.parse_mo(factory_request(payload(name))) == []

    def test_a_reply_is_verified_like_a_report(self):
        body = payload("webhook-sms-received.json")
        webhooks.verify_webhook(factory_request(body, signed_headers(body)))
        with pytest.raises(WebhookForged):
            webhooks.verify_webhook(factory_request(body, signed_headers(body, key="wrong")))


def _mo_route_exists() -> bool:
    try:
        resolve(MO_HOOK)
    except Resolver404:
        return False
    return True


@pytest.mark.django_db
@pytest.mark.skipif(not _mo_route_exists(), reason="the /hooks/<slug>/mo/ route is not merged yet")
class TestRepliesThroughTheView:
    """Through the MO view and services.replies (looked up lazily: both are being added elsewhere)."""

    def stored(self) -> list[Any]:
        return list(apps.get_model("messaging", "InboundMessage").objects.order_by("pk"))

    def test_a_signed_reply_is_stored_once_although_the_phone_retries(self):
        body = payload("webhook-sms-received.json", phoneNumber="+4915112345678", message="JA")
        assert post(body, signed_headers(body), hook=MO_HOOK).status_code == 200
        assert post(body, signed_headers(body, at=time.time() + 10), hook=MO_HOOK).status_code == 200

        (reply,) = self.stored()
        assert (reply.gateway, reply.from_e164, reply.text) == ("android", "+4915112345678", "JA")
        assert reply.gateway_message_id == "Ey6ECgOkVVFjz3CL48B8C"

    def test_the_same_text_twice_is_two_replies(self):
        first = payload("webhook-sms-received.json", phoneNumber="+4915112345678", message="JA")
        second = first.replace(b"Ey6ECgOkVVFjz3CL48B8C", b"Zz9YyXx8WwVv7UuTt6SsR")  # same messageId
        for body in (first, second):
            assert post(body, signed_headers(body), hook=MO_HOOK).status_code == 200

        assert len(self.stored()) == 2

    def test_a_forged_reply_is_refused_and_not_stored(self):
        body = payload("webhook-sms-received.json", phoneNumber="+4915112345678", message="STOP")
        assert post(body, signed_headers(body, key="wrong"), hook=MO_HOOK).status_code == 400

        assert self.stored() == []
