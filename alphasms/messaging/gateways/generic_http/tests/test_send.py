"""Sending through the generic HTTP gateway over real sockets, with the README's two worked examples.

The fake peer records each request; the tests decode it as the provider would (form, JSON, query, Basic
auth) and assert the exact payload (DESIGN.md invariant 6), that texts full of template and encoding
characters arrive unchanged, that secrets are resolved but never shown, and the failure drill.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import DeliveryStatus, OutboundSms
from alphasms.messaging.gateways.generic_http import webhooks
from alphasms.messaging.gateways.generic_http.gateway import GenericHttpGateway
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer

FIXTURES = Path(__file__).parent / "fixtures"
NUMBER = "+4915112345678"
REFERENCE = "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"
TEXT = "Erinnerung: Ihr Termin bei Dr. Müller ist morgen um 09:30."
SMS = OutboundSms(reference=REFERENCE, to_e164=NUMBER, text=TEXT, sender_id="Praxis")
TRICKY = 'Sie "zahlen" 1+1 & a=b, 50 % {to_e164} ${ALPHASMS_GENERIC_HTTP_API_KEY} {{x}} \\ }\nZeile 2 €'
SECRETS = {
    "GENERIC_HTTP_USERNAME": "elks-user",
    "GENERIC_HTTP_PASSWORD": "elks-pass-9f2",
    "GENERIC_HTTP_API_KEY": "ib-key-51c0",
    "GENERIC_HTTP_DLR_SECRET": "generic-dlr-secret",
}


def example(name: str, url: str) -> dict[str, Any]:
    """The README example ``name`` with its host replaced by the fake server's."""
    raw = dict(json.loads((FIXTURES / name).read_text())["config"])
    raw["url"] = url + urllib.parse.urlsplit(raw["url"]).path
    return raw


def configure(raw: dict[str, Any], **extra: Any) -> override_settings:
    values = {
        "GENERIC_HTTP_CONFIG": json.dumps(raw),
        "PUBLIC_URL": "https://praxis.example",
        "SMS_SENDER_ID": "",
        "HTTP_TIMEOUT_S": 2,
        **SECRETS,
    }
    return override_settings(ALPHASMS={**settings.ALPHASMS, **values, **extra})


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    with FakeHttpServer() as fake:
        yield fake
    assert fake.unanswered == 0, "a request reached the fake server with no canned answer"


@pytest.fixture
def elks(server: FakeHttpServer) -> Iterator[GenericHttpGateway]:
    with configure(example("46elks.config.json", server.url)):
        yield GenericHttpGateway()


@pytest.fixture
def infobip(server: FakeHttpServer) -> Iterator[GenericHttpGateway]:
    with configure(example("infobip.config.json", server.url)):
        yield GenericHttpGateway()


def fixture(name: str, **overrides: Any) -> CannedResponse:
    return CannedResponse.from_fixture(FIXTURES / name, **overrides)


