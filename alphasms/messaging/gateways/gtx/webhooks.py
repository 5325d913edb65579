"""GTX delivery reports: a signed dlr-url per message, verified when GTX calls it back.

GTX does not sign its callbacks: it fetches (HTTP GET) the ``dlr-url`` given with the message and appends
its report as query parameters. So the URL carries the proof, as for Kannel and websms
(``base.signed_callback_query``): our attempt ``ref``, the Unix second ``ts`` it was issued and ``sig`` =
hex HMAC-SHA256(GTX_DLR_SECRET, "{ref}\\n{ts}"). A captured URL cannot report on another message, and it
stops working ``REPLAY_WINDOW_S`` after the send.

Report fields GTX appends (uzh/z-pool-tool, a production GTX integration, @ a63400d7:
``pool/web/handler/admin_settings_text_messages.ml`` ``delivery_report`` reads the query; its command schema
``CreateTextMessageDeliveryReport`` and test fixture; read 2026-11-30)::

    from=UAST&to=+41791234567&message-id=0f32bc8f-…&dlr-mask=1&error-code=0000&error-message=Success
    &submit-date=2024-06-24T10:27:56Z&done-date=2024-06-24T10:27:56Z&plmn=22801&country=ch&sms-cost=0.1

``dlr-mask`` is the report's DLR type. GTX's manual (as quoted in Thomas-Gelf/icingaweb2-module-sendsms
``GtxMessaging.php``) lists 1 delivered to phone, 2 non-delivered, 34 expired, 66 unknown: Kannel's
DLR_FAIL with the expired/unknown flags. Kannel's 4/8/16 are mapped too in case GTX passes them on
(assumed, shared/reference/sms-providers.md §4.7, §6.1).
"""

from __future__ import annotations

import logging
import urllib.parse
from datetime import UTC, datetime

from django.http import HttpRequest
from django.urls import reverse

from alphasms.conf import app_settings
from alphasms.messaging.gateways.base import (
    DeliveryStatus,
    DlrEvent,
    signed_callback_query,
    verify_signed_callback,
)
from alphasms.messaging.gateways.http import redact

log = logging.getLogger("alphasms.webhooks.gtx")

#: How long a dlr-url stays valid after the send, in seconds. Final reports come within the validity
#: period (typically 48-72 h at the carrier), so a week leaves room for late reports.
REPLAY_WINDOW_S = 7 * 24 * 3600
SECRET_SETTING = "GTX_DLR_SECRET"

#: GTX ``dlr-mask`` of a report -> ours (module docstring; buckets as sms-providers.md §6.1).
DLR_TYPES: dict[str, DeliveryStatus] = {
    "1": DeliveryStatus.DELIVERED,
    "2": DeliveryStatus.UNDELIVERED,
    "34": DeliveryStatus.EXPIRED,
    "66": DeliveryStatus.UNKNOWN,  # final at GTX, but says nothing: the message keeps its status
    "4": DeliveryStatus.QUEUED,  # Kannel: buffered at the SMSC (assumed for GTX)
    "8": DeliveryStatus.SENT,  # Kannel: SMSC ACK (assumed for GTX)
    "16": DeliveryStatus.REJECTED,  # Kannel: SMSC NACK (assumed for GTX)
}


def dlr_url(reference: str, issued_at: int | None = None) -> str:
    """``{PUBLIC_URL}/hooks/gtx/dlr/?ref=…&ts=…&sig=…`` for one message (``issued_at``: Unix s, default now).

    Raises GatewayMisconfigured without GTX_DLR_SECRET. No I/O.
    """
    query = signed_callback_query(SECRET_SETTING, reference, issued_at)
    hook = reverse("hooks:dlr", kwargs={"slug": "gtx"})
    return f"{app_settings.PUBLIC_URL.rstrip('/')}{hook}?{query}"


def callback_params(request: HttpRequest) -> dict[str, str]:
    """The callback's query as a dict (last value wins). GTX's way of appending to a URL that already has
    a query is undocumented: if it appended with "?", the first report field sits inside ``sig``
    ("…sig=ab12?from=X"), so it is split off again. The signature is checked on what remains."""
    params = {key: request.GET.get(key, "") for key in request.GET}
    signature, separator, appended = params.get("sig", "").partition("?")
    if separator:
        params["sig"] = signature
        for key, value in urllib.parse.parse_qsl(appended, keep_blank_values=True):
            params.setdefault(key, value)
    return params


def verify_webhook(request: HttpRequest) -> None:
    """Raise WebhookForged unless ``ref``/``ts``/``sig`` are ours and ``ts`` is fresh (at most
    REPLAY_WINDOW_S old, ``base.CALLBACK_CLOCK_SKEW_S`` ahead; ``base.verify_signed_callback``).
    Raises GatewayMisconfigured without GTX_DLR_SECRET (the view answers 500). No side effects."""
    verify_signed_callback(callback_params(request), SECRET_SETTING, REPLAY_WINDOW_S)


def parse_dlr(request: HttpRequest) -> list[DlrEvent]:
    """The report in a verified callback as one ``DlrEvent`` (``reference`` = the signed ``ref``).

    An unknown or missing ``dlr-mask`` maps to ``unknown`` with the raw value kept; ``error-code`` other
    than zeros becomes ``provider_error_code``; ``done-date`` the time. ``raw`` is the query without
    ``sig`` and with the recipient number shortened to its last 4 digits.
    """
    params = callback_params(request)
    kind = params.get("dlr-mask", "")
    error_code = params.get("error-code", "")
    raw = {key: (redact(value) if key == "to" else value) for key, value in params.items() if key != "sig"}
    return [
        DlrEvent(
            status=DLR_TYPES.get(kind, DeliveryStatus.UNKNOWN),
            reference=params.get("ref", ""),
            gateway_message_id=params.get("message-id", ""),
            provider_status=kind,
            provider_error_code=error_code if error_code.strip("0") else "",
            occurred_at=_instant(params.get("done-date", "")),
            raw=raw,
        )
    ]


def _instant(value: str) -> datetime | None:
    """ISO 8601 with zone ("2024-06-24T10:27:56Z") as aware UTC; None when absent, unreadable or naive."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None
