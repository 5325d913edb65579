"""Vonage SMS API webhooks: verify the ``sig`` parameter, map delivery receipts and inbound SMS.

Signature (https://developer.vonage.com/en/getting-started/concepts/signing-messages, read 2026-11-30;
same text in Nexmo/station ``_documentation/en/concepts/guides/signing-messages.md`` @ 3ba7e674): signed
webhooks (enabled by Vonage support) carry ``timestamp`` (Unix seconds), ``nonce`` and ``sig``. Remove
``sig``, sort the other parameters by key, replace each ``&`` and ``=`` inside values by ``_``, join as
``&key=value&key=value`` (leading ``&``) and take the hex HMAC keyed with the account's signature secret.
We accept **only HMAC-SHA256** ("SHA-256 HMAC" in the dashboard), never its default unkeyed "MD5 hash".
Hex case is ignored (Vonage/vonage-ruby-sdk ``lib/vonage/signature.rb`` @ 052f1fa6 writes upper case,
Vonage/vonage-python-sdk ``http_client/src/vonage_http_client/auth.py`` @ 8a22b14f compares lower case).
A ``timestamp`` more than ``REPLAY_WINDOW_S`` from our clock is refused.

Parameters come as GET query, POST form or POST JSON (an account setting), all strings: spec
``DeliveryReceipt`` (one per SMS part; ``messageId`` is the part's id, ``client-ref`` ours) and
``InboundMessage`` (``msisdn`` = sender, ``text``, ``concat*`` for parts of a long SMS); see README.md.
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
from alphasms.messaging.gateways.base import DeliveryStatus, DlrEvent, MoEvent
from alphasms.messaging.gateways.errors import GatewayMisconfigured, WebhookForged

log = logging.getLogger("alphasms.webhooks.vonage")

REPLAY_WINDOW_S = 300
#: Fields that change with every push of the same event; left out of ``raw`` so that Vonage's retries of
#: one report are stored once (the dedupe key hashes ``raw``: DESIGN.md invariant 4).
PER_DELIVERY_FIELDS = frozenset({"sig", "timestamp", "nonce"})

#: Vonage DLR ``status`` -> ours. Values and meanings: https://developer.vonage.com/en/messaging/sms/guides/
#: delivery-receipts (read 2026-11-30); buckets as shared/reference/sms-providers.md §6.1.
STATUS_MAP: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.SENT,  # accepted by the downstream carrier, not yet delivered
    "buffered": DeliveryStatus.SENT,  # held by the carrier for later delivery
    "delivered": DeliveryStatus.DELIVERED,
    "expired": DeliveryStatus.EXPIRED,  # the carrier's retries ran past the validity period
    "failed": DeliveryStatus.UNDELIVERED,  # not delivered; err-code says why (absent, barred, …)
    "rejected": DeliveryStatus.REJECTED,  # the downstream carrier refused it
    "unknown": DeliveryStatus.UNKNOWN,  # no useful information
}


def signature_secret() -> str:
    """The account's signature secret (ALPHASMS_VONAGE_SIGNATURE_SECRET); GatewayMisconfigured if empty."""
    secret = app_settings.gateway_setting("VONAGE_SIGNATURE_SECRET")
    if not secret:
        raise GatewayMisconfigured(
            "ALPHASMS_VONAGE_SIGNATURE_SECRET is not set: copy the signature secret from the Vonage "
            "dashboard (API settings, method SHA-256 HMAC); without it webhooks cannot be verified"
        )
    return secret


def params(request: HttpRequest) -> dict[str, str]:
    """The webhook's parameters as strings: JSON body, else POST form, else GET query (last value wins).

    Raises WebhookForged for a JSON body that is not an object. Non-string JSON values become their JSON text.
    """
    if request.content_type == "application/json":
        try:
            data: Any = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookForged("body is not JSON") from None
        if not isinstance(data, dict):
            raise WebhookForged("JSON body is not an object")
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    return (request.POST if request.method == "POST" else request.GET).dict()


def signature(values: dict[str, str], secret: str) -> str:
    """Lower-case hex HMAC-SHA256 of ``values`` (without ``sig``) by Vonage's rules (module docstring)."""
    text = "".join(f"&{k}={v.replace('&', '_').replace('=', '_')}" for k, v in sorted(values.items()))
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_webhook(request: HttpRequest) -> None:
    """Raise WebhookForged unless ``request`` carries a valid, fresh HMAC-SHA256 ``sig``.

    Raises GatewayMisconfigured without a signature secret. No side effects.
    """
    secret = signature_secret()
    values = params(request)
    sig = values.pop("sig", "").strip().lower()
    if not sig:
        raise WebhookForged("missing sig parameter (ask Vonage support to sign webhooks)")
    if len(sig) != 64:
        raise WebhookForged("sig is not a SHA-256 HMAC: set the dashboard's signature method to SHA-256 HMAC")
    try:
        signed_at = int(values.get("timestamp", ""))
    except ValueError:
        raise WebhookForged("missing or non-numeric timestamp parameter") from None
    if abs(time.time() - signed_at) > REPLAY_WINDOW_S:
        raise WebhookForged(f"timestamp is more than {REPLAY_WINDOW_S} s from our clock")
    if not hmac.compare_digest(signature(values, secret), sig):
        raise WebhookForged("sig does not match")


def parse_dlr(request: HttpRequest) -> list[DlrEvent]:
    """The delivery receipt of one SMS part in a verified webhook, as a list of zero or one ``DlrEvent``.

    ``gateway_message_id`` is the part's ``messageId`` (the core finds the part and combines the parts),
    ``reference`` our ``client-ref``. Unknown statuses map to ``unknown`` with ``provider_status`` kept.
    A request without ``messageId`` and ``status`` (an inbound SMS sent to the wrong URL) gives ``[]``.
    """
    values = params(request)
    if not (values.get("messageId") and values.get("status")):
        log.warning("vonage dlr webhook without messageId/status (an inbound SMS at the DLR URL?)")
        return []
    status = values["status"]
    return [
        DlrEvent(
            status=STATUS_MAP.get(status.lower(), DeliveryStatus.UNKNOWN),
            reference=values.get("client-ref", ""),
            gateway_message_id=values["messageId"],
            provider_status=status,
            provider_error_code=values.get("err-code", ""),
            occurred_at=_utc(values.get("message-timestamp", "")),
            raw=_raw(values),
        )
    ]


def parse_mo(request: HttpRequest) -> list[MoEvent]:
    """The inbound SMS in a verified webhook, as zero or one ``MoEvent``; sender ``msisdn`` becomes E.164.

    Each part of a long SMS arrives on its own (``concat-ref``/``-part``/``-total`` stay in ``raw``); a binary
    message or one without a usable sender gives ``[]``.
    """
    values = params(request)
    sender = values.get("msisdn", "")
    if not re.fullmatch(r"[1-9]\d{1,14}", sender) or values.get("type") == "binary" or "text" not in values:
        log.warning("vonage mo webhook without a usable sender or text (type=%s)", values.get("type", ""))
        return []
    return [
        MoEvent(
            from_e164="+" + sender,
            text=values["text"],
            gateway_message_id=values.get("messageId", ""),
            received_at=_utc(values.get("message-timestamp", "")),
            raw=_raw(values),
        )
    ]


def _raw(values: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if k not in PER_DELIVERY_FIELDS}


def _utc(value: str) -> datetime | None:
    """``message-timestamp`` "YYYY-MM-DD hh:mm:ss" as aware UTC. UTC is inferred from the documented DLR
    example (pushed 12:10:29 with ``scts`` 1310 in UK summer time); ``scts`` itself is carrier local time."""
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