class TestFormProvider:
    def test_it_posts_exactly_the_configured_form_fields(self, server, elks):
        server.enqueue(fixture("46elks-sms-created.json"))
        result = elks.send(SMS)

        (request,) = server.requests
        assert (request.method, request.path) == ("POST", "/a1/sms")
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        form = request.form()
        dlr_url = form.pop("whendelivered")
        assert form == {"from": ["Praxis"], "to": [NUMBER], "message": [TEXT]}
        assert dlr_url[0].startswith(
            f"https://praxis.example/hooks/generic_http/dlr/?alphasms_ref={REFERENCE}&"
        )
        assert (result.gateway_message_id, result.status) == ("s70df59406a1b4643b96f3f91e0bfb7b0", "accepted")

    def test_it_sends_basic_auth_from_the_secrets(self, server, elks):
        server.enqueue(fixture("46elks-sms-created.json"))
        elks.send(SMS)

        scheme, token = server.requests[0].headers["authorization"].split(" ")
        assert (scheme, base64.b64decode(token).decode()) == ("Basic", "elks-user:elks-pass-9f2")

    def test_the_callback_url_is_signed_for_this_reference(self, server, elks):
        server.enqueue(fixture("46elks-sms-created.json"))
        elks.send(SMS)

        query = urllib.parse.parse_qs(
            urllib.parse.urlsplit(server.requests[0].form()["whendelivered"][0]).query
        )
        assert query["alphasms_sig"] == [webhooks.sign(REFERENCE, int(query["alphasms_ts"][0]))]

    def test_form_values_are_url_encoded_and_arrive_unchanged(self, server, elks):
        server.enqueue(fixture("46elks-sms-created.json"))
        elks.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text=TRICKY, sender_id="Praxis"))

        raw = server.requests[0].body.decode("ascii")
        assert "to=%2B4915112345678" in raw and "%26" in raw and "%7B" in raw
        assert server.requests[0].form()["message"] == [TRICKY]
        assert "ib-key-51c0" not in raw  # a ${…} in the text is text, not a secret reference

    def test_without_a_sender_id_the_from_field_is_left_out(self, server, elks):
        server.enqueue(fixture("46elks-sms-created.json"))
        elks.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Hallo"))

        assert "from" not in server.requests[0].form()

    def test_a_refusal_in_a_200_answer_is_rejected_permanently(self, server, elks):
        server.enqueue(fixture("46elks-sms-created.json", body=b'{"status": "failed", "id": "s1"}'))
        with pytest.raises(errors.RejectedByProvider) as caught:
            elks.send(SMS)

        assert caught.value.permanent and caught.value.http_status == 200

    def test_a_2xx_that_is_not_a_configured_success_status_is_ambiguous(self, server, elks):
        server.enqueue(fixture("46elks-sms-created.json", status=202))
        with pytest.raises(errors.UnexpectedResponse) as caught:
            elks.send(SMS)

        assert caught.value.ambiguous

    @pytest.mark.parametrize("setting", ["GENERIC_HTTP_PASSWORD", "GENERIC_HTTP_DLR_SECRET"])
    def test_a_missing_secret_names_its_variable_and_nothing_is_sent(self, server, setting, monkeypatch):
        monkeypatch.delenv(f"ALPHASMS_{setting}", raising=False)
        with (
            configure(example("46elks.config.json", server.url), **{setting: ""}),
            pytest.raises(errors.GatewayMisconfigured) as caught,
        ):
            GenericHttpGateway().send(SMS)

        assert f"ALPHASMS_{setting}" in str(caught.value)
        assert server.requests == []

    def test_secrets_come_from_the_environment_too(self, server, monkeypatch):
        monkeypatch.setenv("ALPHASMS_GENERIC_HTTP_PASSWORD", "from-env")
        server.enqueue(fixture("46elks-sms-created.json"))
        with configure(example("46elks.config.json", server.url), GENERIC_HTTP_PASSWORD=""):
            GenericHttpGateway().send(SMS)

        token = server.requests[0].headers["authorization"].split(" ")[1]
        assert base64.b64decode(token).decode() == "elks-user:from-env"


