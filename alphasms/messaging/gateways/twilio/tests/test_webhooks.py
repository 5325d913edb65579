"""Twilio status callbacks (DLR) and inbound SMS (MO): signatures through the real view, payload mapping.

Requests are signed here independently of the code under test, following
https://www.twilio.com/docs/usage/webhooks/webhooks-security (read 2026-11-30), with an Auth Token generated
per test run; the algorithm itself is pinned by twilio/twilio-python's published test vectors.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpRequest
from django.test import Client, RequestFactory, override_settings
from django.urls import NoReverseMatch, Resolver404, resolve

from alphasms.appointments.models import Location
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.base import DeliveryStatus
from alphasms.messaging.gateways.errors import WebhookForged
from alphasms.messaging.gateways.twilio import webhooks
from alphasms.messaging.gateways.twilio.gateway import TwilioGateway
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
SPEC = REPO_ROOT / "tests" / "data" / "provider-specs" / "twilio-api-v2010.openapi.json"
TOKEN = secrets.token_hex(16)  # an Auth Token is 32 hex digits
PUBLIC = "https://praxis.example"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"
DLR = f"/hooks/twilio/dlr/?ref={REFERENCE}"
MO = "/hooks/twilio/mo/"
SID = "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"


def params(name: str, **changes: str) -> dict[str, str]:
    return {**json.loads((FIXTURES / name).read_text())["params"], **changes}


def twilio_signature(url: str, fields: dict[str, str], token: str = TOKEN) -> str:
    """X-Twilio-Signature as Twilio computes it: HMAC-SHA1 over the URL plus sorted name+value pairs."""
    data = url + "".join(f"{key}{fields[key]}" for key in sorted(fields))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def post(client: Client, path: str, fields: dict[str, str], signature: str | None = None) -> Any:
    headers = {"X-Twilio-Signature": twilio_signature(PUBLIC + path, fields)} if signature is None else {}
    headers.update({"X-Twilio-Signature": signature} if signature else {})
    body = urllib.parse.urlencode(fields)
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded", headers=headers)


def factory_request(path: str, fields: dict[str, str], headers: dict[str, str] | None = None) -> HttpRequest:
    body = urllib.parse.urlencode(fields)
    return RequestFactory().post(
        path, data=body, content_type="application/x-www-form-urlencoded", headers=headers or {}
    )


@pytest.fixture(autouse=True)
def twilio_settings() -> Iterator[None]:
    values = {"TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC, "SMS_SENDER_ID": "Praxis"}
    with override_settings(ALPHASMS={**settings.ALPHASMS, **values}):
        yield


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def attempt(db: Any) -> DeliveryAttempt:
    """A message sent through Twilio, its attempt id = REFERENCE, Twilio's sid not (yet) known."""
    make_rule()
    location = Location.objects.create(name="Praxis Sonnenhof", phone="+49 30 1234567")
    make_appointment(location, make_customer(), dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    plan()
    message = OutboundMessage.objects.get()
    set_status(message, MessageStatus.SENT)
    return DeliveryAttempt.objects.create(
        id=REFERENCE, message=message, gateway="twilio", started_at=dt.datetime.now(dt.UTC)
    )


class TestSignatureAlgorithm:
    """Vectors from twilio/twilio-python tests/unit/test_request_validator.py @ e2df36ac (token "12345")."""

    URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
    FIELDS = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }

    def test_it_computes_twilios_published_signature(self):
        assert (
            webhooks.signature("12345", self.URL, list(self.FIELDS.items())) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        )

    @pytest.mark.parametrize("given", ["RSOYDt4T1cUTdK1PDd93/VVr8B8=", "kvajT1Ptam85bY51eRf/AJRuM3w="])
    def test_it_accepts_the_url_signed_with_or_without_the_default_port(self, given):
        request = factory_request("/myapp.php?foo=1&bar=2", self.FIELDS, {"X-Twilio-Signature": given})
        values = {"TWILIO_AUTH_TOKEN": "12345", "PUBLIC_URL": "https://mycompany.com"}
        with override_settings(ALPHASMS={**settings.ALPHASMS, **values}):
            webhooks.verify_webhook(request)

    def test_it_rebuilds_the_url_from_a_public_url_with_a_path_prefix(self):
        fields = params("dlr-delivered.json")
        url = f"https://praxis.example/sms{DLR}"
        request = factory_request(DLR, fields, {"X-Twilio-Signature": twilio_signature(url, fields)})
        with override_settings(ALPHASMS={**settings.ALPHASMS, "PUBLIC_URL": "https://praxis.example/sms/"}):
            assert webhooks.signed_url(request) == url
            webhooks.verify_webhook(request)

    def test_the_callback_url_the_gateway_sends_is_the_url_it_verifies(self):
        fields = params("dlr-delivered.json")
        callback = webhooks.status_callback_url(REFERENCE)
        request = factory_request(callback.removeprefix(PUBLIC), fields)

        assert webhooks.signed_url(request) == callback


