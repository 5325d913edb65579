"""seven.io webhooks: verify the signature, map delivery reports (event ``dlr``) to ``DlrEvent`` and
inbound SMS (event ``sms_mo``) to ``MoEvent``.

Signature (https://docs.seven.io/en/rest-api/signing and /en/rest-api/webhooks, read 2026-11-30; same
algorithm as seven-io/js-client ``src/lib/WebhookVerifier.ts``, commit 3a3a165d): every webhook carries
``X-Signature`` = hex HMAC-SHA256, keyed with the account's signing key, of
``"{X-Timestamp}\\n{X-Nonce}\\n{HTTP method}\\n{full target URL}\\n{hex MD5 of the raw body}"``. We also
refuse timestamps more than ``REPLAY_WINDOW_S`` away from our clock, as the js-client does by default.
Nonces are not remembered: a replay inside the window can only repeat a report, which is stored once
(DESIGN.md invariant 4), while rejecting seven.io's own retries would lose reports (4xx is final for them).

Payload (webhooks page, example "SMS status change (dlr)"; seven-io/js-client ``SmsStatusChangePayload``)::

    {"webhook_event": "dlr", "webhook_timestamp": "2021-08-24T08:08:00+02:00",
     "data": {"msg_id": "77149843739", "status": "TRANSMITTED", "timestamp": "2021-08-24 08:08:00.000000"}}

Register the hook with ``request_method=JSON``: only JSON bodies are documented, so form (POST) and GET
deliveries are logged and ignored. ``data.msg_id`` is the id ``POST /sms`` returned; ``data.foreign_id``
(our reference) is read when present: the spec says it returns "in callbacks", the documented DLR lacks it.

Inbound SMS, signed the same way (same page, "Incoming SMS (sms_mo)"; js-client ``InboundSmsPayload``):
``{"webhook_event": "sms_mo", "data": {"id", "sender", "system", "text", "time", "message_type"}}``.
``data.sender`` is who wrote (an MSISDN; the documented example shows a placeholder name), ``data.system``
our inbound number (as seven-io/SuiteCRM ``receiveSMS.php`` reads them), ``data.time`` Unix seconds.
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
from zoneinfo import ZoneInfo

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging.gateways.base import DeliveryStatus, DlrEvent, MoEvent
from alphasms.messaging.gateways.errors import GatewayMisconfigured, WebhookForged

log = logging.getLogger("alphasms.webhooks.sevenio")

REPLAY_WINDOW_S = 300
_MSISDN = re.compile(r"(?:\+|00)?([1-9]\d{1,14})")  # ITU-T E.164 digits, as seven.io sends senders
#: ``data.timestamp`` has no zone; the documented example pairs it with the same wall time at +02:00 in
#: August, i.e. German local time (inferred, unverified with seven.io).
PROVIDER_TZ = ZoneInfo("Europe/Berlin")

#: seven.io DLR status -> ours. Values: spec ``components.schemas.SmsStatus``; meanings:
#: https://docs.seven.io/en/rest-api/endpoints/sms (read 2026-11-30); buckets as in
#: shared/reference/sms-providers.md §6.1 (SMSC ACCEPTED -> queued, BUFFERED/TRANSMITTED -> sent).
STATUS_MAP: dict[str, DeliveryStatus] = {
    "ACCEPTED": DeliveryStatus.QUEUED,  # accepted by the carrier's SMSC, not yet sent on
    "BUFFERED": DeliveryStatus.SENT,  # held by the carrier while the handset is unreachable
    "TRANSMITTED": DeliveryStatus.SENT,  # passed to the carrier, no handset receipt yet
    "DELIVERED": DeliveryStatus.DELIVERED,
    "NOTDELIVERED": DeliveryStatus.UNDELIVERED,
    "EXPIRED": DeliveryStatus.EXPIRED,
    "REJECTED": DeliveryStatus.REJECTED,
    "FAILED": DeliveryStatus.FAILED,
    "UNKNOWN": DeliveryStatus.UNKNOWN,
}


def signing_secret() -> str:
    """The account's signing key (setting ALPHASMS_SEVENIO_SIGNING_SECRET); GatewayMisconfigured if empty."""
    secret = app_settings.gateway_setting("SEVENIO_SIGNING_SECRET")
    if not secret:
        raise GatewayMisconfigured(
            "ALPHASMS_SEVENIO_SIGNING_SECRET is not set: copy the signing key from the seven.io login "
            "(Developer > API settings); without it delivery reports cannot be verified"
        )
    return secret


