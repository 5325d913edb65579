"""E-mail through ESP APIs (django-anymail) against a real local HTTP peer, and their tracking webhooks.

Sending: Mailgun, Postmark and Brevo talk to ``FakeHttpServer`` (their ``*_API_URL`` setting points at it);
SES talks to it too, through botocore's ``endpoint_url``. Webhooks: documented sample payloads
(``fixtures/email_providers``) posted through Django's test client with CSRF checks on.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import secrets
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from alphasms.appointments.services.planning import plan
from alphasms.messaging.email import OutboundEmail
from alphasms.messaging.email_providers import EmailProviderMisconfigured, send_via_provider
from alphasms.messaging.gateways.errors import (
    AuthenticationFailed,
    GatewayUnavailable,
    InvalidRecipient,
    OutcomeUnknown,
    RateLimited,
    RejectedByProvider,
    UnexpectedResponse,
)
from alphasms.messaging.models import (
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryReport,
    MessageStatus,
    OutboundMessage,
)
from alphasms.messaging.services.lifecycle import set_status
from alphasms.testing.fake_http import CannedResponse
from tests.conftest import make_appointment, make_customer, make_rule

FIXTURES = Path(__file__).parent / "fixtures" / "email_providers"
ICS = b"BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nEND:VCALENDAR\r\n"
ICS_B64 = base64.b64encode(ICS).decode()
MAIL = OutboundEmail(
    reference="0b6f3c1e-8a4d-4e0b-9d6f-2f1c3a5b7d90",
    from_name="Praxis Sonnenhof",
    from_address="termine@praxis.example",
    to_name="Jörg Bäcker",
    to_address="joerg@example.org",
    subject="Ihr Termin am 01.12.",
    text="Hallo Jörg, Termin morgen um 10:00.",
    language="de",
    ics=ICS,
)
WEBHOOK_USER, WEBHOOK_PASSWORD = "esp", "s3cret-hook"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["payload"]


@pytest.fixture
def esp(alphasms_settings, fake_http):
    """Credentials for every ESP, each API URL pointing at the fake server."""
    alphasms_settings.update(
        {
            "MAILGUN_API_KEY": "key-test",
            "MAILGUN_SENDER_DOMAIN": "mg.praxis.example",
            "MAILGUN_API_URL": f"{fake_http.url}/v3",
            "POSTMARK_SERVER_TOKEN": "server-token",
            "POSTMARK_API_URL": fake_http.url,
            "BREVO_API_KEY": "xkeysib-test",
            "BREVO_API_URL": f"{fake_http.url}/v3",
            "HTTP_TIMEOUT_S": 0.5,
        }
    )
    return alphasms_settings


def use(settings: dict[str, Any], provider: str) -> None:
    settings["EMAIL_PROVIDER"] = provider


def multipart_fields(request) -> dict[str, Any]:
    raw = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode() + request.body
    fields: dict[str, Any] = {}
    for part in email.message_from_bytes(raw, policy=email.policy.HTTP).iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
    return fields


# -- exact requests ------------------------------------------------------------------------------


def test_mailgun_gets_only_sender_recipient_subject_text_and_ics_with_tracking_off(esp, fake_http):
    use(esp, "mailgun")
    fake_http.enqueue(CannedResponse.json({"id": "<20261130.1@mg.praxis.example>", "message": "Queued"}))
    assert send_via_provider(MAIL) == "<20261130.1@mg.praxis.example>"
    request = fake_http.requests[0]
    assert (request.method, request.path) == ("POST", "/v3/mg.praxis.example/messages")
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"api:key-test").decode()
    fields = multipart_fields(request)
    assert fields == {
        "from": (None, "text/plain", b"Praxis Sonnenhof <termine@praxis.example>"),
        "to": (None, "text/plain", "Jörg Bäcker <joerg@example.org>".encode()),
        "subject": (None, "text/plain", b"Ihr Termin am 01.12."),
        "text": (None, "text/plain", "Hallo Jörg, Termin morgen um 10:00.".encode()),
        "o:tracking-clicks": (None, "text/plain", b"no"),
        "o:tracking-opens": (None, "text/plain", b"no"),
        "attachment": ("termin.ics", "text/calendar", ICS),
    }


def test_postmark_gets_only_the_listed_fields_with_tracking_off(esp, fake_http):
    use(esp, "postmark")
    fake_http.enqueue(
        CannedResponse.json(
            {
                "To": "joerg@example.org",
                "SubmittedAt": "2026-11-30T10:00:00Z",
                "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
                "ErrorCode": 0,
                "Message": "OK",
            }
        )
    )
    assert send_via_provider(MAIL) == "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"
    request = fake_http.requests[0]
    assert (request.method, request.path) == ("POST", "/email")
    assert request.headers["x-postmark-server-token"] == "server-token"
    assert request.json() == {
        "From": "Praxis Sonnenhof <termine@praxis.example>",
        "To": "Jörg Bäcker <joerg@example.org>",
        "Subject": "Ihr Termin am 01.12.",
        "TextBody": "Hallo Jörg, Termin morgen um 10:00.",
        "Attachments": [
            {"Name": "termin.ics", "Content": ICS_B64, "ContentType": 'text/calendar; charset="utf-8"'}
        ],
        "TrackLinks": "None",
        "TrackOpens": False,
    }


def test_brevo_gets_only_the_listed_fields(esp, fake_http):
    use(esp, "brevo")
    fake_http.enqueue(CannedResponse.json({"messageId": "<202611301000.12345@smtp-relay.mailin.fr>"}, 201))
    assert send_via_provider(MAIL) == "<202611301000.12345@smtp-relay.mailin.fr>"
    request = fake_http.requests[0]
    assert (request.method, request.path) == ("POST", "/v3/smtp/email")
    assert request.headers["api-key"] == "xkeysib-test"
    assert request.json() == {
        "sender": {"email": "termine@praxis.example", "name": "Praxis Sonnenhof"},
        "to": [{"email": "joerg@example.org", "name": "Jörg Bäcker"}],
        "subject": "Ihr Termin am 01.12.",
        "textContent": "Hallo Jörg, Termin morgen um 10:00.",
        "attachment": [{"name": "termin.ics", "content": ICS_B64}],
    }


def test_amazon_ses_gets_our_raw_mime_through_botocore(esp, fake_http):
    import boto3  # noqa: F401 - installed with the test extras (django-anymail[amazon-ses])

    use(esp, "amazon_ses")
    esp.update(
        {
            "AMAZON_SES_REGION": "eu-central-1",
            "AMAZON_SES_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AMAZON_SES_SECRET_ACCESS_KEY": "secret",
            "AMAZON_SES_ENDPOINT_URL": fake_http.url,
        }
    )
    fake_http.enqueue(CannedResponse.json({"MessageId": "0107019a-ses-example-000000"}))
    assert send_via_provider(MAIL) == "0107019a-ses-example-000000"
    request = fake_http.requests[0]
    assert (request.method, request.path) == ("POST", "/v2/email/outbound-emails")
    assert "AKIDEXAMPLE/" in request.headers["authorization"]  # SigV4 signed
    body = request.json()
    assert set(body) == {"Content", "Destination"}  # no configuration set, tags or feedback address
    assert body["Destination"] == {"ToAddresses": ["joerg@example.org"]}
    sent = email.message_from_bytes(
        base64.b64decode(body["Content"]["Raw"]["Data"]), policy=email.policy.SMTP
    )
    assert sorted(set(sent.keys())) == [
        "Auto-Submitted", "Content-Language", "Content-Type", "Date", "From", "MIME-Version",
        "Message-ID", "Subject", "To",
    ]  # fmt: skip
    assert sent["Message-ID"] == f"<{MAIL.reference}@praxis.example>"


def test_amazon_ses_rejection_is_permanent(esp, fake_http):
    import boto3  # noqa: F401 - installed with the test extras (django-anymail[amazon-ses])

    use(esp, "amazon_ses")
    esp.update(
        {
            "AMAZON_SES_REGION": "eu-central-1",
            "AMAZON_SES_ACCESS_KEY_ID": "AKID",
            "AMAZON_SES_SECRET_ACCESS_KEY": "x",
        }
    )
    esp["AMAZON_SES_ENDPOINT_URL"] = fake_http.url
    fake_http.enqueue(
        CannedResponse.json(
            {"message": "Email address is not verified: joerg@example.org"},
            400,
            {"x-amzn-ErrorType": "MessageRejected"},
        )
    )
    with pytest.raises(RejectedByProvider) as caught:
        send_via_provider(MAIL)
    assert "joerg@" not in str(caught.value)  # addresses echoed by the ESP are masked


# -- failure drill over real sockets ------------------------------------------------------------

ERROR_BODIES = {
    "mailgun": {"message": "'to' parameter is not a valid address. please check documentation"},
    "postmark": {"ErrorCode": 300, "Message": "Invalid email request"},
    "brevo": {"code": "invalid_parameter", "message": "email is not valid in to"},
}


@pytest.mark.parametrize("provider", ["mailgun", "postmark", "brevo"])
@pytest.mark.parametrize(
    ("status", "headers", "error", "permanent", "ambiguous"),
    [
        (400, {}, RejectedByProvider, True, False),
        (401, {}, AuthenticationFailed, True, False),
        (429, {"Retry-After": "30"}, RateLimited, False, False),
        (500, {}, OutcomeUnknown, False, True),
        (503, {}, GatewayUnavailable, False, False),
    ],
)
def test_it_maps_http_errors(esp, fake_http, provider, status, headers, error, permanent, ambiguous):
    use(esp, provider)
    fake_http.enqueue(CannedResponse.json(ERROR_BODIES[provider], status, headers))
    with pytest.raises(error) as caught:
        send_via_provider(MAIL)
    assert (caught.value.permanent, caught.value.ambiguous, caught.value.http_status) == (
        permanent,
        ambiguous,
        status,
    )
    assert caught.value.user_message
    if status == 429:
        assert caught.value.retry_after_s == 30.0


@pytest.mark.parametrize("provider", ["mailgun", "postmark", "brevo"])
def test_a_timeout_after_sending_is_ambiguous(esp, fake_http, provider):
    use(esp, provider)
    fake_http.enqueue(CannedResponse.json({}, delay_s=2.0))
    with pytest.raises(OutcomeUnknown) as caught:
        send_via_provider(MAIL)
    assert caught.value.ambiguous
    assert caught.value.user_message.startswith("Der E-Mail-Anbieter")


@pytest.mark.parametrize("provider", ["mailgun", "postmark", "brevo"])
def test_a_refused_connection_is_transient_and_not_ambiguous(esp, provider):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    use(esp, provider)
    esp.update({f"{provider.upper()}_API_URL": f"http://127.0.0.1:{closed_port}/v3"})
    with pytest.raises(GatewayUnavailable) as caught:
        send_via_provider(MAIL)
    assert not caught.value.permanent and not caught.value.ambiguous


@pytest.mark.parametrize("provider", ["mailgun", "postmark", "brevo"])
def test_malformed_json_on_success_is_ambiguous(esp, fake_http, provider):
    use(esp, provider)
    fake_http.enqueue(CannedResponse(200, {"Content-Type": "application/json"}, b"{not json"))
    with pytest.raises(UnexpectedResponse) as caught:
        send_via_provider(MAIL)
    assert caught.value.ambiguous


def test_postmark_inactive_recipient_is_a_permanent_invalid_recipient(esp, fake_http):
    use(esp, "postmark")
    fake_http.enqueue(
        CannedResponse.json(
            {
                "ErrorCode": 406,
                "Message": "You tried to send to a recipient that has been marked as inactive.\n "
                "Found inactive addresses: joerg@example.org.\n Inactive recipients are ones that "
                "have generated a hard bounce or a spam complaint. ",
            },
            422,
        )
    )
    with pytest.raises(InvalidRecipient) as caught:
        send_via_provider(MAIL)
    assert caught.value.permanent


def test_a_missing_credential_names_the_setting(esp):
    use(esp, "mailgun")
    esp["MAILGUN_API_KEY"] = ""
    with pytest.raises(EmailProviderMisconfigured, match="ALPHASMS_MAILGUN_API_KEY"):
        send_via_provider(MAIL)


def test_an_unknown_provider_is_misconfiguration(esp):
    use(esp, "sendgrid")
    with pytest.raises(EmailProviderMisconfigured, match="ALPHASMS_EMAIL_PROVIDER"):
        send_via_provider(MAIL)


# -- tracking webhooks ---------------------------------------------------------------------------


@pytest.fixture
def hooks(alphasms_settings, location):
    alphasms_settings["EMAIL_WEBHOOK_SECRET"] = f"{WEBHOOK_USER}:{WEBHOOK_PASSWORD}"
    alphasms_settings["MAILGUN_WEBHOOK_SIGNING_KEY"] = secrets.token_hex(16)
    make_rule(channel="email")
    make_appointment(location, make_customer(), dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    plan()
    message = OutboundMessage.objects.get()
    set_status(message, MessageStatus.SENT)
    return alphasms_settings, message


def sent_attempt(message: OutboundMessage, gateway: str, gateway_message_id: str) -> DeliveryAttempt:
    return DeliveryAttempt.objects.create(
        message=message,
        gateway=gateway,
        started_at=dt.datetime.now(dt.UTC),
        outcome=AttemptOutcome.SENT,
        gateway_message_id=gateway_message_id,
    )


def basic(user: str = WEBHOOK_USER, password: str = WEBHOOK_PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def post(esp_slug: str, payload: Any, headers: dict[str, str], client: Client | None = None):
    return (client or Client(enforce_csrf_checks=True)).post(
        f"/hooks/email/{esp_slug}/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        headers=headers,
    )


def mailgun_signed(payload: dict[str, Any], key: str, timestamp: float | None = None) -> dict[str, Any]:
    token = secrets.token_hex(25)
    stamp = str(int(time.time() if timestamp is None else timestamp))
    signature = hmac.new(key.encode(), f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {**payload, "signature": {"timestamp": stamp, "token": token, "signature": signature}}


def status_of(message: OutboundMessage) -> str:
    message.refresh_from_db()
    return message.status


@pytest.mark.django_db
def test_a_signed_mailgun_delivered_event_marks_the_message_delivered(hooks):
    settings, message = hooks
    sent_attempt(message, "mailgun", "<20260203192638.000be97f99f8cea1@sample.mailgun.com>")
    payload = mailgun_signed(fixture("mailgun-delivered.json"), settings["MAILGUN_WEBHOOK_SIGNING_KEY"])
    assert post("mailgun", payload, basic()).status_code == 200
    assert status_of(message) == MessageStatus.DELIVERED
    report = DeliveryReport.objects.get()
    assert (report.status, report.provider_status, report.provider_error_code) == (
        "delivered",
        "delivered",
        "OK",
    )
    assert report.raw["event-data"]["event"] == "delivered"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "forge",
    ["bad signature", "stale timestamp", "wrong basic auth"],
)
def test_a_forged_mailgun_event_changes_nothing(hooks, forge):
    settings, message = hooks
    sent_attempt(message, "mailgun", "<20260203192638.000be97f99f8cea1@sample.mailgun.com>")
    key = settings["MAILGUN_WEBHOOK_SIGNING_KEY"]
    headers = basic()
    if forge == "bad signature":
        payload = mailgun_signed(fixture("mailgun-delivered.json"), secrets.token_hex(16))
    elif forge == "stale timestamp":
        payload = mailgun_signed(fixture("mailgun-delivered.json"), key, time.time() - 3600)
    else:
        payload = mailgun_signed(fixture("mailgun-delivered.json"), key)
        headers = basic(password="guess")
    assert post("mailgun", payload, headers).status_code == 400
    assert status_of(message) == MessageStatus.SENT
    assert not DeliveryReport.objects.exists()


@pytest.mark.django_db
def test_a_postmark_delivery_then_a_late_bounce_never_moves_back(hooks):
    _, message = hooks
    sent_attempt(message, "postmark", "00000000-0000-0000-0000-000000000000")
    assert post("postmark", fixture("postmark-delivery.json"), basic()).status_code == 200
    assert status_of(message) == MessageStatus.DELIVERED
    assert post("postmark", fixture("postmark-bounce.json"), basic()).status_code == 200
    assert status_of(message) == MessageStatus.DELIVERED  # final already: forward only
    assert list(DeliveryReport.objects.order_by("id").values_list("status", flat=True)) == [
        "delivered",
        "undelivered",
    ]


@pytest.mark.django_db
def test_a_postmark_bounce_marks_the_message_undelivered(hooks):
    _, message = hooks
    sent_attempt(message, "postmark", "00000000-0000-0000-0000-000000000000")
    assert post("postmark", fixture("postmark-bounce.json"), basic()).status_code == 200
    assert status_of(message) == MessageStatus.UNDELIVERED


@pytest.mark.django_db
def test_a_postmark_event_with_wrong_basic_auth_changes_nothing(hooks):
    _, message = hooks
    sent_attempt(message, "postmark", "00000000-0000-0000-0000-000000000000")
    assert post("postmark", fixture("postmark-delivery.json"), basic(password="nope")).status_code == 400
    assert post("postmark", fixture("postmark-delivery.json"), {}).status_code == 400
    assert status_of(message) == MessageStatus.SENT
    assert not DeliveryReport.objects.exists()


@pytest.mark.django_db
def test_a_brevo_delivered_event_marks_delivered_and_an_open_is_ignored(hooks):
    _, message = hooks
    sent_attempt(message, "brevo", "<201798300811.5787683@relay.domain.com>")
    assert post("brevo", fixture("brevo-opened.json"), basic()).status_code == 200
    assert not DeliveryReport.objects.exists()  # engagement is not a delivery status
    assert post("brevo", fixture("brevo-delivered.json"), basic()).status_code == 200
    assert status_of(message) == MessageStatus.DELIVERED
    assert DeliveryReport.objects.get().occurred_at == dt.datetime(2026, 11, 30, 10, 0, 0, 223000, dt.UTC)


@pytest.mark.django_db
def test_a_brevo_event_with_wrong_basic_auth_changes_nothing(hooks):
    _, message = hooks
    sent_attempt(message, "brevo", "<201798300811.5787683@relay.domain.com>")
    assert post("brevo", fixture("brevo-delivered.json"), basic(user="brevo")).status_code == 400
    assert status_of(message) == MessageStatus.SENT


@pytest.mark.django_db
def test_an_event_for_another_providers_attempt_changes_nothing(hooks):
    _, message = hooks
    sent_attempt(message, "mailgun", "00000000-0000-0000-0000-000000000000")
    assert post("postmark", fixture("postmark-delivery.json"), basic()).status_code == 200
    assert status_of(message) == MessageStatus.SENT


@pytest.mark.django_db
def test_without_a_webhook_secret_the_hook_refuses_with_500_so_the_esp_retries(hooks):
    settings, message = hooks
    settings["EMAIL_WEBHOOK_SECRET"] = ""
    sent_attempt(message, "postmark", "00000000-0000-0000-0000-000000000000")
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    assert post("postmark", fixture("postmark-delivery.json"), {}, client).status_code == 500
    assert status_of(message) == MessageStatus.SENT


def test_head_probes_are_answered(alphasms_settings):
    alphasms_settings["EMAIL_WEBHOOK_SECRET"] = "a:b"
    assert Client().head("/hooks/email/brevo/tracking/").status_code == 200


# -- through the worker ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_worker_records_the_provider_slug_and_the_esp_message_id(esp, fake_http, location):
    import time_machine

    from alphasms.messaging.services.dispatch import Dispatcher

    use(esp, "postmark")
    start = dt.datetime(2026, 12, 4, 13, 30, tzinfo=dt.UTC)
    make_rule(channel="email")
    make_appointment(location, make_customer(), start)
    plan(start - dt.timedelta(days=2))
    fake_http.enqueue(
        CannedResponse.json(
            {
                "To": "joerg@example.org",
                "SubmittedAt": "2026-12-03T13:30:00Z",
                "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
                "ErrorCode": 0,
                "Message": "OK",
            }
        )
    )
    with time_machine.travel(start - dt.timedelta(days=1), tick=False):
        Dispatcher("w1").run_once()
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.gateway, attempt.gateway_message_id) == (
        "postmark",
        "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
    )
    assert OutboundMessage.objects.get().status == MessageStatus.SENT
    assert fake_http.requests[0].json()["To"] == "Jörg Bäcker <joerg@example.org>"