@pytest.mark.django_db
class TestSignedReports:
    def test_it_accepts_a_correctly_signed_status_callback(self, client, caplog):
        with caplog.at_level(logging.INFO, logger="alphasms.webhooks"):
            response = post(client, DLR, params("dlr-delivered.json"))

        assert response.status_code == 200
        assert "gateway=twilio events=1" in caplog.text  # one report parsed (no attempt matches)

    def test_a_delivered_callback_marks_the_message_delivered_once(self, client, attempt):
        fields = params("dlr-delivered.json")
        assert post(client, DLR, fields).status_code == 200
        assert post(client, DLR, fields).status_code == 200  # Twilio retries or an attacker replays

        assert OutboundMessage.objects.get().status == MessageStatus.DELIVERED
        report = DeliveryReport.objects.get()
        assert (report.status, report.provider_status) == (DeliveryStatus.DELIVERED, "delivered")

    def test_the_reference_in_the_url_resolves_an_attempt_whose_answer_was_lost(self, client, attempt):
        attempt.outcome = AttemptOutcome.UNKNOWN  # timeout: Twilio's sid never reached us
        attempt.save()
        set_status(attempt.message, MessageStatus.UNKNOWN)

        assert post(client, DLR, params("dlr-sent.json")).status_code == 200

        attempt.refresh_from_db()
        assert attempt.outcome == AttemptOutcome.SENT
        assert OutboundMessage.objects.get().status == MessageStatus.SENT

    def test_an_undelivered_callback_keeps_twilios_error_code(self, client, attempt):
        post(client, DLR, params("dlr-undelivered-30003.json"))

        report = DeliveryReport.objects.get()
        assert (report.status, report.provider_error_code) == (DeliveryStatus.UNDELIVERED, "30003")
        assert OutboundMessage.objects.get().status == MessageStatus.UNDELIVERED