class TestJsonProvider:
    def test_it_posts_exactly_the_configured_json(self, server, infobip):
        server.enqueue(fixture("infobip-sms-pending.json"))
        result = infobip.send(SMS)

        (request,) = server.requests
        assert (request.method, request.path) == ("POST", "/sms/2/text/advanced")
        assert request.headers["content-type"] == "application/json"
        assert (request.headers["authorization"], request.headers["accept"]) == (
            "App ib-key-51c0",
            "application/json",
        )
        body = request.json()
        notify_url = body["messages"][0].pop("notifyUrl")
        assert body == {
            "messages": [
                {
                    "destinations": [{"to": NUMBER[1:], "messageId": REFERENCE}],
                    "from": "Praxis",
                    "text": TEXT,
                    "notifyContentType": "application/json",
                }
            ]
        }
        assert notify_url.startswith("https://praxis.example/hooks/generic_http/dlr/?alphasms_ref=")
        assert (result.gateway_message_id, result.segments) == (REFERENCE, 1)

    def test_the_json_body_is_built_as_data(self, server, infobip):
        server.enqueue(fixture("infobip-sms-pending.json"))
        infobip.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text=TRICKY, sender_id='Pra"xis'))

        body = json.loads(server.requests[0].body)  # valid JSON whatever the text holds
        assert body["messages"][0]["text"] == TRICKY
        assert body["messages"][0]["from"] == 'Pra"xis'
        assert set(body["messages"][0]) == {"destinations", "from", "text", "notifyUrl", "notifyContentType"}

    def test_a_nested_sender_field_is_left_out_without_a_sender(self, server, infobip):
        server.enqueue(fixture("infobip-sms-pending.json"))
        infobip.send(OutboundSms(reference=REFERENCE, to_e164=NUMBER, text="Hallo"))

        assert "from" not in server.requests[0].json()["messages"][0]

    @pytest.mark.parametrize(
        ("code", "error_class"),
        [
            ("REJECTED_DESTINATION", errors.InvalidRecipient),
            ("REJECTED_NOT_ENOUGH_CREDITS", errors.InsufficientFunds),
            ("REJECTED_SENDER", errors.SenderNotAllowed),
            ("REJECTED_SOMETHING_NEW", errors.RejectedByProvider),
        ],
    )
    def test_a_rejection_in_the_answer_maps_through_the_errors_table(
        self, server, infobip, code, error_class
    ):
        body = json.loads((FIXTURES / "infobip-sms-rejected-destination.json").read_text())["body"]
        body["messages"][0]["status"]["name"] = code
        server.enqueue(CannedResponse.json(body))
        with pytest.raises(errors.GatewayError) as caught:
            infobip.send(SMS)

        assert type(caught.value) is error_class and caught.value.permanent
        assert caught.value.provider_code == code
        assert caught.value.user_message == error_class.default_user_message
        assert NUMBER[1:] not in str(caught.value)

    def test_a_mapped_code_in_an_error_status_wins_over_http_semantics(self, server, infobip):
        body = json.loads((FIXTURES / "infobip-sms-rejected-destination.json").read_text())["body"]
        server.enqueue(CannedResponse.json(body, status=400))
        with pytest.raises(errors.InvalidRecipient) as caught:
            infobip.send(SMS)

        assert caught.value.http_status == 400


QUERY_PROVIDER: dict[str, Any] = {
    "method": "GET",
    "url": "http://placeholder/api/send.php?key=${ALPHASMS_GENERIC_HTTP_API_KEY}",
    "body_type": "query",
    "body": {"nr": "{to_msisdn}", "msg": "{text}", "ref": "{reference}", "test": 0},
    "success": {"body_regex": "^OK "},
    "message_id": {"regex": "^OK (\\w+)"},
    "error_code": {"regex": "^ERR (\\d+)"},
    "errors": {"20": "invalid_recipient"},
}


