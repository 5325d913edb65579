"""seven.io delivery-report webhooks: signature checks through the real view, payload mapping to DlrEvent.

Requests are signed here with a key generated per test run, following seven.io's documented algorithm
(https://docs.seven.io/en/rest-api/signing, read 2026-11-30) independently of the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpRequest
from django.test import Client, RequestFactory, override_settings

from alphasms.messaging.gateways.base import DeliveryStatus
from alphasms.messaging.gateways.sevenio import webhooks
from alphasms.testing.prism import REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"
SPEC = REPO_ROOT / "tests" / "data" / "provider-specs" / "seven-io.openapi.json"
SECRET = secrets.token_hex(32)
HOOK = "/hooks/sevenio/dlr/"
URL = "http://testserver" + HOOK  # what Django's test client presents as the absolute URL


def payload(name: str) -> bytes:
    return json.dumps(json.loads((FIXTURES / name).read_text())["payload"]).encode("utf-8")


def signed_headers(
    body: bytes, *, url: str = URL, method: str = "POST", at: float | None = None, secret: str = SECRET
) -> dict[str, str]:
    """X-Timestamp/X-Nonce/X-Signature as seven.io sends them."""
    timestamp = str(int(time.time() if at is None else at))
    nonce = secrets.token_hex(16)  # 32 characters, as documented
    to_sign = "\n".join([timestamp, nonce, method, url, hashlib.md5(body).hexdigest()])
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return {"X-Timestamp": timestamp, "X-Nonce": nonce, "X-Signature": signature}


@pytest.fixture(autouse=True)
def signing_key() -> Iterator[None]:
    with override_settings(ALPHASMS={**settings.ALPHASMS, "SEVENIO_SIGNING_SECRET": SECRET}):
        yield


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


def post(client: Client, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(HOOK, data=body, content_type="application/json", headers=headers)


def factory_request(body: bytes, headers: dict[str, str] | None = None) -> HttpRequest:
    return RequestFactory().post(HOOK, data=body, content_type="application/json", headers=headers or {})


@pytest.mark.django_db
class TestSignedReports:
    def test_it_accepts_a_correctly_signed_report(self, client, caplog):
        body = payload("dlr-delivered.json")
        with caplog.at_level(logging.INFO, logger="alphasms.webhooks"):
            response = post(client, body, signed_headers(body))

        assert response.status_code == 200
        assert "gateway=sevenio events=1" in caplog.text  # parsed into one report (no attempt matches)

    def test_it_accepts_another_event_type_without_a_report(self, client, caplog):
        body = payload("sms-mo.json")
        with caplog.at_level(logging.INFO, logger="alphasms.webhooks"):
            response = post(client, body, signed_headers(body))

        assert response.status_code == 200
        assert "gateway=sevenio events=0" in caplog.text


class TestForgedReports:
    def test_it_rejects_a_wrong_signature(self, client):
        body = payload("dlr-delivered.json")
        headers = signed_headers(body, secret=secrets.token_hex(32))

        assert post(client, body, headers).status_code == 400

    def test_it_rejects_a_body_changed_after_signing(self, client):
        body = payload("dlr-delivered.json")
        headers = signed_headers(body)
        forged = body.replace(b"DELIVERED", b"NOTDELIVERED")

        assert post(client, forged, headers).status_code == 400

    def test_it_rejects_a_signature_for_another_url(self, client):
        body = payload("dlr-delivered.json")

        assert post(client, body, signed_headers(body, url="https://evil.example" + HOOK)).status_code == 400

    @pytest.mark.parametrize("missing", ["X-Signature", "X-Timestamp", "X-Nonce"])
    def test_it_rejects_a_report_without_signature_headers(self, client, missing):
        body = payload("dlr-delivered.json")
        headers = signed_headers(body)
        del headers[missing]

        assert post(client, body, headers).status_code == 400

    @pytest.mark.parametrize("offset_s", [-webhooks.REPLAY_WINDOW_S - 5, webhooks.REPLAY_WINDOW_S + 5])
    def test_it_rejects_a_timestamp_outside_the_replay_window(self, client, offset_s):
        body = payload("dlr-delivered.json")

        assert post(client, body, signed_headers(body, at=time.time() + offset_s)).status_code == 400

    def test_it_rejects_a_timestamp_that_is_not_a_number(self, client):
        body = payload("dlr-delivered.json")
        headers = {**signed_headers(body), "X-Timestamp": "2026-11-30T10:00:00Z"}

        assert post(client, body, headers).status_code == 400

    def test_it_answers_500_when_no_signing_key_is_configured(self, client):
        body = payload("dlr-delivered.json")
        with override_settings(ALPHASMS={**settings.ALPHASMS, "SEVENIO_SIGNING_SECRET": ""}):
            response = post(client, body, signed_headers(body))

        assert response.status_code == 500  # our misconfiguration: seven.io retries later

    def test_it_answers_a_head_probe(self, client):
        assert client.head(HOOK).status_code == 200


class TestPayloadMapping:
    def test_it_maps_the_documented_example(self):
        (event,) = webhooks.parse_dlr(factory_request(payload("dlr-transmitted.json")))

        assert event.status == DeliveryStatus.SENT
        assert (event.gateway_message_id, event.provider_status, event.reference) == (
            "77149843739",
            "TRANSMITTED",
            "",
        )
        assert event.occurred_at == datetime(2021, 8, 24, 6, 8, tzinfo=UTC)  # 08:08 German summer time
        assert event.raw["webhook_event"] == "dlr"

    def test_it_maps_a_delivered_report_in_winter_time(self):
        (event,) = webhooks.parse_dlr(factory_request(payload("dlr-delivered.json")))

        assert event.status == DeliveryStatus.DELIVERED
        assert event.occurred_at == datetime(2026, 11, 30, 9, 15, 42, tzinfo=UTC)

    def test_it_keeps_our_reference_when_seven_io_echoes_foreign_id(self):
        body = json.loads(payload("dlr-delivered.json"))
        body["data"]["foreign_id"] = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"
        (event,) = webhooks.parse_dlr(factory_request(json.dumps(body).encode()))

        assert event.reference == "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"

    def test_every_status_of_the_published_spec_is_mapped(self):
        enum = json.loads(SPEC.read_text())["components"]["schemas"]["SmsStatus"]["items"]["properties"]
        assert set(enum["status"]["enum"]) == set(webhooks.STATUS_MAP)

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ("ACCEPTED", DeliveryStatus.QUEUED),
            ("BUFFERED", DeliveryStatus.SENT),
            ("NOTDELIVERED", DeliveryStatus.UNDELIVERED),
            ("EXPIRED", DeliveryStatus.EXPIRED),
            ("REJECTED", DeliveryStatus.REJECTED),
            ("FAILED", DeliveryStatus.FAILED),
            ("UNKNOWN", DeliveryStatus.UNKNOWN),
            ("SOMETHING_NEW", DeliveryStatus.UNKNOWN),
        ],
    )
    def test_it_maps_each_status(self, status, expected):
        body = json.dumps({"webhook_event": "dlr", "data": {"msg_id": "1", "status": status}}).encode()
        (event,) = webhooks.parse_dlr(factory_request(body))

        assert (event.status, event.provider_status, event.occurred_at) == (expected, status, None)

    @pytest.mark.parametrize("body", [b"msg_id=1&status=DELIVERED", b"[]", b'{"webhook_event": "dlr"}'])
    def test_it_ignores_bodies_it_cannot_read(self, body):
        assert webhooks.parse_dlr(factory_request(body)) == []

    def test_it_verifies_a_request_it_is_given_directly(self):
        body = payload("dlr-transmitted.json")
        webhooks.verify_webhook(factory_request(body, signed_headers(body)))
