"""Vonage webhooks: ``sig`` checks through the real view, DLR and inbound-SMS mapping.

Requests are signed here by ``sign`` below, written from Vonage's description
(https://developer.vonage.com/en/getting-started/concepts/signing-messages, "Manually generate a signature",
read 2026-11-30) independently of the code under test, with a key generated per test run; Vonage's own
published SHA-256 vector (fixtures/signature-vector.json) pins both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.http import HttpRequest
from django.test import Client, RequestFactory, override_settings

from alphasms.messaging.gateways.base import DeliveryStatus
from alphasms.messaging.gateways.errors import WebhookForged
from alphasms.messaging.gateways.vonage import webhooks
from alphasms.messaging.gateways.vonage.tests.spec import spec_keys
from alphasms.messaging.models import InboundMessage
from alphasms.privacy.services import has_consent
from tests.conftest import make_customer

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = secrets.token_hex(32)
HOOK = "/hooks/vonage/dlr/"
MO_HOOK = "/hooks/vonage/mo/"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"


def payload(name: str) -> dict[str, str]:
    return dict(json.loads((FIXTURES / name).read_text())["payload"])


def vonage_sig(values: dict[str, str], secret: str) -> str:
    """Upper-case hex HMAC-SHA256 over ``&key=value`` pairs sorted by key, ``&``/``=`` in values as ``_``."""
    canonical = "".join("&" + key + "=" + re.sub("[&=]", "_", values[key]) for key in sorted(values))
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest().upper()


def sign(values: dict[str, str], *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    """``values`` plus ``timestamp``, ``nonce`` and ``sig``, as Vonage sends a signed webhook."""
    signed = {**values, "timestamp": str(int(time.time() if at is None else at)), "nonce": str(uuid.uuid4())}
    return {**signed, "sig": vonage_sig(signed, secret)}


def dlr(status: str = "delivered", **fields: str) -> dict[str, str]:
    return {**payload("dlr-delivered.json"), "status": status, "client-ref": REFERENCE, **fields}


@pytest.fixture(autouse=True)
def signature_secret() -> Iterator[None]:
    with override_settings(ALPHASMS={**settings.ALPHASMS, "VONAGE_SIGNATURE_SECRET": SECRET}):
        yield


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


def post_form(client: Client, values: dict[str, str], url: str = HOOK) -> Any:
    body = urllib.parse.urlencode(values)
    return client.post(url, data=body, content_type="application/x-www-form-urlencoded")


def form_request(values: dict[str, str], url: str = HOOK) -> HttpRequest:
    body = urllib.parse.urlencode(values)
    return RequestFactory().post(url, data=body, content_type="application/x-www-form-urlencoded")


class TestTheSignatureAlgorithm:
    def test_it_reproduces_vonages_published_sha256_vector(self):
        vector = json.loads((FIXTURES / "signature-vector.json").read_text())

        ours = webhooks.signature(vector["params"], vector["signature_secret"])

        assert ours.upper() == vector["sig_sha256_hmac"]

    def test_the_test_signer_reproduces_it_too(self):
        vector = json.loads((FIXTURES / "signature-vector.json").read_text())

        assert vonage_sig(vector["params"], vector["signature_secret"]) == vector["sig_sha256_hmac"]

    def test_it_verifies_the_vector_as_a_whole_request_at_its_time(self):
        vector = json.loads((FIXTURES / "signature-vector.json").read_text())
        values = {**vector["params"], "sig": vector["sig_sha256_hmac"]}
        signed_at = datetime.fromtimestamp(int(values["timestamp"]) + 20, tz=UTC)
        secret = {"VONAGE_SIGNATURE_SECRET": vector["signature_secret"]}
        with override_settings(ALPHASMS={**settings.ALPHASMS, **secret}), time_machine.travel(signed_at):
            webhooks.verify_webhook(form_request(values))
            (event,) = webhooks.parse_mo(form_request(values))

        assert (event.from_e164, event.text, event.gateway_message_id) == (
            "+14843472194",
            "Test again",
            "020000001B0FE827",
        )
        assert event.received_at == datetime(2013, 11, 21, 15, 27, 30, tzinfo=UTC)

    def test_it_refuses_the_dashboards_default_md5_hash_signature(self):
        vector = json.loads((FIXTURES / "signature-vector.json").read_text())
        values = {**vector["params"], "sig": vector["sig_md5_hash"]}
        secret = {"VONAGE_SIGNATURE_SECRET": vector["signature_secret"]}
        at = datetime.fromtimestamp(int(values["timestamp"]), tz=UTC)
        with override_settings(ALPHASMS={**settings.ALPHASMS, **secret}), time_machine.travel(at):
            with pytest.raises(WebhookForged, match="SHA-256 HMAC"):
                webhooks.verify_webhook(form_request(values))

    def test_it_signs_values_containing_ampersands_and_equals_signs(self):
        values = sign({"messageId": "1", "status": "delivered", "client-ref": "a=b&c", "text": "x&&y=="})

        webhooks.verify_webhook(form_request(values))


@pytest.mark.django_db
class TestSignedReportsThroughTheView:
    def test_it_accepts_a_signed_form_post(self, client, caplog):
        with caplog.at_level(logging.INFO, logger="alphasms.webhooks"):
            response = post_form(client, sign(dlr()))

        assert response.status_code == 200
        assert "gateway=vonage events=1" in caplog.text  # parsed into one report (no attempt matches)

    def test_it_accepts_a_signed_json_post(self, client, caplog):
        with caplog.at_level(logging.INFO, logger="alphasms.webhooks"):
            body = json.dumps(sign(dlr()))
            response = client.post(HOOK, data=body, content_type="application/json")

        assert response.status_code == 200
        assert "gateway=vonage events=1" in caplog.text

    def test_it_accepts_a_signed_get(self, client, caplog):
        with caplog.at_level(logging.INFO, logger="alphasms.webhooks"):
            response = client.get(HOOK, data=sign(dlr()))

        assert response.status_code == 200
        assert "gateway=vonage events=1" in caplog.text

    def test_it_answers_a_head_probe(self, client):
        assert client.head(HOOK).status_code == 200


class TestForgedReports:
    def test_it_rejects_a_wrong_secret(self, client):
        assert post_form(client, sign(dlr(), secret=secrets.token_hex(32))).status_code == 400

    def test_it_rejects_a_value_changed_after_signing(self, client):
        values = sign(dlr("failed", **{"err-code": "3"}))
        values["status"] = "delivered"

        assert post_form(client, values).status_code == 400

    def test_it_rejects_a_parameter_added_after_signing(self, client):
        assert post_form(client, {**sign(dlr()), "client-ref": "someone-else"}).status_code == 400

    @pytest.mark.parametrize("missing", ["sig", "timestamp"])
    def test_it_rejects_a_report_without_sig_or_timestamp(self, client, missing):
        values = sign(dlr())
        del values[missing]

        assert post_form(client, values).status_code == 400

    def test_it_rejects_an_unsigned_report(self, client):
        assert post_form(client, dlr()).status_code == 400

    @pytest.mark.parametrize("offset_s", [-webhooks.REPLAY_WINDOW_S - 5, webhooks.REPLAY_WINDOW_S + 5])
    def test_it_rejects_a_timestamp_outside_the_replay_window(self, client, offset_s):
        assert post_form(client, sign(dlr(), at=time.time() + offset_s)).status_code == 400

    def test_it_rejects_a_timestamp_that_is_not_a_number(self, client):
        values = {**dlr(), "timestamp": "2026-11-30 10:00:00"}
        values["sig"] = vonage_sig(values, SECRET)

        assert post_form(client, values).status_code == 400

    def test_it_rejects_a_json_body_that_is_not_an_object(self, client):
        assert client.post(HOOK, data="[1, 2]", content_type="application/json").status_code == 400

    def test_it_answers_500_when_no_signature_secret_is_configured(self, client):
        with override_settings(ALPHASMS={**settings.ALPHASMS, "VONAGE_SIGNATURE_SECRET": ""}):
            response = post_form(client, sign(dlr()))

        assert response.status_code == 500  # our misconfiguration: Vonage retries later


class TestDeliveryReceiptMapping:
    def test_it_maps_the_documented_example(self):
        (event,) = webhooks.parse_dlr(form_request(sign(payload("dlr-delivered.json"))))

        assert (event.status, event.provider_status, event.provider_error_code) == (
            DeliveryStatus.DELIVERED,
            "delivered",
            "0",
        )
        assert (event.gateway_message_id, event.reference) == ("0B00000127FDBC63", "")
        assert event.occurred_at == datetime(2018, 10, 25, 12, 10, 29, tzinfo=UTC)

    def test_it_keeps_our_reference_and_drops_the_per_delivery_signature_fields_from_raw(self):
        (event,) = webhooks.parse_dlr(form_request(sign(dlr())))

        assert event.reference == REFERENCE
        assert set(event.raw) == set(dlr())  # a retry with a new timestamp/nonce/sig dedupes
        assert event.raw["msisdn"] == "447547232824"

    def test_every_documented_status_is_mapped(self):
        assert set(webhooks.STATUS_MAP) == {
            "delivered",
            "expired",
            "failed",
            "rejected",
            "accepted",
            "buffered",
            "unknown",
        }

    def test_the_fixture_uses_only_fields_of_the_published_schema(self):
        assert set(payload("dlr-delivered.json")) <= spec_keys(
            "components", "schemas", "DeliveryReceipt", "properties"
        )

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ("accepted", DeliveryStatus.SENT),
            ("buffered", DeliveryStatus.SENT),
            ("expired", DeliveryStatus.EXPIRED),
            ("failed", DeliveryStatus.UNDELIVERED),
            ("rejected", DeliveryStatus.REJECTED),
            ("unknown", DeliveryStatus.UNKNOWN),
            ("something_new", DeliveryStatus.UNKNOWN),
        ],
    )
    def test_it_maps_each_status(self, status, expected):
        (event,) = webhooks.parse_dlr(form_request(dlr(status, **{"err-code": "2"})))

        assert (event.status, event.provider_status, event.provider_error_code) == (expected, status, "2")

    def test_it_reads_a_json_body_with_the_same_result(self):
        body = json.dumps(dlr("failed", **{"err-code": "3"}))
        request = RequestFactory().post(HOOK, data=body, content_type="application/json")

        (event,) = webhooks.parse_dlr(request)

        assert (event.status, event.provider_error_code) == (DeliveryStatus.UNDELIVERED, "3")

    def test_it_ignores_an_inbound_sms_sent_to_the_dlr_url(self):
        assert webhooks.parse_dlr(form_request(payload("mo-inbound.json") | {"status": ""})) == []

    def test_an_unreadable_message_timestamp_gives_no_time(self):
        (event,) = webhooks.parse_dlr(form_request(dlr(**{"message-timestamp": "gestern"})))

        assert event.occurred_at is None


class TestInboundSms:
    def test_it_maps_a_stop_reply(self):
        (event,) = webhooks.parse_mo(form_request(sign(payload("mo-inbound.json")), url=MO_HOOK))

        assert (event.from_e164, event.text, event.gateway_message_id) == (
            "+4915112345678",
            "STOP",
            "0A0000000123ABCD1",
        )
        assert event.received_at == datetime(2026, 11, 30, 9, 15, 42, tzinfo=UTC)
        assert "sig" not in event.raw and event.raw["keyword"] == "STOP"

    def test_it_verifies_an_inbound_sms_like_a_report(self):
        webhooks.verify_webhook(form_request(sign(payload("mo-inbound.json")), url=MO_HOOK))
        with pytest.raises(WebhookForged):
            webhooks.verify_webhook(form_request(payload("mo-inbound.json"), url=MO_HOOK))

    def test_the_fixture_uses_only_fields_of_the_published_schema(self):
        assert set(payload("mo-inbound.json")) <= spec_keys(
            "components", "schemas", "InboundMessage", "properties"
        )

    @pytest.mark.parametrize(
        "change", [{"type": "binary"}, {"msisdn": ""}, {"msisdn": "+4915112345678"}, {"msisdn": "0151123"}]
    )
    def test_it_skips_a_binary_message_or_a_bad_sender(self, change):
        assert webhooks.parse_mo(form_request({**payload("mo-inbound.json"), **change}, url=MO_HOOK)) == []


@pytest.mark.django_db
class TestInboundSmsThroughTheView:
    def test_a_signed_stop_reply_withdraws_sms_consent_once(self, client):
        customer = make_customer(mobile="+4915112345678")
        assert has_consent(customer, "sms")

        assert post_form(client, sign(payload("mo-inbound.json")), url=MO_HOOK).status_code == 200
        assert post_form(client, sign(payload("mo-inbound.json")), url=MO_HOOK).status_code == 200  # a retry

        (stored,) = InboundMessage.objects.all()
        assert (stored.gateway, stored.from_e164, stored.text) == ("vonage", "+4915112345678", "STOP")
        assert not has_consent(customer, "sms")

    def test_a_forged_reply_stores_nothing_and_keeps_consent(self, client):
        customer = make_customer(mobile="+4915112345678")

        assert post_form(client, payload("mo-inbound.json"), url=MO_HOOK).status_code == 400
        assert (
            post_form(client, sign(payload("mo-inbound.json"), secret="x" * 64), url=MO_HOOK).status_code
            == 400
        )
        assert not InboundMessage.objects.exists()
        assert has_consent(customer, "sms")