@pytest.mark.django_db
class TestForgedReports:
    def assert_nothing_changed(self) -> None:
        assert DeliveryReport.objects.count() == 0
        assert OutboundMessage.objects.get().status == MessageStatus.SENT

    def test_it_rejects_a_signature_with_another_token(self, client, attempt):
        fields = params("dlr-delivered.json")
        forged = twilio_signature(PUBLIC + DLR, fields, token=secrets.token_hex(16))

        assert post(client, DLR, fields, signature=forged).status_code == 400
        self.assert_nothing_changed()

    def test_it_rejects_a_status_changed_after_signing(self, client, attempt):
        signature = twilio_signature(PUBLIC + DLR, params("dlr-sent.json"))

        assert (
            post(client, DLR, params("dlr-sent.json", MessageStatus="delivered"), signature).status_code
            == 400
        )
        self.assert_nothing_changed()

    def test_it_rejects_a_parameter_added_after_signing(self, client, attempt):
        fields = params("dlr-delivered.json")
        signature = twilio_signature(PUBLIC + DLR, fields)

        assert post(client, DLR, {**fields, "ErrorCode": "30007"}, signature).status_code == 400

    def test_it_rejects_a_callback_moved_to_another_reference(self, client, attempt):
        fields = params("dlr-delivered.json")
        signature = twilio_signature(PUBLIC + "/hooks/twilio/dlr/?ref=another", fields)

        assert post(client, DLR, fields, signature).status_code == 400
        self.assert_nothing_changed()

    def test_it_rejects_a_signature_for_another_host(self, client, attempt):
        fields = params("dlr-delivered.json")
        signature = twilio_signature("http://testserver" + DLR, fields)  # Django's own idea of the URL

        assert post(client, DLR, fields, signature).status_code == 400

    def test_it_rejects_a_callback_without_signature(self, client, attempt):
        assert post(client, DLR, params("dlr-delivered.json"), signature="").status_code == 400
        self.assert_nothing_changed()

    def test_it_rejects_a_webhook_rule_signature_it_cannot_check(self):
        fields = params("dlr-delivered.json")
        headers = {
            "X-Twilio-Signature": twilio_signature(PUBLIC + DLR, fields, token="shared-key"),
            "X-Twilio-Webhooks-Signature-Settings": "key=KS1,algorithm=HMAC_SHA256",
        }
        with pytest.raises(WebhookForged, match="Webhook Rule"):
            webhooks.verify_webhook(factory_request(DLR, fields, headers))

    def test_it_answers_500_when_no_auth_token_is_configured(self, client):
        with override_settings(ALPHASMS={**settings.ALPHASMS, "TWILIO_AUTH_TOKEN": ""}):
            response = post(client, DLR, params("dlr-delivered.json"))

        assert response.status_code == 500  # our misconfiguration: Twilio retries some callbacks

    def test_there_is_no_replay_window_because_twilio_signs_no_time(self):
        """Documented limit: an old callback with a valid signature verifies again; it is then one
        report again, stored once (see test_a_delivered_callback_marks_the_message_delivered_once)."""
        fields = params("dlr-delivered.json")
        headers = {"X-Twilio-Signature": twilio_signature(PUBLIC + DLR, fields)}
        webhooks.verify_webhook(factory_request(DLR, fields, headers))


class TestPayloadMapping:
    def test_it_maps_a_delivered_callback(self):
        (event,) = webhooks.parse_dlr(factory_request(DLR, params("dlr-delivered.json")))

        assert (event.status, event.reference, event.gateway_message_id) == (
            DeliveryStatus.DELIVERED,
            REFERENCE,
            SID,
        )
        assert (event.provider_status, event.provider_error_code, event.occurred_at) == (
            "delivered",
            "",
            None,
        )
        assert event.raw["RawDlrDoneDate"] == "2611301015"

    def test_every_status_of_the_published_spec_is_mapped(self):
        enum = json.loads(SPEC.read_text())["components"]["schemas"]["message_enum_status"]["enum"]
        assert set(enum) == set(webhooks.STATUS_MAP)

    @pytest.mark.parametrize(
        ("status", "error_code", "expected"),
        [
            ("queued", "", DeliveryStatus.QUEUED),
            ("accepted", "", DeliveryStatus.ACCEPTED),
            ("sending", "", DeliveryStatus.QUEUED),
            ("sent", "", DeliveryStatus.SENT),
            ("read", "", DeliveryStatus.DELIVERED),
            ("undelivered", "", DeliveryStatus.UNDELIVERED),
            ("undelivered", "30005", DeliveryStatus.UNDELIVERED),
            ("undelivered", "30007", DeliveryStatus.REJECTED),
            ("failed", "", DeliveryStatus.FAILED),
            ("failed", "30002", DeliveryStatus.REJECTED),
            ("failed", "30001", DeliveryStatus.FAILED),
            ("partially_delivered", "", DeliveryStatus.UNDELIVERED),
            ("canceled", "", DeliveryStatus.FAILED),
            ("sent", "30007", DeliveryStatus.SENT),  # an error code never overrides progress
            ("something_new", "", DeliveryStatus.UNKNOWN),
        ],
    )
    def test_it_maps_each_status_and_sharpens_failures_by_error_code(self, status, error_code, expected):
        fields = params("dlr-sent.json", MessageStatus=status, SmsStatus=status, ErrorCode=error_code)
        (event,) = webhooks.parse_dlr(factory_request(DLR, fields))

        assert (event.status, event.provider_status, event.provider_error_code) == (
            expected,
            status,
            error_code,
        )

    def test_it_falls_back_to_the_legacy_sms_fields(self):
        fields = {"SmsSid": SID, "SmsStatus": "delivered"}
        (event,) = webhooks.parse_dlr(factory_request(DLR, fields))

        assert (event.gateway_message_id, event.status) == (SID, DeliveryStatus.DELIVERED)

    @pytest.mark.parametrize("fields", [{}, {"MessageSid": SID}, {"MessageStatus": "delivered"}])
    def test_it_ignores_a_callback_it_cannot_read(self, fields):
        assert webhooks.parse_dlr(factory_request(DLR, fields)) == []

    def test_a_callback_without_our_reference_still_names_twilios_sid(self):
        (event,) = webhooks.parse_dlr(factory_request("/hooks/twilio/dlr/", params("dlr-sent.json")))

        assert (event.reference, event.gateway_message_id) == ("", SID)


