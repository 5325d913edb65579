"""seven.io inbound SMS (event ``sms_mo``): signed requests through the real view, payload mapping.

Requests are signed with ``test_webhooks.signed_headers`` (seven.io's documented algorithm, key made per
run). The STOP tests prove STYLE.md §9: the withdrawal is written in the transaction that stores the reply.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError
from django.db.models import QuerySet
from django.test import Client, RequestFactory

from alphasms.appointments.models import Customer
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.sevenio import webhooks
from alphasms.messaging.gateways.sevenio.tests.test_webhooks import SECRET, signed_headers
from alphasms.messaging.models import (
    AttemptOutcome,
    DeliveryAttempt,
    InboundMessage,
    MessageStatus,
    OutboundMessage,
    ReplyOutcome,
)
from alphasms.messaging.services.lifecycle import set_status
from alphasms.privacy.models import Consent
from tests.conftest import alphasms_settings, location, make_appointment, make_customer, make_rule  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures"
HOOK = "/hooks/sevenio/mo/"
URL = "http://testserver" + HOOK
NUMBER = "+4915112345678"  # the fixture's data.sender as E.164

pytestmark = pytest.mark.django_db


def mo_body(**data: str) -> bytes:
    """The fixture's payload, received now, with ``data`` fields replaced."""
    payload = json.loads((FIXTURES / "sms-mo-reply.json").read_text())["payload"]
    payload["data"].update({"time": str(int(time.time())), **data})
    return json.dumps(payload).encode()


def post(body: bytes, headers: dict[str, str] | None = None, *, client: Client | None = None) -> Any:
    client = client or Client(enforce_csrf_checks=True)
    headers = signed_headers(body, url=URL) if headers is None else headers
    return client.post(HOOK, data=body, content_type="application/json", headers=headers)


@pytest.fixture
def person(alphasms_settings, location) -> Customer:  # noqa: F811
    """A customer whose first SMS reminder was sent an hour ago; the second is still planned."""
    alphasms_settings["SEVENIO_SIGNING_SECRET"] = SECRET
    make_rule(offset_s=3 * 24 * 3600, window_start=dt.time(0), window_end=dt.time(23, 59, 59))
    make_rule(offset_s=24 * 3600, window_start=dt.time(0), window_end=dt.time(23, 59, 59))
    customer = make_customer(mobile=NUMBER)
    make_appointment(location, customer, dt.datetime.now(dt.UTC) + dt.timedelta(days=5))
    plan()
    first = OutboundMessage.objects.earliest("due_at")
    sent_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    DeliveryAttempt.objects.create(
        message=first, gateway="sevenio", started_at=sent_at, outcome=AttemptOutcome.SENT
    )
    set_status(first, MessageStatus.SENT, gateway="sevenio")
    return customer


def sms_consent_active(customer: Customer) -> bool:
    return Consent.objects.filter(customer=customer, channel="sms", opted_out_at__isnull=True).exists()


def pending_sms(customer: Customer) -> QuerySet[OutboundMessage]:
    return OutboundMessage.objects.filter(customer=customer, status=MessageStatus.PLANNED)


class TestStopThroughTheView:
    def test_a_signed_stop_withdraws_consent_and_cancels_pending_sms(self, person):
        assert pending_sms(person).count() == 1

        response = post(mo_body())

        assert response.status_code == 200
        reply = InboundMessage.objects.get()
        assert (reply.gateway, reply.from_e164, reply.text, reply.outcome) == (
            "sevenio",
            NUMBER,
            "Stop bitte",
            ReplyOutcome.STOP,
        )
        assert reply.customer == person and reply.handled_at is not None
        assert not sms_consent_active(person)
        assert Consent.objects.get(customer=person, channel="sms").opted_out_source == "reply"
        assert pending_sms(person).count() == 0
        email = Consent.objects.get(customer=person, channel="email")
        assert email.opted_out_at is None  # STOP is about SMS only

    def test_a_failing_consent_update_stores_no_reply_and_a_resend_applies_once(self, person, monkeypatch):
        real_update = QuerySet.update

        def failing_update(queryset: QuerySet[Any], **kwargs: Any) -> int:
            if queryset.model is Consent:
                raise DatabaseError("disk I/O error")
            return real_update(queryset, **kwargs)

        monkeypatch.setattr(QuerySet, "update", failing_update)
        body = mo_body()
        response = post(body, client=Client(enforce_csrf_checks=True, raise_request_exception=False))

        assert response.status_code == 500  # seven.io retries
        assert InboundMessage.objects.count() == 0
        assert sms_consent_active(person) and pending_sms(person).count() == 1

        monkeypatch.setattr(QuerySet, "update", real_update)
        assert post(body).status_code == 200  # the provider's retry, freshly signed
        assert post(body).status_code == 200  # and once more: stored once

        assert InboundMessage.objects.count() == 1
        assert not sms_consent_active(person) and pending_sms(person).count() == 0

    def test_a_duplicate_reply_is_one_row(self, person):
        body = mo_body(text="JA")
        for _ in range(3):
            assert post(body).status_code == 200

        assert InboundMessage.objects.count() == 1


