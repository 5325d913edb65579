"""websms delivery reports: a signed ``notificationCallbackUrl`` per message, verified when websms calls it.

websms does not sign its callbacks. So the URL we hand over with each message carries the proof: our
attempt ``ref``, the Unix second ``ts`` it was issued and ``sig`` = hex HMAC-SHA256(WEBSMS_DLR_SECRET,
"{ref}\\n{ts}").
A captured URL cannot report on another message, and it stops working ``REPLAY_WINDOW_S`` after the send.
The body's ``clientMessageId``, when present, must also equal the signed ``ref``.

Report (POST, JSON; API doc "Delivery Reports", https://developer.linkmobility.eu/sms-api/rest-api, and
AMANDA-Technology/WebSmsNet ``Models/WebSmsWebhookRequest.cs`` @ 5ddfb791, read 2026-11-30)::

    {"messageType": "deliveryReport", "notificationId": "050f9005180a2a212469",
     "transferId": "0051949fe700053c4615", "senderAddress": "4366012345678", "recipientAddress": "…",
     "deliveryReportMessageStatus": "delivered", "sentOn": "2013-05-27T13:36:00.000+02:00",
     "deliveredOn": "2013-05-27T13:36:00.000+02:00", "deliveredAs": "sms", "clientMessageId": "…"}

The same callback format carries inbound SMS (``messageType`` "text": ``senderAddress``,
``senderAddressType``, ``textMessageContent``); see ``parse_mo`` and the README on why MO stays off.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from alphasms.conf import app_settings
from alphasms.messaging.gateways.base import (
    CALLBACK_CLOCK_SKEW_S,
    DeliveryStatus,
    DlrEvent,
    MoEvent,
    callback_secret,
    sign_callback,
    signed_callback_query,
    verify_signed_callback,
)
from alphasms.messaging.gateways.errors import WebhookForged

log = logging.getLogger("alphasms.webhooks.websms")

#: How long a callback URL stays valid after the send, in seconds: final reports come within the
#: validity period (websms allows at most 259200 s = 3 days), so a week leaves room for late reports.
REPLAY_WINDOW_S = 7 * 24 * 3600
#: Tolerated clock difference for a ``ts`` in the future, in seconds.
CLOCK_SKEW_S = CALLBACK_CLOCK_SKEW_S
SECRET_SETTING = "WEBSMS_DLR_SECRET"

#: deliveryReportMessageStatus -> ours (values: WebSmsNet ``DeliveryReportMessageStatus.cs``; buckets:
#: shared/reference/sms-providers.md §6.1: "accepted" = taken by the carrier, "deleted" without our cancel
#: request = undelivered).
STATUS_MAP: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "expired": DeliveryStatus.EXPIRED,
    "deleted": DeliveryStatus.UNDELIVERED,
    "rejected": DeliveryStatus.REJECTED,
}


def dlr_secret() -> str:
    """WEBSMS_DLR_SECRET; GatewayMisconfigured naming ALPHASMS_WEBSMS_DLR_SECRET when unset."""
    return callback_secret(SECRET_SETTING)


def sign(reference: str, issued_at: int) -> str:
    """Hex HMAC-SHA256 of "{reference}\\n{issued_at}" with WEBSMS_DLR_SECRET (``base.sign_callback``)."""
    return sign_callback(SECRET_SETTING, reference, issued_at)


def callback_url(reference: str, issued_at: int | None = None) -> str:
    """``{PUBLIC_URL}/hooks/websms/dlr/?ref=…&ts=…&sig=…`` for one message (``issued_at``: Unix s, default
    now). Raises GatewayMisconfigured without WEBSMS_DLR_SECRET. No I/O."""
    query = signed_callback_query(SECRET_SETTING, reference, issued_at)
    hook = reverse("hooks:dlr", kwargs={"slug": "websms"})
    return f"{app_settings.PUBLIC_URL.rstrip('/')}{hook}?{query}"


def verify_webhook(request: HttpRequest) -> None:
    """Raise WebhookForged unless ``ref``/``ts``/``sig`` in the query are ours, ``ts`` is fresh (at most
    REPLAY_WINDOW_S old, CLOCK_SKEW_S ahead; ``base.verify_signed_callback``) and a ``clientMessageId`` in
    the body equals ``ref``. Raises GatewayMisconfigured without WEBSMS_DLR_SECRET (the view answers 500).
    No side effects."""
    reference = verify_signed_callback(request.GET, SECRET_SETTING, REPLAY_WINDOW_S, CLOCK_SKEW_S)
    client_id = _payload(request).get("clientMessageId")
    if client_id not in (None, "", reference):
        raise WebhookForged("clientMessageId in the body is not the signed reference")


def parse_dlr(request: HttpRequest) -> list[DlrEvent]:
    """A verified delivery report as one ``DlrEvent`` (``reference`` = the signed ``ref``). Other message
    types or a body that is not a JSON object give ``[]``; unknown statuses map to ``unknown``."""
    payload = _payload(request)
    if payload.get("messageType") != "deliveryReport":
        log.warning("websms callback without a delivery report ignored: %s", payload.get("messageType"))
        return []
    status = str(payload.get("deliveryReportMessageStatus") or "")
    return [
        DlrEvent(
            status=STATUS_MAP.get(status.lower(), DeliveryStatus.UNKNOWN),
            reference=request.GET.get("ref", ""),
            gateway_message_id=str(payload.get("transferId") or ""),
            provider_status=status,
            occurred_at=_instant(payload.get("deliveredOn") or payload.get("sentOn")),
            raw=payload,
        )
    ]


def parse_mo(request: HttpRequest) -> list[MoEvent]:
    """An inbound text SMS (``messageType`` "text") as one ``MoEvent``; ``from_e164`` is "+" and the
    ``senderAddress`` digits when ``senderAddressType`` is "international". Anything else gives ``[]``."""
    payload = _payload(request)
    sender = str(payload.get("senderAddress") or "")
    if payload.get("messageType") != "text":
        return []
    if payload.get("senderAddressType") != "international" or not sender.isdigit():
        log.warning("websms MO from a sender that is not an international number: ignored")
        return []
    return [
        MoEvent(
            from_e164="+" + sender,
            text=str(payload.get("textMessageContent") or ""),
            gateway_message_id=str(payload.get("notificationId") or ""),
            raw=payload,
        )
    ]


def _payload(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _instant(value: object) -> datetime | None:
    """ISO 8601 with offset ("2013-05-27T13:36:00.000+02:00") as aware UTC; None when absent or unreadable."""
    try:
        parsed = datetime.fromisoformat(str(value or ""))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None