def verify_webhook(request: HttpRequest) -> None:
    """Raise WebhookForged unless ``request`` carries a valid, fresh seven.io signature.

    The URL signed is ``request.build_absolute_uri()``: behind a TLS proxy Django must see the public
    scheme and host (SECURE_PROXY_SSL_HEADER, USE_X_FORWARDED_HOST), or every report fails verification.
    Raises GatewayMisconfigured without a signing key. No side effects.
    """
    secret = signing_secret()
    signature, timestamp, nonce = (
        request.headers.get(h, "") for h in ("X-Signature", "X-Timestamp", "X-Nonce")
    )
    if not (signature and timestamp and nonce):
        raise WebhookForged("missing X-Signature, X-Timestamp or X-Nonce header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookForged("X-Timestamp is not a Unix timestamp") from None
    if abs(time.time() - sent_at) > REPLAY_WINDOW_S:
        raise WebhookForged(f"X-Timestamp is more than {REPLAY_WINDOW_S} s from our clock")
    body_md5 = hashlib.md5(request.body, usedforsecurity=False).hexdigest()
    method = (request.method or "").upper()
    to_sign = f"{sent_at}\n{nonce}\n{method}\n{request.build_absolute_uri()}\n{body_md5}"
    expected = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise WebhookForged("X-Signature does not match")


def _event(request: HttpRequest, event: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(payload, its ``data`` object) when the body is JSON for webhook ``event``, else None."""
    try:
        payload: Any = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        log.warning("sevenio webhook body is not JSON; register the hook with request_method=JSON")
        return None
    if not isinstance(payload, dict) or payload.get("webhook_event") != event:
        return None
    data = payload.get("data")
    if not isinstance(data, dict):
        log.warning("sevenio %s webhook without a data object", event)
        return None
    return payload, data


def parse_dlr(request: HttpRequest) -> list[DlrEvent]:
    """The delivery report in a verified webhook, as a list of zero or one ``DlrEvent``.

    Other events (a hook registered for ``all``) and non-JSON bodies give ``[]``, so the view answers
    200 and seven.io does not retry. Unknown statuses map to ``unknown`` with ``provider_status`` kept.
    """
    if (found := _event(request, "dlr")) is None:
        return []
    payload, data = found
    status = str(data.get("status") or "")
    return [
        DlrEvent(
            status=STATUS_MAP.get(status.upper(), DeliveryStatus.UNKNOWN),
            reference=str(data.get("foreign_id") or ""),
            gateway_message_id=str(data.get("msg_id") or ""),
            provider_status=status,
            occurred_at=_occurred_at(data.get("timestamp") or data.get("status_time")),
            raw=payload,
        )
    ]


def parse_mo(request: HttpRequest) -> list[MoEvent]:
    """The inbound SMS in a verified webhook, as a list of zero or one ``MoEvent``.

    ``from_e164`` is ``data.sender`` as E.164 ("491771783130" -> "+491771783130"); ``received_at`` is
    ``data.time`` (Unix seconds), else ``webhook_timestamp`` (German local time), else None. Other
    events, non-JSON bodies and senders that are not numbers give ``[]`` (the view answers 200).
    """
    if (found := _event(request, "sms_mo")) is None:
        return []
    payload, data = found
    sender = _MSISDN.fullmatch(str(data.get("sender") or "").strip())
    if sender is None:
        log.warning("sevenio sms_mo from a sender that is not a phone number: ignored")
        return []
    return [
        MoEvent(
            from_e164="+" + sender.group(1),
            text=str(data.get("text") or ""),
            gateway_message_id=str(data.get("id") or ""),
            received_at=_occurred_at(data.get("time") or payload.get("webhook_timestamp")),
            raw=payload,
        )
    ]


def _occurred_at(value: object) -> datetime | None:
    """Status time as aware UTC: Unix seconds, or German local time "YYYY-MM-DD hh:mm:ss[.ffffff]"."""
    text = str(value or "").strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=UTC)
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (local if local.tzinfo else local.replace(tzinfo=PROVIDER_TZ)).astimezone(UTC)
