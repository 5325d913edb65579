"""Kannel DLR callbacks through the real view: the signed dlr-url is verified, Kannel's DLR types mapped.

Kannel fetches the dlr-url with GET after filling its escape codes; the callbacks here are the ones the real
smsbox made on this machine (fixtures/dlr-callbacks.json), with ``ref``/``ts``/``sig`` signed here by an
independent HMAC (not the code under test).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings

from alphasms.messaging.gateways.base import DeliveryStatus
from alphasms.messaging.gateways.kannel import webhooks

FIXTURES = Path(__file__).parent / "fixtures"
CALLBACKS = json.loads((FIXTURES / "dlr-callbacks.json").read_text())
SECRET = "kannel-dlr-secret-for-tests"
HOOK = "/hooks/kannel/dlr/"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"


def signed(reference: str = REFERENCE, at: float | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time() if at is None else at))
    sig = hmac.new(secret.encode(), f"{reference}\n{ts}".encode(), hashlib.sha256).hexdigest()
    return {"ref": reference, "ts": ts, "sig": sig}


@pytest.fixture(autouse=True)
def dlr_secret():
    values = {"KANNEL_DLR_SECRET": SECRET, "PUBLIC_URL": "https://praxis.example/sms"}
    with override_settings(ALPHASMS={**settings.ALPHASMS, **values}):
        yield


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


def get(client: Client, params: dict[str, Any]) -> Any:
    return client.get(HOOK, data=params)


@pytest.mark.django_db
class TestVerifiedReports:
    def test_it_accepts_a_correctly_signed_callback(self, client, caplog):
        with caplog.at_level(logging.INFO, logger="alphasms.webhooks"):
            response = get(client, {**signed(), **CALLBACKS["delivered"]})

        assert response.status_code == 200
        assert "gateway=kannel events=1" in caplog.text

    def test_it_accepts_a_report_that_arrives_days_later(self, client):
        params = {**signed(at=time.time() - 3 * 24 * 3600), **CALLBACKS["delivered"]}

        assert get(client, params).status_code == 200

    def test_the_url_we_hand_to_kannel_verifies_once_kannel_filled_it(self, client):
        url = webhooks.dlr_url(REFERENCE)
        filled = url.replace("%d", "1").replace("%i", "fake").replace("%T", "1796005617")
        filled = filled.replace("%A", "").replace("%F", "4494c838").replace("%%", "%")
        parts = urllib.parse.urlsplit(filled)

        assert filled.startswith("https://praxis.example/sms/hooks/kannel/dlr/?")
        response = client.get(parts.path.removeprefix("/sms"), data=urllib.parse.parse_qs(parts.query))
        assert response.status_code == 200


class TestForgedReports:
    def test_it_rejects_a_wrong_signature(self, client):
        assert get(client, {**signed(secret="another-secret"), **CALLBACKS["delivered"]}).status_code == 400

    def test_a_url_for_one_message_cannot_report_on_another(self, client):
        params = {**signed(), **CALLBACKS["delivered"], "ref": "11111111-2222-4333-8444-555555555555"}

        assert get(client, params).status_code == 400

    def test_it_rejects_a_changed_timestamp(self, client):
        params = signed()
        params["ts"] = str(int(params["ts"]) + 1)

        assert get(client, {**params, **CALLBACKS["delivered"]}).status_code == 400

    @pytest.mark.parametrize("missing", ["ref", "ts", "sig"])
    def test_it_rejects_a_callback_without_its_signature_fields(self, client, missing):
        params = {**signed(), **CALLBACKS["delivered"]}
        del params[missing]

        assert get(client, params).status_code == 400

    @pytest.mark.parametrize(
        "offset_s", [-webhooks.REPLAY_WINDOW_S - 5, webhooks.CLOCK_SKEW_S + 60], ids=["stale", "future"]
    )
    def test_it_rejects_a_timestamp_outside_the_replay_window(self, client, offset_s):
        params = {**signed(at=time.time() + offset_s), **CALLBACKS["delivered"]}

        assert get(client, params).status_code == 400

    def test_it_rejects_a_timestamp_that_is_not_a_number(self, client):
        params = {**signed(), "ts": "2026-11-30T10:00:00Z", **CALLBACKS["delivered"]}

        assert get(client, params).status_code == 400

    def test_it_answers_500_when_no_secret_is_configured(self, client):
        with override_settings(ALPHASMS={**settings.ALPHASMS, "KANNEL_DLR_SECRET": ""}):
            response = get(client, {**signed(), **CALLBACKS["delivered"]})

        assert response.status_code == 500  # our misconfiguration

    def test_it_answers_a_probe_without_parameters(self, client):
        assert client.get(HOOK).status_code == 200
        assert client.head(HOOK).status_code == 200


def parse(params: dict[str, str]) -> Any:
    (event,) = webhooks.parse_dlr(RequestFactory().get(HOOK, data=params))
    return event


class TestPayloadMapping:
    def test_it_maps_the_smsc_ack_kannel_sent(self):
        event = parse({**signed(), **CALLBACKS["smsc_ack"]})

        assert (event.status, event.provider_status, event.reference) == (DeliveryStatus.SENT, "8", REFERENCE)
        assert event.gateway_message_id == ""
        assert event.occurred_at == datetime.fromtimestamp(1796005617, tz=UTC)

    def test_it_maps_the_final_report_with_the_smscs_message_id(self):
        event = parse({**signed(), **CALLBACKS["delivered"]})

        assert event.status == DeliveryStatus.DELIVERED
        assert event.gateway_message_id == "4494c838-9b62-49c3-a643-4897e14a954c"
        assert "sig" not in event.raw and event.raw["smsc"] == "fake"

    def test_it_reads_the_smpp_error_code_from_the_reply(self):
        event = parse({**signed(), **CALLBACKS["smpp_undelivered"]})

        assert (event.status, event.provider_error_code) == (DeliveryStatus.UNDELIVERED, "001")

    @pytest.mark.parametrize(
        ("kind", "expected"),
        [
            ("1", DeliveryStatus.DELIVERED),
            ("2", DeliveryStatus.UNDELIVERED),
            ("4", DeliveryStatus.QUEUED),
            ("8", DeliveryStatus.SENT),
            ("16", DeliveryStatus.REJECTED),
            ("32", DeliveryStatus.UNKNOWN),
            ("", DeliveryStatus.UNKNOWN),
        ],
    )
    def test_it_maps_each_dlr_type(self, kind, expected):
        event = parse({**signed(), "type": kind, "at": ""})

        assert (event.status, event.provider_status, event.occurred_at) == (expected, kind, None)
