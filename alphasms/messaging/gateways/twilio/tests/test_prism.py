"""The Twilio gateway against Stoplight Prism serving Twilio's own published OpenAPI spec (API 2010-04-01).

Prism validates each request against ``twilio-api-v2010.openapi.json`` (twilio/twilio-oai @ d50069b4):
the ``AccountSid`` path pattern, the form body (``To`` required, ``MessagingServiceSid`` pattern,
``StatusCallback`` as a URI) and the declared HTTP Basic security. It answers 422/401 with a
``validation`` list when a request breaks the contract, and the spec's own ``create`` example (201) when
it keeps it.

No adjustment is needed: the spec's only server is ``https://api.twilio.com`` without a path prefix, so Prism
serves ``/2010-04-01/…`` at its root and the gateway's base URL is just ``prism.url``; the static example
answer satisfies the response schema, so plain ``--errors`` mode works. The spec is large (1.9 MB, every
2010 resource): Prism started in about 2 s here (Node 20, 2 cores); the fixture allows 60 s and the
measured time is asserted below 30 s so a slowdown shows.

Needs ``npm ci --prefix tests/node``; without it the fixture errors with that instruction (no skip).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import DeliveryStatus, OutboundSms, RequestSpec
from alphasms.messaging.gateways.twilio.gateway import TwilioGateway
from alphasms.testing.prism import REPO_ROOT, PrismNotInstalled, PrismServer, prism_mock, start_prism

SPEC = REPO_ROOT / "tests" / "data" / "provider-specs" / "twilio-api-v2010.openapi.json"
SMS = OutboundSms(
    reference="0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60",
    to_e164="+4915112345678",
    text="Erinnerung: Ihr Termin ist morgen um 09:30. Grüße, Ihre Praxis",
    sender_id="Praxis",
)


class WithoutRecipient(TwilioGateway):
    """A deliberately broken request (no ``To``), to prove Prism's validation is on."""

    def build_send_request(self, sms: OutboundSms) -> RequestSpec:
        spec = super().build_send_request(sms)
        return dataclasses.replace(spec, form={k: v for k, v in (spec.form or {}).items() if k != "To"})


class WithoutCredentials(TwilioGateway):
    """The real request minus its Authorization header, to prove Prism enforces the declared Basic auth."""

    def build_send_request(self, sms: OutboundSms) -> RequestSpec:
        spec = super().build_send_request(sms)
        return dataclasses.replace(spec, headers={"Accept": "application/json"})


@pytest.fixture(scope="module")
def prism() -> Iterator[tuple[PrismServer, float]]:
    started = time.monotonic()
    with prism_mock(SPEC) as server:
        yield server, time.monotonic() - started


@pytest.fixture
def at_prism(prism: tuple[PrismServer, float]) -> Iterator[PrismServer]:
    server, _ = prism
    values = {
        "TWILIO_BASE_URL": server.url,
        "TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
        "TWILIO_AUTH_TOKEN": "prism-token",
        "TWILIO_MESSAGING_SERVICE_SID": "",
        "PUBLIC_URL": "https://praxis.example",
        "HTTP_TIMEOUT_S": 10,
    }
    with override_settings(ALPHASMS={**settings.ALPHASMS, **values}):
        yield server


class TestAgainstThePublishedSpec:
    def test_prism_starts_on_the_large_spec_in_reasonable_time(self, prism):
        _, startup_s = prism
        assert startup_s < 30, f"prism took {startup_s:.1f} s to start"

    def test_prism_accepts_the_request_the_gateway_sends(self, at_prism):
        result = TwilioGateway().send(SMS)

        assert result.gateway_message_id == "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"  # the spec's example
        assert (result.status, result.segments) == (DeliveryStatus.QUEUED, 1)
        assert "The request passed the validation rules" in at_prism.log_text()

    def test_prism_accepts_the_request_through_a_messaging_service(self, at_prism):
        service = {"TWILIO_MESSAGING_SERVICE_SID": "MG" + "fedcba9876543210" * 2}
        with override_settings(ALPHASMS={**settings.ALPHASMS, **service}):
            result = TwilioGateway().send(dataclasses.replace(SMS, sender_id=""))

        assert result.gateway_message_id

    def test_prism_rejects_a_request_without_a_recipient(self, at_prism):
        with pytest.raises(errors.RejectedByProvider) as caught:
            WithoutRecipient().send(SMS)

        assert caught.value.http_status == 422
        assert "UNPROCESSABLE_ENTITY" in caught.value.excerpt
        assert "must have required property 'To'" in at_prism.log_text()

    def test_prism_rejects_a_request_without_basic_auth(self, at_prism):
        with pytest.raises(errors.AuthenticationFailed) as caught:
            WithoutCredentials().send(SMS)

        assert caught.value.http_status == 401


def test_a_missing_prism_fails_with_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("ALPHASMS_PRISM_BIN", str(tmp_path / "no-prism"))
    with pytest.raises(PrismNotInstalled, match=r"npm ci --prefix tests/node"):
        start_prism(SPEC)
