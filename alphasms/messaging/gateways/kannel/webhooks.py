"""Kannel delivery reports: a signed dlr-url per message, verified when Kannel calls it back.

Kannel does not sign its callbacks: the smsbox simply fetches (HTTP GET) the ``dlr-url`` given with the
message after replacing its escape codes. So the URL itself carries the proof: our attempt ``ref``, the
Unix second ``ts`` it was issued, and ``sig`` = hex HMAC-SHA256(KANNEL_DLR_SECRET, "{ref}\\n{ts}"). A
captured URL cannot be turned into one for another message, and it stops working ``REPLAY_WINDOW_S``
after it was issued. Within that window, whoever reads the URL (Kannel's dlr storage and logs) can report
any status *for that one message*: keep Kannel and the path to us private (README "Security").

Escape codes Kannel fills in (userguide 1.4.5, "Parameters (Escape Codes)", table 6-9; read 2026-11-30:
https://www.kannel.org/download/1.4.5/userguide-1.4.5/userguide.html ; gw/urltrans.c ``get_pattern``):
``%d`` DLR type, ``%i`` smsc-id, ``%T`` Unix time of the report, ``%A`` the SMSC's reply text,
``%F`` the SMSC's (foreign) message id; ``%%`` is a literal "%". Any other "%" plus an escape letter in
our own part of the URL would be replaced too, so every "%" we write is doubled.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from django.http import HttpRequest
from django.urls import reverse

from alphasms.conf import app_settings
from alphasms.messaging.gateways.base import (
    CALLBACK_CLOCK_SKEW_S,
    DeliveryStatus,
    DlrEvent,
    callback_secret,
    sign_callback,
    signed_callback_query,
    verify_signed_callback,
)

log = logging.getLogger("alphasms.webhooks.kannel")

#: How long a dlr-url stays valid after the send, in seconds. Final reports come when the handset is
#: reached, up to the SMSC's validity period (typically 48-72 h), so the window is a week.
REPLAY_WINDOW_S = 7 * 24 * 3600
#: Tolerated clock difference for a ``ts`` in the future, in seconds.
CLOCK_SKEW_S = CALLBACK_CLOCK_SKEW_S
SECRET_SETTING = "KANNEL_DLR_SECRET"

#: Kannel DLR type (``%d``, a single bit of dlr-mask) -> ours. Kannel userguide 1.4.5, sendsms
#: ``dlr-mask``: "1: Delivered to phone, 2: Non-Delivered to Phone, 4: Queued on SMSC, 8: Delivered to
#: SMSC, 16: Non-Delivered to SMSC"; buckets as shared/reference/sms-providers.md §6.1.
DLR_TYPES: dict[str, DeliveryStatus] = {
    "1": DeliveryStatus.DELIVERED,
    "2": DeliveryStatus.UNDELIVERED,
    "4": DeliveryStatus.QUEUED,  # buffered: the SMSC holds it (handset absent) or Kannel requeued it
    "8": DeliveryStatus.SENT,  # SMSC ACK: the carrier took it, no handset receipt yet
    "16": DeliveryStatus.REJECTED,  # SMSC NACK: the carrier refused it
}
_CALLBACK_FIELDS = {"type": "%d", "smsc": "%i", "at": "%T", "reply": "%A", "fid": "%F"}
_SMPP_ERR = re.compile(r"\berr:(\w+)")  # SMPP receipt text "id:… stat:UNDELIV err:001 …" in %A


def dlr_secret() -> str:
    """KANNEL_DLR_SECRET; GatewayMisconfigured naming ALPHASMS_KANNEL_DLR_SECRET when unset."""
    return callback_secret(SECRET_SETTING)


def sign(reference: str, issued_at: int) -> str:
    """Hex HMAC-SHA256 of "{reference}\\n{issued_at}" with KANNEL_DLR_SECRET (``base.sign_callback``)."""
    return sign_callback(SECRET_SETTING, reference, issued_at)


def dlr_url(reference: str, issued_at: int | None = None) -> str:
    """The dlr-url for one message: our public hook with ``ref``, ``ts``, ``sig`` and Kannel's escape codes.

    ``issued_at`` is Unix seconds (default now). "%" in our part is doubled so Kannel leaves it alone.
    Raises GatewayMisconfigured without KANNEL_DLR_SECRET. No I/O.
    """
    ours = signed_callback_query(SECRET_SETTING, reference, issued_at)
    base = app_settings.PUBLIC_URL.rstrip("/") + reverse("hooks:dlr", kwargs={"slug": "kannel"})
    escapes = "&".join(f"{name}={code}" for name, code in _CALLBACK_FIELDS.items())
    return f"{base}?{ours}".replace("%", "%%") + "&" + escapes


def verify_webhook(request: HttpRequest) -> None:
    """Raise WebhookForged unless ``ref``/``ts``/``sig`` in the query are ours and ``ts`` is fresh.

    Fresh: issued at most REPLAY_WINDOW_S ago and at most CLOCK_SKEW_S in the future
    (``base.verify_signed_callback``). Raises GatewayMisconfigured without KANNEL_DLR_SECRET (the view
    answers 500, Kannel may retry). No side effects.
    """
    verify_signed_callback(request.GET, SECRET_SETTING, REPLAY_WINDOW_S, CLOCK_SKEW_S)


def parse_dlr(request: HttpRequest) -> list[DlrEvent]:
    """The report in a verified callback as one ``DlrEvent`` (``reference`` = our attempt id).

    ``type`` is Kannel's ``%d``; an unknown or missing type maps to ``unknown`` with the raw value kept.
    ``provider_error_code`` is the ``err:`` of an SMPP receipt in ``%A``, if any. ``raw`` is the query
    without ``sig``. Empty ``%F``/``%T`` (the SMSC ACK has no foreign id) stay empty.
    """
    params = {key: request.GET.get(key, "") for key in request.GET if key != "sig"}
    kind = params.get("type", "")
    error = _SMPP_ERR.search(params.get("reply", ""))
    at = params.get("at", "")
    return [
        DlrEvent(
            status=DLR_TYPES.get(kind, DeliveryStatus.UNKNOWN),
            reference=params.get("ref", ""),
            gateway_message_id=params.get("fid", ""),
            provider_status=kind,
            provider_error_code=error.group(1) if error else "",
            occurred_at=datetime.fromtimestamp(int(at), tz=UTC) if at.isdigit() else None,
            raw=params,
        )
    ]
