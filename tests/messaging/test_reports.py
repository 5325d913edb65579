"""Delivery reports through the real webhook view: verified, stored once, status only moves forward."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.sevenio.tests.test_webhooks import SECRET, signed_headers
from alphasms.messaging.models import (
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryReport,
    MessageStatus,
    OutboundMessage,
)
from alphasms.messaging.services.lifecycle import set_status
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
HOOK = "/hooks/sevenio/dlr/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_attempt(alphasms_settings, location):
    alphasms_settings["SEVENIO_SIGNING_SECRET"] = SECRET
    make_rule()
    make_appointment(location, make_customer(), dt.datetime.now(UTC) + dt.timedelta(days=2))
    plan()
    message = OutboundMessage.objects.get()
    set_status(message, MessageStatus.SENT)
    return DeliveryAttempt.objects.create(
        message=message,
        gateway="sevenio",
        started_at=dt.datetime.now(UTC),
        outcome=AttemptOutcome.SENT,
        gateway_message_id="77190218573",
    )


def dlr(status: str, msg_id: str = "77190218573") -> bytes:
    return json.dumps(
        {
            "webhook_event": "dlr",
            "webhook_timestamp": "2026-11-30 10:00:00",
            "data": {"msg_id": msg_id, "status": status, "timestamp": "2026-11-30 10:00:00"},
        }
    ).encode()


def post(body: bytes, headers: dict[str, str] | None = None):
    headers = signed_headers(body) if headers is None else headers
    return Client(enforce_csrf_checks=True).post(
        HOOK, data=body, content_type="application/json", headers=headers
    )


def test_a_delivered_report_marks_the_message_delivered_once(sent_attempt):
    body = dlr("DELIVERED")
    assert post(body).status_code == 200
    assert post(body).status_code == 200  # the provider retries: still one event
    message = OutboundMessage.objects.get()
    assert message.status == MessageStatus.DELIVERED
    assert DeliveryReport.objects.count() == 1
    assert DeliveryReport.objects.get().provider_status == "DELIVERED"


def test_a_late_intermediate_report_never_moves_the_status_backwards(sent_attempt):
    post(dlr("DELIVERED"))
    post(dlr("TRANSMITTED"))
    assert OutboundMessage.objects.get().status == MessageStatus.DELIVERED
    assert DeliveryReport.objects.count() == 2


def test_an_undelivered_report_marks_the_message_undelivered(sent_attempt):
    post(dlr("NOTDELIVERED"))
    assert OutboundMessage.objects.get().status == MessageStatus.UNDELIVERED


def test_a_forged_report_changes_nothing(sent_attempt):
    body = dlr("DELIVERED")
    headers = signed_headers(body, secret="not-the-secret")
    assert post(body, headers).status_code == 400
    assert post(body, {}).status_code == 400
    assert OutboundMessage.objects.get().status == MessageStatus.SENT
    assert DeliveryReport.objects.count() == 0


def test_a_report_for_an_unknown_message_is_acknowledged_and_dropped(sent_attempt):
    assert post(dlr("DELIVERED", msg_id="999")).status_code == 200
    assert DeliveryReport.objects.count() == 0


def test_a_report_resolves_an_unknown_attempt_and_its_pending_resend(sent_attempt):
    message = sent_attempt.message
    sent_attempt.outcome = AttemptOutcome.UNKNOWN
    sent_attempt.save()
    set_status(message, MessageStatus.QUEUED, possible_duplicate=True)
    post(dlr("DELIVERED"))
    message.refresh_from_db()
    sent_attempt.refresh_from_db()
    assert (message.status, sent_attempt.outcome) == (MessageStatus.DELIVERED, AttemptOutcome.SENT)


@pytest.fixture
def two_part_attempt(sent_attempt):
    from alphasms.messaging.models import AttemptPart

    AttemptPart.objects.create(attempt=sent_attempt, sequence=1, gateway_message_id="part-1")
    AttemptPart.objects.create(attempt=sent_attempt, sequence=2, gateway_message_id="part-2")
    return sent_attempt


def test_a_message_in_parts_is_delivered_only_when_every_part_is(two_part_attempt):
    post(dlr("DELIVERED", msg_id="part-2"))
    assert OutboundMessage.objects.get().status == MessageStatus.SENT
    post(dlr("DELIVERED", msg_id="part-1"))
    assert OutboundMessage.objects.get().status == MessageStatus.DELIVERED
    assert sorted(two_part_attempt.parts.values_list("status", flat=True)) == ["delivered", "delivered"]


def test_one_failed_part_makes_the_message_undelivered(two_part_attempt):
    post(dlr("DELIVERED", msg_id="part-1"))
    post(dlr("NOTDELIVERED", msg_id="part-2"))
    post(dlr("TRANSMITTED", msg_id="part-2"))  # late and out of order: the part stays failed
    assert OutboundMessage.objects.get().status == MessageStatus.UNDELIVERED
