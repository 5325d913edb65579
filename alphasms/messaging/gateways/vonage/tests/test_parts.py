"""A two-part SMS end to end: the real send answer's part ids, then one signed DLR per part through the real
webhook view and ``services.reports.apply_reports``; the message is delivered only when both parts are.

The rows are set up as ``tests/messaging/test_reports.py`` does (planner, then an attempt); its parts
are recorded from the gateway's ``SendResult.part_ids`` exactly as the dispatch worker records them.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from alphasms.appointments.models import Location
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.base import OutboundSms
from alphasms.messaging.gateways.vonage.gateway import VonageGateway
from alphasms.messaging.gateways.vonage.tests.test_send import FIXTURES
from alphasms.messaging.gateways.vonage.tests.test_webhooks import SECRET, dlr, sign
from alphasms.messaging.models import (
    AttemptOutcome,
    AttemptPart,
    DeliveryAttempt,
    DeliveryReport,
    MessageStatus,
    OutboundMessage,
)
from alphasms.messaging.services.lifecycle import set_status
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer
from tests.conftest import make_appointment, make_customer, make_rule

HOOK = "/hooks/vonage/dlr/"
PART_1, PART_2 = "1A00000012AB34C1", "1A00000012AB34C2"

pytestmark = pytest.mark.django_db


@pytest.fixture
def vonage_settings(tmp_path: Any) -> Iterator[None]:
    values = {
        "SMS_GATEWAY": "vonage",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "SMS_SENDER_ID": "Praxis",
        "VONAGE_API_KEY": "ab12cd34",
        "VONAGE_API_SECRET": "s3cr3t-1a2b3c4d",
        "VONAGE_SIGNATURE_SECRET": SECRET,
        "PUBLIC_URL": "https://praxis.example",
        "HTTP_TIMEOUT_S": 2,
    }
    with override_settings(ALPHASMS={**settings.ALPHASMS, **values}):
        yield


@pytest.fixture
def sent_in_two_parts(vonage_settings: None) -> Iterator[DeliveryAttempt]:
    """A planned reminder sent through Vonage (fake peer answering with two parts), recorded as sent."""
    location = Location.objects.create(name="Praxis Sonnenhof", phone="+49 30 1234567")
    make_rule()
    make_appointment(location, make_customer(), dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    plan()
    message = OutboundMessage.objects.get()
    attempt = DeliveryAttempt.objects.create(
        message=message, gateway="vonage", started_at=dt.datetime.now(dt.UTC)
    )
    with (
        FakeHttpServer() as server,
        override_settings(ALPHASMS={**settings.ALPHASMS, "VONAGE_BASE_URL": server.url}),
    ):
        server.enqueue(CannedResponse.from_fixture(FIXTURES / "sms-sent-two-parts.json"))
        result = VonageGateway().send(
            OutboundSms(
                reference=str(attempt.id), to_e164=message.recipient, text=message.body, sender_id="Praxis"
            )
        )
    assert server.requests[0].form()["client-ref"] == [str(attempt.id)]
    attempt.outcome, attempt.gateway_message_id = AttemptOutcome.SENT, result.gateway_message_id
    attempt.segments = result.segments
    attempt.save()
    AttemptPart.objects.bulk_create(  # as services/dispatch.py records a SendResult
        AttemptPart(attempt=attempt, sequence=n, gateway_message_id=part_id)
        for n, part_id in enumerate(result.part_ids, 1)
    )
    set_status(message, MessageStatus.SENT)
    yield attempt


def post(values: dict[str, str]) -> Any:
    body = urllib.parse.urlencode(values)
    return Client(enforce_csrf_checks=True).post(
        HOOK, data=body, content_type="application/x-www-form-urlencoded"
    )


def part_dlr(
    attempt: DeliveryAttempt, part_id: str, status: str = "delivered", **fields: str
) -> dict[str, str]:
    return sign(dlr(status, messageId=part_id, **{"client-ref": str(attempt.id), **fields}))


def message_status() -> str:
    return OutboundMessage.objects.get().status


def test_the_send_answer_gives_one_part_row_per_part(sent_in_two_parts):
    parts = list(sent_in_two_parts.parts.values_list("sequence", "gateway_message_id", "status"))

    assert parts == [(1, PART_1, "accepted"), (2, PART_2, "accepted")]
    assert (sent_in_two_parts.gateway_message_id, sent_in_two_parts.segments) == (PART_1, 2)


def test_two_delivered_parts_combine_into_one_delivered_message(sent_in_two_parts):
    assert post(part_dlr(sent_in_two_parts, PART_1)).status_code == 200
    assert message_status() == MessageStatus.SENT  # one part delivered is not the message delivered

    assert post(part_dlr(sent_in_two_parts, PART_2)).status_code == 200
    assert message_status() == MessageStatus.DELIVERED
    assert sorted(sent_in_two_parts.parts.values_list("status", flat=True)) == ["delivered", "delivered"]
    assert DeliveryReport.objects.count() == 2


def test_a_retried_receipt_with_a_new_signature_is_stored_once(sent_in_two_parts):
    post(part_dlr(sent_in_two_parts, PART_1))
    post(part_dlr(sent_in_two_parts, PART_1))  # Vonage retries: new timestamp, nonce and sig

    assert DeliveryReport.objects.count() == 1


def test_one_failed_part_makes_the_message_undelivered(sent_in_two_parts):
    post(part_dlr(sent_in_two_parts, PART_1))
    post(part_dlr(sent_in_two_parts, PART_2, "failed", **{"err-code": "3"}))
    post(part_dlr(sent_in_two_parts, PART_2, "delivered"))  # late and contradicting: the part stays failed

    assert message_status() == MessageStatus.UNDELIVERED
    assert DeliveryReport.objects.filter(provider_error_code="3").count() == 1


def test_a_forged_receipt_changes_nothing(sent_in_two_parts):
    forged = part_dlr(sent_in_two_parts, PART_1)
    forged["messageId"] = PART_2

    assert post(forged).status_code == 400
    assert post(dlr(messageId=PART_1)).status_code == 400  # unsigned
    assert message_status() == MessageStatus.SENT
    assert DeliveryReport.objects.count() == 0
    assert set(sent_in_two_parts.parts.values_list("status", flat=True)) == {"accepted"}
