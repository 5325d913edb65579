"""The Android gateway against Stoplight Prism serving the app's own published API description.

The file (tests/data/provider-specs/android-sms-gateway.swagger.json) is OpenAPI 3.0.1 converted from the
swaggo Swagger 2.0 source (``x-original-swagger-version: "2.0"``); Prism 5.14.2 loads it and validates
each request (body schema, the 36-character ``id`` limit, Basic auth) before answering.

One defect of the spec, not of our request: the 202 answer's ``state`` fields are declared as
``allOf: [ProcessingState]`` (a string enum) *and* ``type: object``, so no answer can satisfy them and
Prism's ``--errors`` mode (always on in alphasms.testing.prism) turns every *valid* request into HTTP 500
with violations located only in the response. The first test therefore reads Prism's verdict on the
request directly; the second asks Prism for the documented 409 answer (``Prefer: code=409``), which
Prism gives only after the request passed validation and which the gateway reads as "already accepted".

Needs ``npm ci --prefix tests/node``; without it the fixture errors with that instruction (no skip).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.messaging.gateways import errors, http
from alphasms.messaging.gateways.android.budget import PartBudget
from alphasms.messaging.gateways.android.gateway import AndroidGateway
from alphasms.messaging.gateways.base import DeliveryStatus, OutboundSms, RequestSpec
from alphasms.testing.prism import REPO_ROOT, PrismNotInstalled, PrismServer, prism_mock, start_prism

SPEC = REPO_ROOT / "tests" / "data" / "provider-specs" / "android-sms-gateway.swagger.json"
SMS = OutboundSms(
    reference="0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60",
    to_e164="+4915112345678",
    text="Erinnerung: Ihr Termin ist morgen um 09:30. Grüße, Ihre Praxis",
)


class AskingFor409(AndroidGateway):
    """The real request plus Prism's ``Prefer`` header, to get the spec's 409 example back."""

    def build_send_request(self, sms: OutboundSms) -> RequestSpec:
        spec = super().build_send_request(sms)
        return dataclasses.replace(spec, headers={**spec.headers, "Prefer": "code=409"})


class WithoutRecipient(AndroidGateway):
    """A deliberately invalid request (``phoneNumbers`` is required), to prove validation is on."""

    def build_send_request(self, sms: OutboundSms) -> RequestSpec:
        spec = super().build_send_request(sms)
        body = {k: v for k, v in spec.json_body.items() if k != "phoneNumbers"}
        return dataclasses.replace(spec, json_body=body)


@pytest.fixture(scope="module")
def prism() -> Iterator[PrismServer]:
    with prism_mock(SPEC) as server:
        yield server


@pytest.fixture
def at_prism(prism: PrismServer) -> Iterator[None]:
    values = {
        "ANDROID_MODE": "cloud",
        "ANDROID_BASE_URL": prism.url,
        "ANDROID_USERNAME": "sms",
        "ANDROID_PASSWORD": "prism-password",
        "HTTP_TIMEOUT_S": 10,
    }
    with override_settings(ALPHASMS={**settings.ALPHASMS, **values}):
        yield


def gateway(cls: type[AndroidGateway] = AndroidGateway) -> AndroidGateway:
    return cls(budget=PartBudget())


@pytest.mark.usefixtures("at_prism")
class TestAgainstThePublishedSpec:
    def test_prism_finds_nothing_wrong_with_the_request_the_gateway_sends(self, prism):
        android = gateway()
        response = http.request(android.build_send_request(SMS), base_url=prism.url, timeout_s=10)

        violations = json.loads(response.headers.get("sl-violations", "[]"))
        assert response.status == 500  # --errors: Prism's own 202 body breaks the spec (module docstring)
        assert violations and all(v["location"][0] == "response" for v in violations), violations
        assert "The request passed the validation rules" in prism.log_text()

    def test_the_documented_409_is_read_as_already_accepted(self):
        result = gateway(AskingFor409).send(SMS)

        assert (result.gateway_message_id, result.status) == (SMS.reference, DeliveryStatus.QUEUED)

    def test_prism_rejects_a_request_without_a_recipient(self, prism):
        broken = gateway(WithoutRecipient)
        response = http.request(broken.build_send_request(SMS), base_url=prism.url, timeout_s=10)

        violations = json.loads(response.headers["sl-violations"])
        assert response.status == 400
        assert [v["location"] for v in violations] == [["request", "body"]]
        assert "phoneNumbers" in violations[0]["message"]
        with pytest.raises(errors.RejectedByProvider) as caught:  # the same through the pipeline
            broken.send(SMS)
        assert caught.value.permanent and caught.value.http_status == 400

    def test_prism_rejects_an_id_longer_than_36_characters(self):
        with pytest.raises(errors.RejectedByProvider) as caught:
            gateway(AskingFor409).send(dataclasses.replace(SMS, reference=SMS.reference + "-retry-2"))

        assert caught.value.http_status == 400

    def test_prism_enforces_basic_auth(self, prism):
        android = gateway()
        spec = android.build_send_request(SMS)
        unsigned = dataclasses.replace(spec, headers={"Accept": "application/json"})
        response = http.request(unsigned, base_url=prism.url, timeout_s=10)

        assert response.status == 401
        assert isinstance(android.classify_error(response), errors.AuthenticationFailed)


def test_a_missing_prism_fails_with_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("ALPHASMS_PRISM_BIN", str(tmp_path / "no-prism"))
    with pytest.raises(PrismNotInstalled, match=r"npm ci --prefix tests/node"):
        start_prism(SPEC)
