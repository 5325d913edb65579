"""The Vonage gateway against Stoplight Prism serving Vonage's own published OpenAPI spec.

Prism validates each request (form content type, required ``api_key``/``from``/``to``, ``api_key`` length,
``to`` pattern, the ``type`` enum) and answers 422 with a ``validation`` list when one breaks the contract.
Two adjustments, both about the spec rather than our request:

* The spec's server URL is ``https://rest.nexmo.com/sms`` and its path ``/{format}``; Prism mounts paths at
  its root, so the peer below sends to ``/json`` where production sends to ``/sms/json`` (``test_send.py``
  asserts the production path).
* ``--errors=false`` (after the helper's ``--errors``; the last flag wins): the spec's send answer is
  ``oneOf: [SMS, Error]`` and neither schema has required fields, so *every* answer matches both and Prism
  would turn each valid request into HTTP 500 for its own response. Request violations still give 422.

Needs ``npm ci --prefix tests/node``; without it the fixture errors with that instruction (no skip).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import OutboundSms, RequestSpec
from alphasms.messaging.gateways.vonage.gateway import VonageGateway
from alphasms.messaging.gateways.vonage.tests.spec import SPEC
from alphasms.testing.prism import PrismServer, prism_mock

SMS = OutboundSms(
    reference="0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60",
    to_e164="+4915112345678",
    text="Erinnerung: Ihr Termin ist morgen um 09:30. Grüße, Ihre Praxis",
    sender_id="Praxis",
)


class AtSpecRoot(VonageGateway):
    """The real gateway, sending to the spec's ``/{format}`` path (see module docstring)."""

    def build_send_request(self, sms: OutboundSms) -> RequestSpec:
        spec = super().build_send_request(sms)
        assert spec.path == "sms/json"
        return dataclasses.replace(spec, path="json")


class WithoutRecipient(AtSpecRoot):
    """A deliberately broken request (no ``to``), to prove Prism's validation is on."""

    def build_send_request(self, sms: OutboundSms) -> RequestSpec:
        spec = super().build_send_request(sms)
        return dataclasses.replace(spec, form={k: v for k, v in (spec.form or {}).items() if k != "to"})


class WithUnknownType(AtSpecRoot):
    """Another broken request: a ``type`` outside the spec's enum."""

    def build_send_request(self, sms: OutboundSms) -> RequestSpec:
        spec = super().build_send_request(sms)
        return dataclasses.replace(spec, form={**(spec.form or {}), "type": "utf8"})


@pytest.fixture(scope="module")
def prism() -> Iterator[PrismServer]:
    with prism_mock(SPEC, "--errors=false") as server:
        yield server


@pytest.fixture
def at_prism(prism: PrismServer) -> Iterator[None]:
    values = {
        "VONAGE_BASE_URL": prism.url,
        "VONAGE_API_KEY": "abcd1234",  # the spec wants exactly 8 characters, as Vonage's keys have
        "VONAGE_API_SECRET": "abcdef0123456789",
        "PUBLIC_URL": "http://127.0.0.1:9",  # Prism may try the spec's DLR callback: keep it local and closed
        "HTTP_TIMEOUT_S": 10,
    }
    with override_settings(ALPHASMS={**settings.ALPHASMS, **values}):
        yield


@pytest.mark.usefixtures("at_prism")
class TestAgainstThePublishedSpec:
    def test_prism_accepts_the_request_the_gateway_sends(self, prism):
        passed = "The request passed the validation rules"
        before = prism.log_text().count(passed)
        result = AtSpecRoot().send(SMS)

        assert result.part_ids == ("0A0000000123ABCD1",)  # the spec's own example answer, read as accepted
        assert prism.log_text().count(passed) == before + 1

    def test_prism_accepts_a_unicode_text(self):
        result = AtSpecRoot().send(dataclasses.replace(SMS, text="Termin bestätigt ✓"))

        assert result.gateway_message_id == "0A0000000123ABCD1"

    def test_prism_rejects_a_request_without_a_recipient(self):
        with pytest.raises(errors.RejectedByProvider) as caught:
            WithoutRecipient().send(SMS)

        assert caught.value.http_status == 422
        assert "UNPROCESSABLE_ENTITY" in caught.value.excerpt

    def test_prism_rejects_an_encoding_type_outside_the_spec(self):
        with pytest.raises(errors.RejectedByProvider) as caught:
            WithUnknownType().send(SMS)

        assert caught.value.http_status == 422

    def test_the_production_path_is_not_in_the_spec_root(self):
        with pytest.raises(errors.RejectedByProvider) as caught:
            VonageGateway().send(SMS)

        assert caught.value.http_status == 404  # /sms/json: the spec's server URL already ends in /sms