class TestForgedReplies:
    @pytest.mark.parametrize(
        "forge",
        [
            lambda body: (body, signed_headers(body, url=URL, secret="0" * 64)),
            lambda body: (body.replace(b"Stop bitte", b"JA"), signed_headers(body, url=URL)),
            lambda body: (body, signed_headers(body, url="http://testserver/hooks/sevenio/dlr/")),
            lambda body: (body, {}),
        ],
        ids=["wrong key", "body changed", "signed for the DLR URL", "unsigned"],
    )
    def test_a_forged_reply_changes_nothing(self, person, forge):
        body, headers = forge(mo_body())

        assert post(body, headers).status_code == 400
        assert InboundMessage.objects.count() == 0
        assert sms_consent_active(person) and pending_sms(person).count() == 1

    def test_it_answers_500_without_a_signing_key(self, person, alphasms_settings):  # noqa: F811
        alphasms_settings["SEVENIO_SIGNING_SECRET"] = ""
        body = mo_body()

        assert post(body).status_code == 500
        assert InboundMessage.objects.count() == 0


class TestRoutes:
    def test_it_answers_a_head_probe(self, alphasms_settings):  # noqa: F811
        assert Client().head(HOOK).status_code == 200

    def test_a_gateway_without_inbound_sms_is_not_found(self, alphasms_settings):  # noqa: F811
        assert (
            Client().post("/hooks/fake/mo/", data=b"{}", content_type="application/json").status_code == 404
        )

    def test_an_unknown_gateway_is_not_found(self, alphasms_settings):  # noqa: F811
        assert Client().head("/hooks/nosuchgateway/mo/").status_code == 404

    def test_a_delivery_report_on_the_reply_hook_stores_nothing(self, person):
        body = (FIXTURES / "dlr-delivered.json").read_text()
        body_bytes = json.dumps(json.loads(body)["payload"]).encode()

        assert post(body_bytes).status_code == 200
        assert InboundMessage.objects.count() == 0


def parse(body: bytes) -> list[Any]:
    return webhooks.parse_mo(RequestFactory().post(HOOK, data=body, content_type="application/json"))


class TestPayloadMapping:
    def test_it_maps_the_fixture(self):
        payload = json.loads((FIXTURES / "sms-mo-reply.json").read_text())["payload"]
        (event,) = parse(json.dumps(payload).encode())

        assert (event.from_e164, event.text, event.gateway_message_id) == (NUMBER, "Stop bitte", "681591")
        assert event.received_at == dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
        assert event.raw["data"]["system"] == "491771783130"

    def test_it_ignores_the_documented_example_whose_sender_is_a_name(self):
        payload = json.loads((FIXTURES / "sms-mo.json").read_text())["payload"]

        assert parse(json.dumps(payload).encode()) == []

    @pytest.mark.parametrize("sender", ["4915112345678", "+4915112345678", "004915112345678"])
    def test_it_reads_the_sender_in_international_forms(self, sender):
        (event,) = parse(mo_body(sender=sender))

        assert event.from_e164 == NUMBER

    @pytest.mark.parametrize("sender", ["", "Praxis", "015112345678", "49151123456789012"])
    def test_it_ignores_senders_that_are_not_international_numbers(self, sender):
        assert parse(mo_body(sender=sender)) == []

    def test_it_falls_back_to_the_webhook_timestamp_in_german_time(self):
        body = json.loads(mo_body())
        del body["data"]["time"]
        (event,) = parse(json.dumps(body).encode())

        assert event.received_at == dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)

    @pytest.mark.parametrize("body", [b"data[text]=JA", b"[]", b'{"webhook_event": "sms_mo"}'])
    def test_it_ignores_bodies_it_cannot_read(self, body):
        assert parse(body) == []
