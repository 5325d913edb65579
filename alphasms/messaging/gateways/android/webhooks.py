"""SMS Gateway for Android webhooks: verify the phone's HMAC signature, map events to DlrEvent/MoEvent.

Signature (https://docs.sms-gate.app/features/webhooks/ = docs-web ``docs/features/webhooks.md`` @ 057fb701,
"Payload Signing"; app ``modules/webhooks/plugins/PayloadSingingPlugin.kt`` @ 15b9753d, read 2026-11-30):
``X-Signature`` = hex HMAC-SHA256, keyed with the app's signing key (Settings → Webhooks → Signing Key),
of the raw body followed by the ``X-Timestamp`` header (Unix seconds). The app signs every try anew, so
we refuse timestamps more than ``REPLAY_WINDOW_S`` from our clock, the ±5 minutes the docs recommend.

Envelope (docs "Step 5"; spec ``WebHookEvent``)::

    {"id": "Ey6ECgOkVVFjz3CL48B8C", "webhookId": "…", "deviceId": "…", "event": "sms:received",
     "payload": {"messageId": "abc123", "message": "…", "phoneNumber": "6505551212", "simNumber": 1,
                 "receivedAt": "2024-06-22T15:46:11.000+07:00"}}

``sms:sent`` / ``sms:delivered`` / ``sms:failed`` carry ``messageId`` (the ``id`` we sent = our
reference), ``phoneNumber`` and ``sentAt`` / ``deliveredAt`` / ``failedAt`` + ``reason``. A received
SMS's ``messageId`` is derived from its content and not unique (docs), so MO events are identified by the
envelope ``id``: generated once per emitted event and kept by the app's retries (app
``WebHooksService.emit`` @ 719d7e70). Times are the phone's local time with offset.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging import phone
from alphasms.messaging.gateways.base import DeliveryStatus, DlrEvent, MoEvent
from alphasms.messaging.gateways.errors import GatewayMisconfigured, WebhookForged

log = logging.getLogger("alphasms.webhooks.android")

REPLAY_WINDOW_S = 300

#: Webhook event -> our status (spec ``smsgateway.WebhookEvent``; docs "Supported Events").
DLR_EVENTS: dict[str, DeliveryStatus] = {
    "sms:sent": DeliveryStatus.SENT,  # Android handed all parts to the network
    "sms:delivered": DeliveryStatus.DELIVERED,  # the handset's status report arrived
    "sms:failed": DeliveryStatus.FAILED,  # refined by FAILURE_REASONS below
}
#: ``sms:failed`` reason prefix -> our status. The texts are the app's (``MessagesService.kt`` @ a25eb3c1:
#: ``updateState(…, "TTL expired")``, ``"Send result: " + …``, ``"Delivery result…"``); shared/reference/
#: sms-providers.md §6.1 splits Failed into send errors (failed) and delivery errors (undelivered).
FAILURE_REASONS: tuple[tuple[str, DeliveryStatus], ...] = (
    ("TTL expired", DeliveryStatus.EXPIRED),  # validUntil/ttl passed before the phone sent it
    ("Delivery result", DeliveryStatus.UNDELIVERED),  # the SMSC reported permanent failure
    ("Send result", DeliveryStatus.FAILED),  # the radio refused: no service, limit exceeded, …
)
_TIME_FIELDS = ("sentAt", "deliveredAt", "failedAt")
#: "Send result: RESULT_ERROR_NO_SERVICE (Failed because …)" → the constant; "…from SC …: 64" → the TP-Status.
_ERROR_CODE = re.compile(r"\b[A-Z][A-Z0-9_]{3,}\b|\d+$")


def signing_key() -> str:
    """The app's webhook signing key (ALPHASMS_ANDROID_WEBHOOK_SIGNING_KEY); GatewayMisconfigured if empty."""
    key = app_settings.gateway_setting("ANDROID_WEBHOOK_SIGNING_KEY")
    if not key:
        raise GatewayMisconfigured(
            "ALPHASMS_ANDROID_WEBHOOK_SIGNING_KEY is not set: copy it from the app (Settings → Webhooks → "
            "Signing Key); without it delivery reports and replies cannot be verified"
        )
    return key


