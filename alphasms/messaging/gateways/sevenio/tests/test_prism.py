"""The seven.io gateway against Stoplight Prism serving seven.io's own published OpenAPI spec.

Prism validates each request (content type, required fields, patterns such as ``foreign_id``'s, security)
and answers 4xx with a ``validation`` list when one breaks the contract. Two adjustments, both about the
spec rather than our request:

* ``--dynamic --seed``: in static mode Prism answers with a body that breaks the spec's own response
  patterns (``"debug": "string"`` vs ``\\b(false|true)``), which ``--errors`` turns into HTTP 500 for every
  valid request. Seeded dynamic bodies satisfy the schema, so a 200 means "request valid".
* ``Authorization: Bearer``: the spec declares only OAuth2, while seven.io documents ``X-Api-Key`` for API
  keys (https://docs.seven.io/en/rest-api/authentication, read 2026-11-30); production sends only
  ``X-Api-Key``. The peer below adds the Bearer header, and a test records that Prism refuses without it.

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
from alphasms.messaging.gateways.sevenio.gateway import SevenioGateway
from alphasms.testing.prism import REPO_ROOT, PrismNotInstalled, PrismServer, prism_mock, start_prism

SPEC = REPO_ROOT / "tests" / "data" / "provider-specs" / "seven-io.openapi.json"
SMS = OutboundSms(
    reference="0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60",
    to_e164="+4915112345678",
    text="Erinnerung: Ihr Termin ist morgen um 09:30. Grüße, Ihre Praxis",
    sender_id="Praxis",
)


class BearerForPrism(SevenioGateway):
    """The real gateway plus the OAuth2 header the published spec demands (see module docstring)."""

    def build_send_request(self, sms: OutboundSms) -> RequestSpec:
        spec = super().build_send_request(sms)
        return dataclasses.replace(
            spec, headers={**spec.headers, "Authorization": f"Bearer {self.api_key()}"}
        )


class WithoutRecipient(BearerForPrism):
    """A deliberately broken request, to prove Prism's validation is on."""

    def build_send_request(self, sms: OutboundSms) -> RequestSpec:
        spec = super().build_send_request(sms)
        return dataclasses.replace(spec, form={k: v for k, v in (spec.form or {}).items() if k != "to"})


@pytest.fixture(scope="module")
def prism() -> Iterator[PrismServer]:
    with prism_mock(SPEC, "--dynamic", "--seed", "alphasms") as server:
        yield server


@pytest.fixture
def at_prism(prism: PrismServer) -> Iterator[None]:
    values = {"SEVENIO_BASE_URL": prism.url, "SEVENIO_API_KEY": "prism-key", "HTTP_TIMEOUT_S": 10}
    with override_settings(ALPHASMS={**settings.ALPHASMS, **values}):
        yield


@pytest.mark.usefixtures("at_prism")
class TestAgainstThePublishedSpec:
    def test_prism_accepts_the_request_the_gateway_sends(self, prism):
        result = BearerForPrism().send(SMS)

        assert result.gateway_message_id  # a schema-shaped 200 answer, read as accepted
        assert "The request passed the validation rules" in prism.log_text()

    def test_prism_rejects_a_request_without_a_recipient(self):
        with pytest.raises(errors.RejectedByProvider) as caught:
            WithoutRecipient().send(SMS)

        assert caught.value.http_status == 422
        assert "UNPROCESSABLE_ENTITY" in caught.value.excerpt

    def test_prism_enforces_the_oauth2_scheme_the_spec_declares(self):
        with pytest.raises(errors.AuthenticationFailed) as caught:
            SevenioGateway().send(SMS)  # X-Api-Key only, as in production

        assert caught.value.http_status == 401


def test_a_missing_prism_fails_with_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("ALPHASMS_PRISM_BIN", str(tmp_path / "no-prism"))
    with pytest.raises(PrismNotInstalled, match=r"npm ci --prefix tests/node"):
        start_prism(SPEC)