class TestQueryProvider:
    @pytest.fixture
    def gateway(self, server):
        with configure(
            {**QUERY_PROVIDER, "url": QUERY_PROVIDER["url"].replace("http://placeholder", server.url)}
        ):
            yield GenericHttpGateway()

    def test_it_appends_the_fields_to_the_configured_query(self, server, gateway):
        server.enqueue(CannedResponse(200, {}, b"OK 4711"))
        result = gateway.send(OutboundSms(reference="r-1", to_e164=NUMBER, text=TRICKY))

        (request,) = server.requests
        assert request.method == "GET" and request.body == b""
        assert urllib.parse.urlsplit(request.path).path == "/api/send.php"
        assert request.query == {
            "key": ["ib-key-51c0"],
            "nr": [NUMBER[1:]],
            "msg": [TRICKY],
            "ref": ["r-1"],
            "test": ["0"],
        }
        assert result.gateway_message_id == "4711"

    def test_a_mapped_error_code_in_the_body(self, server, gateway):
        server.enqueue(CannedResponse(200, {}, b"ERR 20 invalid number"))
        with pytest.raises(errors.InvalidRecipient) as caught:
            gateway.send(SMS)

        assert caught.value.provider_code == "20"

    def test_an_unreadable_answer_is_ambiguous(self, server, gateway):
        server.enqueue(CannedResponse(200, {}, b"<html>Wartung</html>"))
        with pytest.raises(errors.UnexpectedResponse):
            gateway.send(SMS)

    def test_the_secret_never_shows_in_errors_or_logs(self, server, gateway, caplog):
        server.enqueue(CannedResponse(500, {}, b"Internal Server Error"))
        # our loggers at DEBUG; urllib3's own DEBUG line (not handled by our LOGGING) would show the query
        with (
            caplog.at_level(logging.DEBUG, logger="alphasms"),
            pytest.raises(errors.OutcomeUnknown) as caught,
        ):
            gateway.send(SMS)

        assert "ib-key-51c0" not in str(caught.value) and "ib-key-51c0" not in caplog.text
        assert "ib-key-51c0" not in repr(caught.value)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DRILL = [
    ("400", CannedResponse(400, {}, b"Bad Request"), errors.RejectedByProvider, True, False),
    ("401", CannedResponse(401, {}, b"Unauthorized"), errors.AuthenticationFailed, True, False),
    ("403", CannedResponse(403, {}, b"Forbidden"), errors.AuthenticationFailed, True, False),
    ("429", CannedResponse(429, {"Retry-After": "30"}, b""), errors.RateLimited, False, False),
    ("500", CannedResponse(500, {}, b"Internal Server Error"), errors.OutcomeUnknown, False, True),
    ("503", CannedResponse(503, {}, b"Service Unavailable"), errors.GatewayUnavailable, False, False),
    (
        "slow",
        CannedResponse.json({"status": "created", "id": "s1"}, delay_s=1.5),
        errors.OutcomeUnknown,
        False,
        True,
    ),
    ("malformed", CannedResponse(200, {}, b'{"status": "crea'), errors.UnexpectedResponse, False, True),
    ("html", CannedResponse(200, {}, b"<html>Wartung</html>"), errors.UnexpectedResponse, False, True),
    ("no status field", CannedResponse.json({"id": "s1"}), errors.UnexpectedResponse, False, True),
]


class TestFailureDrill:
    @pytest.mark.parametrize(
        ("case", "answer", "error_class", "permanent", "ambiguous"), DRILL, ids=[d[0] for d in DRILL]
    )
    def test_it_classifies_each_failure(self, server, case, answer, error_class, permanent, ambiguous):
        server.enqueue(answer)
        with (
            configure(example("46elks.config.json", server.url), HTTP_TIMEOUT_S=0.5),
            pytest.raises(errors.GatewayError) as caught,
        ):
            GenericHttpGateway().send(SMS)

        error = caught.value
        assert type(error) is error_class, f"{case}: {error!r}"
        assert (error.permanent, error.ambiguous) == (permanent, ambiguous)
        assert error.user_message == error_class.default_user_message
        assert NUMBER[1:] not in str(error) and "elks-pass" not in str(error)

    def test_it_passes_retry_after_on(self, server, elks):
        server.enqueue(CannedResponse(429, {"Retry-After": "30"}, b""))
        with pytest.raises(errors.RateLimited) as caught:
            elks.send(SMS)

        assert caught.value.retry_after_s == 30.0

    def test_it_reports_a_closed_port_as_unavailable(self):
        with (
            configure(example("46elks.config.json", f"http://127.0.0.1:{closed_port()}")),
            pytest.raises(errors.GatewayUnavailable) as caught,
        ):
            GenericHttpGateway().send(SMS)

        assert not caught.value.permanent and not caught.value.ambiguous

    @pytest.mark.parametrize("number", ["4915112345678", "+49 151 12345678", "Praxis"])
    def test_it_refuses_a_recipient_that_is_not_e164_before_sending(self, server, elks, number):
        with pytest.raises(errors.InvalidRecipient):
            elks.send(OutboundSms(reference="r-1", to_e164=number, text="Hallo"))

        assert server.requests == []

    def test_segments_are_our_own_count(self, server, elks):
        server.enqueue(fixture("46elks-sms-created.json"))

        result = elks.send(OutboundSms(reference="r", to_e164=NUMBER, text="x" * 200, segments=2))

        assert (result.segments, result.status) == (2, DeliveryStatus.ACCEPTED)
