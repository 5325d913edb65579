"""Delivery reports of generically configured providers through the real view (CSRF checks on).

The callback URL is the signed ``{dlr_url}`` the gateway hands out; its ``alphasms_*`` fields are signed
here with an independent HMAC. Bodies are the README examples' documented callbacks (46elks form POST,
Infobip JSON) and a query-string provider.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from alphasms.appointments.models import Location
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.base import DeliveryStatus
from alphasms.messaging.gateways.generic_http import webhooks
from alphasms.messaging.models import (
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryReport,
    MessageStatus,
    OutboundMessage,
)
from alphasms.messaging.services.lifecycle import set_status
from tests.conftest import make_appointment, make_customer, make_rule

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "generic-dlr-secret"
HOOK = "/hooks/generic_http/dlr/"
QUERY_DLR = {
    "url": "https://sms.example/send",
    "body_type": "form",
    "body": {"to": "{to_e164}", "text": "{text}", "cb": "{dlr_url}"},
    "dlr": {"source": "query", "status": "stat", "id": "msgid", "error_code": "err",
            "status_map": {"DELIVRD": "delivered", "UNDELIV": "undelivered", "ACCEPTD": "queued"}},
}  # fmt: skip


def example(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text())["config"])


def configure(raw: dict[str, Any], **extra: Any) -> override_settings:
    values = {"GENERIC_HTTP_CONFIG": json.dumps(raw), "GENERIC_HTTP_DLR_SECRET": SECRET, **extra}
    return override_settings(ALPHASMS={**settings.ALPHASMS, **values})


def signed(reference: str, at: float | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time() if at is None else at))
    sig = hmac.new(secret.encode(), f"{reference}\n{ts}".encode(), hashlib.sha256).hexdigest()
    return {"alphasms_ref": reference, "alphasms_ts": ts, "alphasms_sig": sig}


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def attempt(db: Any) -> DeliveryAttempt:
    location = Location.objects.create(name="Praxis Sonnenhof", phone="+49 30 1234567")
    make_rule()
    make_appointment(location, make_customer(), dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    plan()
    message = OutboundMessage.objects.get()
    set_status(message, MessageStatus.SENT)
    return DeliveryAttempt.objects.create(
        message=message,
        gateway="generic_http",
        started_at=dt.datetime.now(dt.UTC),
        outcome=AttemptOutcome.SENT,
        gateway_message_id="s70df59406a1b4643b96f3f91e0bfb7b0",
    )


def elks_post(client: Client, query: dict[str, str], form: dict[str, str] | None = None) -> Any:
    if form is None:
        form = json.loads((FIXTURES / "46elks-dlr-delivered.json").read_text())["form"]
    return client.post(f"{HOOK}?{urllib.parse.urlencode(query)}", data=form)


def status_of(attempt: DeliveryAttempt) -> str:
    return str(OutboundMessage.objects.get(pk=attempt.message.pk).status)


@pytest.mark.django_db
class TestVerifiedCallbacks:
    def test_a_form_callback_marks_the_message_delivered(self, client, attempt):
        with configure(example("46elks.config.json")):
            response = elks_post(client, signed(str(attempt.id)))

        assert response.status_code == 200
        assert status_of(attempt) == MessageStatus.DELIVERED
        report = DeliveryReport.objects.get()
        assert (report.status, report.provider_status) == ("delivered", "delivered")
        assert "alphasms_sig" not in json.dumps(report.raw)

    def test_the_url_the_gateway_hands_out_is_accepted(self, client, attempt):
        with configure(example("46elks.config.json"), PUBLIC_URL="https://praxis.example"):
            url = webhooks.dlr_url(str(attempt.id))
            parts = urllib.parse.urlsplit(url)
            response = elks_post(client, dict(urllib.parse.parse_qsl(parts.query)))

        assert parts.path == HOOK and response.status_code == 200
        assert status_of(attempt) == MessageStatus.DELIVERED

    def test_a_json_callback_is_read_by_its_paths(self, client, attempt):
        body = json.loads((FIXTURES / "infobip-dlr-delivered.json").read_text())["payload"]
        body["results"][0]["status"]["groupName"] = "UNDELIVERABLE"
        body["results"][0]["error"]["name"] = "EC_ABSENT_SUBSCRIBER"
        with configure(example("infobip.config.json")):
            response = client.post(
                f"{HOOK}?{urllib.parse.urlencode(signed(str(attempt.id)))}",
                data=json.dumps(body),
                content_type="application/json",
            )

        assert response.status_code == 200
        report = DeliveryReport.objects.get()
        assert (report.status, report.provider_error_code) == ("undelivered", "EC_ABSENT_SUBSCRIBER")
        assert status_of(attempt) == MessageStatus.UNDELIVERED

    @pytest.mark.parametrize(
        ("stat", "expected"),
        [("DELIVRD", "delivered"), ("delivrd", "delivered"), ("ACCEPTD", "queued"), ("WEIRD", "unknown")],
    )
    def test_a_query_callback_maps_the_status(self, client, attempt, stat, expected):
        params = {**signed(str(attempt.id)), "stat": stat, "msgid": "m-1", "err": "000"}
        with configure(QUERY_DLR):
            assert client.get(HOOK, data=params).status_code == 200

        report = DeliveryReport.objects.get()
        assert (report.status, report.provider_status, report.provider_error_code) == (expected, stat, "000")
        assert report.raw == {"stat": stat, "msgid": "m-1", "err": "000"}

    def test_a_callback_without_a_status_is_acknowledged_and_ignored(self, client, attempt):
        with configure(QUERY_DLR):
            assert client.get(HOOK, data={**signed(str(attempt.id)), "msgid": "m-1"}).status_code == 200

        assert not DeliveryReport.objects.exists()


@pytest.mark.django_db
class TestForgedCallbacks:
    def assert_refused(self, response: Any, attempt: DeliveryAttempt) -> None:
        assert response.status_code == 400
        assert status_of(attempt) == MessageStatus.SENT
        assert not DeliveryReport.objects.exists()

    def test_a_wrong_signature(self, client, attempt):
        with configure(example("46elks.config.json")):
            self.assert_refused(elks_post(client, signed(str(attempt.id), secret="guess")), attempt)

    def test_a_signed_url_of_another_message(self, client, attempt):
        query = {**signed("11111111-2222-4333-8444-555555555555"), "alphasms_ref": str(attempt.id)}
        with configure(example("46elks.config.json")):
            self.assert_refused(elks_post(client, query), attempt)

    @pytest.mark.parametrize("missing", ["alphasms_ref", "alphasms_ts", "alphasms_sig"])
    def test_a_callback_without_our_fields(self, client, attempt, missing):
        query = signed(str(attempt.id))
        del query[missing]
        with configure(example("46elks.config.json")):
            self.assert_refused(elks_post(client, query), attempt)

    @pytest.mark.parametrize(
        "offset_s", [-7 * 24 * 3600 - 5, webhooks.CLOCK_SKEW_S + 60], ids=["stale", "future"]
    )
    def test_a_timestamp_outside_the_replay_window(self, client, attempt, offset_s):
        with configure(example("46elks.config.json")):
            self.assert_refused(
                elks_post(client, signed(str(attempt.id), at=time.time() + offset_s)), attempt
            )

    def test_a_shorter_configured_window(self, client, attempt):
        raw = example("46elks.config.json")
        raw["dlr"]["replay_window_s"] = 3600
        with configure(raw):
            self.assert_refused(elks_post(client, signed(str(attempt.id), at=time.time() - 7200)), attempt)

    def test_any_callback_when_no_dlr_mapping_is_configured(self, client, attempt):
        raw = {
            "url": "https://sms.example/send",
            "body_type": "form",
            "body": {"to": "{to_e164}", "text": "{text}"},
        }
        with configure(raw):
            self.assert_refused(elks_post(client, signed(str(attempt.id))), attempt)

    def test_it_answers_500_without_the_dlr_secret(self, client, attempt):
        with configure(example("46elks.config.json"), GENERIC_HTTP_DLR_SECRET=""):
            response = elks_post(client, signed(str(attempt.id)))

        assert response.status_code == 500
        assert status_of(attempt) == MessageStatus.SENT


def test_the_reported_status_vocabulary_is_ours():
    mapping = example("infobip.config.json")["dlr"]["status_map"]
    assert {DeliveryStatus(value) for value in mapping.values()} <= set(DeliveryStatus)
