"""websms callbacks through the real view: the signed notificationCallbackUrl is verified, statuses mapped.

Payloads are the documented shapes (fixtures/callbacks.json); ``ref``/``ts``/``sig`` are signed here by an
independent HMAC, not by the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings

from alphasms.messaging.gateways.base import DeliveryStatus
from alphasms.messaging.gateways.websms import webhooks
from alphasms.messaging.models import DeliveryReport

FIXTURES = Path(__file__).parent / "fixtures"
CALLBACKS = json.loads((FIXTURES / "callbacks.json").read_text())
SECRET = "websms-dlr-secret-for-tests"
HOOK = "/hooks/websms/dlr/"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"


def signed(reference: str = REFERENCE, at: float | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time() if at is None else at))
    sig = hmac.new(secret.encode(), f"{reference}\n{ts}".encode(), hashlib.sha256).hexdigest()
    return {"ref": reference, "ts": ts, "sig": sig}


@pytest.fixture(autouse=True)
def dlr_secret():
    values = {"WEBSMS_DLR_SECRET": SECRET, "PUBLIC_URL": "https://praxis.example"}
    with override_settings(ALPHASMS={**settings.ALPHASMS, **values}):
        yield


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


def post(client: Client, query: dict[str, str], payload: Any = None) -> Any:
    body = json.dumps(CALLBACKS["delivered"] if payload is None else payload)
    path = HOOK + "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return client.post(path, data=body, content_type="application/json")


@pytest.mark.django_db
class TestVerifiedReports:
    def test_it_accepts_a_correctly_signed_report(self, client, caplog):
        with caplog.at_level(logging.INFO, logger="alphasms.webhooks"):
            response = post(client, signed())

        assert response.status_code == 200
        assert response.json() == {"statusCode": 2000, "statusMessage": "ok"}  # websms expects this answer
        assert "gateway=websms events=1" in caplog.text

    def test_the_url_we_hand_to_websms_verifies(self, client):
        url = webhooks.callback_url(REFERENCE)
        path_and_query = url.removeprefix("https://praxis.example")

        response = client.post(path_and_query, json.dumps(CALLBACKS["delivered"]), "application/json")
        assert response.status_code == 200

    def test_it_accepts_a_report_that_arrives_days_later(self, client):
        assert post(client, signed(at=time.time() - 3 * 24 * 3600)).status_code == 200


@pytest.mark.django_db
class TestForgedReports:
    def assert_rejected(self, response: Any) -> None:
        assert response.status_code == 400
        assert DeliveryReport.objects.count() == 0

    def test_it_rejects_a_wrong_signature(self, client):
        self.assert_rejected(post(client, signed(secret="another-secret")))

    def test_a_url_for_one_message_cannot_report_on_another(self, client):
        other = "11111111-2222-4333-8444-555555555555"
        self.assert_rejected(post(client, {**signed(), "ref": other}))

    def test_the_body_must_name_the_signed_message(self, client):
        payload = {**CALLBACKS["delivered"], "clientMessageId": "11111111-2222-4333-8444-555555555555"}
        self.assert_rejected(post(client, signed(), payload))

    @pytest.mark.parametrize("missing", ["ref", "ts", "sig"])
    def test_it_rejects_a_callback_without_its_signature_fields(self, client, missing):
        query = signed()
        del query[missing]
        self.assert_rejected(post(client, query))

    @pytest.mark.parametrize(
        "offset_s", [-webhooks.REPLAY_WINDOW_S - 5, webhooks.CLOCK_SKEW_S + 60], ids=["stale", "future"]
    )
    def test_it_rejects_a_timestamp_outside_the_replay_window(self, client, offset_s):
        self.assert_rejected(post(client, signed(at=time.time() + offset_s)))

    def test_it_rejects_a_timestamp_that_is_not_a_number(self, client):
        self.assert_rejected(post(client, {**signed(), "ts": "2026-11-30T10:00:00Z"}))

    def test_it_answers_500_when_no_secret_is_configured(self, client):
        with override_settings(ALPHASMS={**settings.ALPHASMS, "WEBSMS_DLR_SECRET": ""}):
            assert post(client, signed()).status_code == 500

    def test_mo_is_not_accepted_through_the_view(self, client):
        assert client.post("/hooks/websms/mo/", "{}", "application/json").status_code == 404


def request_for(payload: Any, query: dict[str, str] | None = None) -> Any:
    path = HOOK + "?" + "&".join(f"{k}={v}" for k, v in (query or signed()).items())
    return RequestFactory().post(path, data=json.dumps(payload), content_type="application/json")


class TestPayloadMapping:
    def test_it_maps_the_documented_report(self):
        (event,) = webhooks.parse_dlr(request_for(CALLBACKS["delivered"]))

        assert (event.status, event.reference, event.gateway_message_id) == (
            DeliveryStatus.DELIVERED,
            REFERENCE,
            "0051949fe700053c4615",
        )
        assert event.occurred_at == datetime(2013, 5, 27, 11, 36, 5, tzinfo=UTC)
        assert event.raw["notificationId"] == "050f9005180a2a212469"

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ("accepted", DeliveryStatus.SENT),
            ("delivered", DeliveryStatus.DELIVERED),
            ("undelivered", DeliveryStatus.UNDELIVERED),
            ("expired", DeliveryStatus.EXPIRED),
            ("deleted", DeliveryStatus.UNDELIVERED),
            ("rejected", DeliveryStatus.REJECTED),
            ("something-new", DeliveryStatus.UNKNOWN),
        ],
    )
    def test_it_maps_each_status(self, status, expected):
        payload = {**CALLBACKS["delivered"], "deliveryReportMessageStatus": status}
        (event,) = webhooks.parse_dlr(request_for(payload))

        assert (event.status, event.provider_status) == (expected, status)

    @pytest.mark.parametrize("payload", [CALLBACKS["mo_text"], [1, 2], "text"])
    def test_it_returns_no_report_for_other_bodies(self, payload):
        assert webhooks.parse_dlr(request_for(payload)) == []

    def test_it_maps_an_inbound_text(self):
        (event,) = webhooks.parse_mo(request_for(CALLBACKS["mo_text"]))

        assert (event.from_e164, event.text, event.gateway_message_id) == (
            "+4366012345678",
            "Ja, ich komme.",
            "050f9005180a2a212470",
        )

    def test_it_ignores_an_inbound_text_from_a_national_number(self):
        payload = {**CALLBACKS["mo_text"], "senderAddressType": "national", "senderAddress": "066012345678"}

        assert webhooks.parse_mo(request_for(payload)) == []
        assert webhooks.parse_mo(request_for(CALLBACKS["delivered"])) == []
