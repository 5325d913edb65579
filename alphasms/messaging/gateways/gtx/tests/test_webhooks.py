"""GTX DLR callbacks through the real view (CSRF on) and the real database: the signed dlr-url is verified,
GTX's report fields mapped, and a forged, duplicate or late report never changes what it must not.

The report fields are those GTX appends (fixtures/dlr-callbacks.json, provenance inside); ``ref``/``ts``/
``sig`` are signed here by an independent HMAC, not by the code under test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings

from alphasms.appointments.models import Location
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.base import CALLBACK_CLOCK_SKEW_S, DeliveryStatus
from alphasms.messaging.gateways.gtx import webhooks
from alphasms.messaging.models import DeliveryAttempt, DeliveryReport, MessageStatus, OutboundMessage
from alphasms.messaging.services.lifecycle import set_status
from tests.conftest import make_appointment, make_customer, make_rule

FIXTURES = Path(__file__).parent / "fixtures"
CALLBACKS = json.loads((FIXTURES / "dlr-callbacks.json").read_text())
SECRET = "gtx-dlr-secret-for-tests"
HOOK = "/hooks/gtx/dlr/"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"
OTHER = "11111111-2222-4333-8444-555555555555"


def signed(reference: str = REFERENCE, at: float | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time() if at is None else at))
    sig = hmac.new(secret.encode(), f"{reference}\n{ts}".encode(), hashlib.sha256).hexdigest()
    return {"ref": reference, "ts": ts, "sig": sig}


@pytest.fixture(autouse=True)
def gtx_settings():
    values = {"GTX_DLR_SECRET": SECRET, "PUBLIC_URL": "https://praxis.example/sms"}
    with override_settings(ALPHASMS={**settings.ALPHASMS, **values}):
        yield


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def attempt(db: Any) -> DeliveryAttempt:
    """A message sent through GTX: attempt id = REFERENCE, GTX's message id not recorded (as after an
    ambiguous answer), message status "sent"."""
    make_rule()
    location = Location.objects.create(name="Praxis Sonnenhof", phone="+49 30 1234567")
    make_appointment(location, make_customer(), dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    plan()
    message = OutboundMessage.objects.get()
    set_status(message, MessageStatus.SENT)
    return DeliveryAttempt.objects.create(
        id=REFERENCE, message=message, gateway="gtx", started_at=dt.datetime.now(dt.UTC)
    )


def get(client: Client, params: dict[str, str]) -> Any:
    return client.get(HOOK, data=params)


def status_of(attempt: DeliveryAttempt) -> str:
    return str(OutboundMessage.objects.get(pk=attempt.message_id).status)


class TestVerifiedReports:
    def test_a_signed_report_is_stored_and_moves_the_message_forward(self, client, attempt, caplog):
        with caplog.at_level(logging.INFO, logger="alphasms.webhooks"):
            response = get(client, {**signed(), **CALLBACKS["delivered"]})

        assert response.status_code == 200
        assert "gateway=gtx events=1 applied=1" in caplog.text
        report = DeliveryReport.objects.get()
        assert (report.status, report.provider_status, str(report.attempt_id)) == (
            "delivered",
            "1",
            REFERENCE,
        )
        assert status_of(attempt) == MessageStatus.DELIVERED

    def test_the_url_we_hand_to_gtx_verifies_once_gtx_appended_its_fields(self, client, attempt):
        url = webhooks.dlr_url(REFERENCE) + "&" + urllib.parse.urlencode(CALLBACKS["undelivered"])
        parts = urllib.parse.urlsplit(url)

        assert url.startswith("https://praxis.example/sms/hooks/gtx/dlr/?ref=")
        response = client.get(parts.path.removeprefix("/sms") + "?" + parts.query)
        assert response.status_code == 200
        assert status_of(attempt) == MessageStatus.UNDELIVERED

    def test_fields_appended_with_a_second_question_mark_still_verify(self, client, attempt):
        url = webhooks.dlr_url(REFERENCE) + "?" + urllib.parse.urlencode(CALLBACKS["delivered"])
        parts = urllib.parse.urlsplit(url)

        response = client.get(parts.path.removeprefix("/sms") + "?" + parts.query)
        assert response.status_code == 200
        assert DeliveryReport.objects.get().raw["from"] == "UAST"  # split off the signature again

    def test_a_report_days_later_is_accepted(self, client, attempt):
        params = {**signed(at=time.time() - 3 * 24 * 3600), **CALLBACKS["delivered"]}

        assert get(client, params).status_code == 200
        assert status_of(attempt) == MessageStatus.DELIVERED

    def test_a_probe_without_parameters_is_answered(self, client):
        assert client.get(HOOK).status_code == 200
        assert client.head(HOOK).status_code == 200


class TestForgedReportsChangeNothing:
    def assert_rejected(self, response: Any, attempt: DeliveryAttempt) -> None:
        assert response.status_code == 400
        assert DeliveryReport.objects.count() == 0
        assert status_of(attempt) == MessageStatus.SENT

    def test_a_wrong_signature(self, client, attempt):
        self.assert_rejected(get(client, {**signed(secret="another"), **CALLBACKS["delivered"]}), attempt)

    def test_a_url_for_another_message_cannot_report_on_this_one(self, client, attempt):
        params = {**signed(reference=OTHER), **CALLBACKS["undelivered"], "ref": REFERENCE}

        self.assert_rejected(get(client, params), attempt)

    def test_a_changed_timestamp(self, client, attempt):
        params = signed()
        params["ts"] = str(int(params["ts"]) - 1)

        self.assert_rejected(get(client, {**params, **CALLBACKS["undelivered"]}), attempt)

    @pytest.mark.parametrize("missing", ["ref", "ts", "sig"])
    def test_a_callback_without_its_signature_fields(self, client, attempt, missing):
        params = {**signed(), **CALLBACKS["delivered"]}
        del params[missing]

        self.assert_rejected(get(client, params), attempt)

    @pytest.mark.parametrize(
        "offset_s", [-webhooks.REPLAY_WINDOW_S - 5, CALLBACK_CLOCK_SKEW_S + 60], ids=["stale", "future"]
    )
    def test_a_timestamp_outside_the_replay_window(self, client, attempt, offset_s):
        self.assert_rejected(
            get(client, {**signed(at=time.time() + offset_s), **CALLBACKS["delivered"]}), attempt
        )

    def test_a_timestamp_that_is_not_a_number(self, client, attempt):
        params = {**signed(), "ts": "2026-11-30T10:00:00Z", **CALLBACKS["delivered"]}

        self.assert_rejected(get(client, params), attempt)

    def test_without_a_configured_secret_it_answers_500_and_stores_nothing(self, client, attempt):
        with override_settings(ALPHASMS={**settings.ALPHASMS, "GTX_DLR_SECRET": ""}):
            response = get(client, {**signed(), **CALLBACKS["delivered"]})

        assert response.status_code == 500  # our misconfiguration: GTX may retry
        assert DeliveryReport.objects.count() == 0

    def test_gtx_has_no_reply_hook(self, client, attempt):
        assert client.get("/hooks/gtx/mo/", data={**signed(), "text": "JA"}).status_code == 404


class TestDuplicateAndLateReports:
    def test_a_duplicate_report_is_stored_once(self, client, attempt):
        params = {**signed(), **CALLBACKS["delivered"]}
        assert get(client, params).status_code == 200
        assert get(client, params).status_code == 200

        assert DeliveryReport.objects.count() == 1
        assert status_of(attempt) == MessageStatus.DELIVERED

    @pytest.mark.parametrize("late", ["undelivered", "expired"])
    def test_a_final_report_after_delivered_never_moves_the_status_back(self, client, attempt, late):
        assert get(client, {**signed(), **CALLBACKS["delivered"]}).status_code == 200
        assert get(client, {**signed(), **CALLBACKS[late]}).status_code == 200

        assert DeliveryReport.objects.count() == 2  # both kept as history
        assert status_of(attempt) == MessageStatus.DELIVERED

    def test_an_intermediate_report_after_the_final_one_changes_nothing(self, client, attempt):
        assert get(client, {**signed(), **CALLBACKS["undelivered"]}).status_code == 200
        for kind in ("8", "4", "66"):
            late = {**CALLBACKS["delivered"], "dlr-mask": kind, "error-code": "0000"}
            assert get(client, {**signed(), **late}).status_code == 200

        assert status_of(attempt) == MessageStatus.UNDELIVERED

    def test_a_report_for_an_unknown_reference_is_acknowledged_and_dropped(self, client, attempt):
        assert get(client, {**signed(reference=OTHER), **CALLBACKS["delivered"]}).status_code == 200

        assert DeliveryReport.objects.count() == 0
        assert status_of(attempt) == MessageStatus.SENT


def parse(params: dict[str, str]) -> Any:
    (event,) = webhooks.parse_dlr(RequestFactory().get(HOOK, data=params))
    return event


class TestPayloadMapping:
    def test_it_maps_the_report_gtx_sends(self):
        event = parse({**signed(), **CALLBACKS["delivered"]})

        assert (event.status, event.provider_status, event.reference) == (
            DeliveryStatus.DELIVERED,
            "1",
            REFERENCE,
        )
        assert event.gateway_message_id == "0f32bc8f-7271-4228-bf05-ba32403af065"
        assert event.provider_error_code == ""  # "0000" is success
        assert event.occurred_at == dt.datetime(2024, 6, 24, 10, 27, 56, tzinfo=dt.UTC)

    def test_it_keeps_the_error_code_and_no_signature_or_full_number(self):
        event = parse({**signed(), **CALLBACKS["undelivered"]})

        assert (event.status, event.provider_error_code) == (DeliveryStatus.UNDELIVERED, "0001")
        assert "sig" not in event.raw
        assert event.raw["to"] == "…5678" and event.raw["error-message"] == "Undelivered"

    @pytest.mark.parametrize(
        ("kind", "expected"),
        [
            ("1", DeliveryStatus.DELIVERED),
            ("2", DeliveryStatus.UNDELIVERED),
            ("34", DeliveryStatus.EXPIRED),
            ("66", DeliveryStatus.UNKNOWN),
            ("4", DeliveryStatus.QUEUED),
            ("8", DeliveryStatus.SENT),
            ("16", DeliveryStatus.REJECTED),
            ("32", DeliveryStatus.UNKNOWN),
            ("", DeliveryStatus.UNKNOWN),
        ],
    )
    def test_it_maps_each_dlr_type(self, kind, expected):
        event = parse({**signed(), "dlr-mask": kind, "done-date": "2026-11-30 10:00:00"})

        assert (event.status, event.provider_status, event.occurred_at) == (expected, kind, None)