def verify_webhook(request: HttpRequest) -> None:
    """Raise WebhookForged unless ``request`` carries a valid, fresh X-Signature/X-Timestamp pair.

    Raises GatewayMisconfigured without a signing key. No side effects.
    """
    key = signing_key()
    signature = request.headers.get("X-Signature", "").strip().lower()
    timestamp = request.headers.get("X-Timestamp", "").strip()
    if not (signature and timestamp):
        raise WebhookForged("missing X-Signature or X-Timestamp header")
    if not timestamp.isdigit():
        raise WebhookForged("X-Timestamp is not a Unix timestamp")
    if abs(time.time() - int(timestamp)) > REPLAY_WINDOW_S:
        raise WebhookForged(f"X-Timestamp is more than {REPLAY_WINDOW_S} s from our clock")
    expected = hmac.new(key.encode(), request.body + timestamp.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise WebhookForged("X-Signature does not match")


def parse_dlr(request: HttpRequest) -> list[DlrEvent]:
    """Zero or one DlrEvent from a verified ``sms:sent|delivered|failed`` webhook; ``[]`` for other
    events or unreadable bodies (the view answers 200, so the phone stops retrying)."""
    envelope, payload = _read(request)
    event = str(envelope.get("event") or "")
    if event not in DLR_EVENTS:
        return []
    reason = str(payload.get("reason") or "")
    status = DLR_EVENTS[event]
    if event == "sms:failed":
        status = next((s for prefix, s in FAILURE_REASONS if reason.startswith(prefix)), status)
    message_id = str(payload.get("messageId") or "")
    return [
        DlrEvent(
            status=status,
            reference=message_id,
            gateway_message_id=message_id,
            provider_status=event,
            provider_error_code=_error_code(reason),
            occurred_at=_when(next((payload[f] for f in _TIME_FIELDS if payload.get(f)), None)),
            raw=envelope,
        )
    ]


def parse_mo(request: HttpRequest) -> list[MoEvent]:
    """Zero or one MoEvent from a verified ``sms:received`` webhook. ``gateway_message_id`` is the
    envelope ``id`` (unique per event, stable across the app's retries), never the content-derived
    ``payload.messageId``. The sender is normalised to E.164 (numbers without "+" read as German);
    a sender that is no phone number (an alphanumeric ID) cannot be a customer and is dropped."""
    envelope, payload = _read(request)
    if envelope.get("event") != "sms:received":
        return []
    sender = phone.to_e164(str(payload.get("phoneNumber") or ""), default_country="DE").e164
    if not sender:
        log.info("android sms:received from a sender that is no phone number: ignored")
        return []
    return [
        MoEvent(
            from_e164=sender,
            text=str(payload.get("message") or ""),
            gateway_message_id=str(envelope.get("id") or ""),
            received_at=_when(payload.get("receivedAt")),
            raw=envelope,
        )
    ]


def _read(request: HttpRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """(envelope, payload) of a JSON webhook body; empty dicts when it is not one."""
    try:
        envelope: Any = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        log.warning("android webhook body is not JSON")
        return {}, {}
    if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
        return {}, {}
    return envelope, envelope["payload"]


def _error_code(reason: str) -> str:
    """The SmsManager constant or TP-Status number in an ``sms:failed`` reason, else the reason (≤ 64)."""
    match = _ERROR_CODE.search(reason)
    return (match.group() if match else reason)[:64]


def _when(value: object) -> datetime | None:
    """An ISO 8601 time with offset as aware UTC; None when absent, unreadable or without offset."""
    try:
        moment = datetime.fromisoformat(str(value or ""))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None