def mo_route_exists() -> bool:
    try:
        return resolve(MO).url_name is not None
    except (Resolver404, NoReverseMatch):
        return False


class TestInboundMessages:
    def test_it_maps_an_inbound_sms(self):
        (event,) = TwilioGateway().parse_mo(factory_request(MO, params("mo-inbound.json")))

        assert (event.from_e164, event.text, event.gateway_message_id) == (
            "+4915112345678",
            "STOP",
            "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        )
        assert event.raw["NumSegments"] == "1"

    def test_it_verifies_an_inbound_sms_signed_for_the_mo_url(self):
        fields = params("mo-inbound.json")
        headers = {"X-Twilio-Signature": twilio_signature(PUBLIC + MO, fields)}
        TwilioGateway().verify_webhook(factory_request(MO, fields, headers))

        headers = {"X-Twilio-Signature": twilio_signature(PUBLIC + DLR, fields)}
        with pytest.raises(WebhookForged):
            TwilioGateway().verify_webhook(factory_request(MO, fields, headers))

    @pytest.mark.parametrize("sender", ["whatsapp:+4915112345678", "Praxis", "12345", ""])
    def test_it_ignores_a_sender_that_is_not_an_e164_number(self, sender):
        fields = params("mo-inbound.json", From=sender)
        assert webhooks.parse_mo(factory_request(MO, fields)) == []

    @pytest.mark.django_db
    @pytest.mark.skipif(not mo_route_exists(), reason="the /hooks/<slug>/mo/ route is not there yet")
    def test_a_signed_reply_goes_through_the_view_once_and_a_forged_one_not_at_all(self, client):
        from alphasms.messaging.models import InboundMessage  # arrives with the MO route

        forged = params("mo-inbound.json", MessageSid="SMcccccccccccccccccccccccccccccccc", Body="JA")
        assert post(client, MO, forged, signature=twilio_signature(PUBLIC + MO, {})).status_code == 400
        assert InboundMessage.objects.count() == 0

        assert post(client, MO, params("mo-inbound.json")).status_code == 200
        assert post(client, MO, params("mo-inbound.json")).status_code == 200  # Twilio retries
        stored = InboundMessage.objects.get()
        assert (stored.gateway, stored.from_e164, stored.text) == ("twilio", "+4915112345678", "STOP")

    @pytest.mark.django_db
    @pytest.mark.skipif(not mo_route_exists(), reason="the /hooks/<slug>/mo/ route is not there yet")
    def test_the_answer_to_a_reply_is_empty_twiml(self, client):
        response = post(client, MO, params("mo-inbound.json"))

        assert response["Content-Type"].startswith(("text/xml", "application/xml"))
        assert response.content.replace(b" ", b"").endswith(b"<Response></Response>")
