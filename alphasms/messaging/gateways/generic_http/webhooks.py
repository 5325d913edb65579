"""Delivery reports of a generically configured provider: a signed callback URL, then the ``dlr`` mapping.

Small providers rarely sign their callbacks, but most take a callback URL per message. So ``{dlr_url}`` is
our hook with three query fields of our own: ``alphasms_ref`` (the attempt id), ``alphasms_ts`` (Unix
seconds when it was issued) and ``alphasms_sig`` = hex HMAC-SHA256(GENERIC_HTTP_DLR_SECRET,
"{ref}\\n{ts}"). A callback is accepted only with a valid signature and a ``ts`` no older than the
mapping's ``replay_window_s`` (default 7 days: final reports arrive within the carriers' validity period)
and at most CLOCK_SKEW_S in the future. A URL for one message therefore cannot report on another, and
stops working after the window. The provider keeps the URL, so it (or whoever reads it) can report any
status for that one message inside the window: that is the limit of an unsigned callback. Providers with
only an account-wide callback URL cannot be verified this way and are not supported for DLRs.

The report itself is read where ``dlr.source`` says (query string, form body or JSON body): the status at
``dlr.status``, mapped by ``dlr.status_map`` (exact value, then case-insensitive; else ``unknown``),
and optionally the provider's message id (``dlr.id``) and error code (``dlr.error_code``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from alphasms.conf import app_settings
from alphasms.messaging.gateways.base import DeliveryStatus, DlrEvent
from alphasms.messaging.gateways.errors import GatewayMisconfigured, WebhookForged
from alphasms.messaging.gateways.generic_http import config

log = logging.getLogger("alphasms.webhooks.generic_http")

CLOCK_SKEW_S = 300
_OURS = ("alphasms_ref", "alphasms_ts", "alphasms_sig")


def dlr_secret() -> str:
    """GENERIC_HTTP_DLR_SECRET; GatewayMisconfigured naming ALPHASMS_GENERIC_HTTP_DLR_SECRET when unset."""
    secret = app_settings.gateway_setting("GENERIC_HTTP_DLR_SECRET")
    if not secret:
        raise GatewayMisconfigured(
            "ALPHASMS_GENERIC_HTTP_DLR_SECRET is not set: the configuration has a dlr mapping; set it (or "
            "…_FILE) to a long random string, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return secret


def sign(reference: str, issued_at: int) -> str:
    """Hex HMAC-SHA256 of "{reference}\\n{issued_at}" with GENERIC_HTTP_DLR_SECRET."""
    return hmac.new(dlr_secret().encode(), f"{reference}\n{issued_at}".encode(), hashlib.sha256).hexdigest()


def dlr_url(reference: str, issued_at: int | None = None) -> str:
    """``{PUBLIC_URL}/hooks/generic_http/dlr/?alphasms_ref=…&alphasms_ts=…&alphasms_sig=…`` (no I/O)."""
    ts = int(time.time() if issued_at is None else issued_at)
    query = urllib.parse.urlencode(dict(zip(_OURS, (reference, ts, sign(reference, ts)), strict=True)))
    path = reverse("hooks:dlr", kwargs={"slug": "generic_http"})
    return f"{app_settings.PUBLIC_URL.rstrip('/')}{path}?{query}"


def verify_webhook(request: HttpRequest) -> None:
    """Raise WebhookForged unless the query's ref/ts/sig are ours and fresh (see module docstring).

    Also refuses every callback when the configuration has no ``dlr`` mapping. Raises
    GatewayMisconfigured for an invalid configuration or without the secret (the view answers 500).
    """
    mapping = config.load().dlr
    if mapping is None:
        raise WebhookForged("GENERIC_HTTP_CONFIG has no dlr mapping: no callbacks are expected")
    reference, ts, signature = (request.GET.get(name, "") for name in _OURS)
    if not (reference and ts and signature):
        raise WebhookForged("missing alphasms_ref, alphasms_ts or alphasms_sig")
    if not ts.isdigit():
        raise WebhookForged("alphasms_ts is not a Unix timestamp")
    age_s = time.time() - int(ts)
    if age_s > mapping.replay_window_s or age_s < -CLOCK_SKEW_S:
        raise WebhookForged(f"alphasms_ts is outside the replay window ({mapping.replay_window_s} s)")
    if not hmac.compare_digest(sign(reference, int(ts)), signature.lower()):
        raise WebhookForged("alphasms_sig does not match")


def parse_dlr(request: HttpRequest) -> list[DlrEvent]:
    """The report in a verified callback as one ``DlrEvent`` with ``reference`` from the signed URL.

    A body that cannot be read or has no status at ``dlr.status`` gives ``[]`` (logged; the view answers
    200 so the provider stops retrying). ``raw`` is the payload without our three fields.
    """
    mapping = config.load().dlr
    assert mapping is not None  # verify_webhook refused the callback otherwise
    payload = _payload(request, mapping.source)
    if payload is None:
        log.warning("generic_http callback: the %s payload cannot be read", mapping.source)
        return []
    status = _field(payload, mapping.status, mapping.source)
    if status is None:
        log.warning("generic_http callback without a status at %r", mapping.status)
        return []
    folded = {key.casefold(): value for key, value in mapping.status_map.items()}
    mapped = mapping.status_map.get(status) or folded.get(status.casefold(), DeliveryStatus.UNKNOWN)
    return [
        DlrEvent(
            status=mapped,
            reference=request.GET.get("alphasms_ref", ""),
            gateway_message_id=_field(payload, mapping.id, mapping.source) or "",
            provider_status=status,
            provider_error_code=_field(payload, mapping.error_code, mapping.source) or "",
            raw=payload if isinstance(payload, dict) else {"payload": payload},
        )
    ]


def _payload(request: HttpRequest, source: str) -> Any:
    if source == "query":
        return {key: request.GET.get(key, "") for key in request.GET if key not in _OURS}
    if source == "form":
        return {key: request.POST.get(key, "") for key in request.POST}
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None


def _field(payload: Any, path: str | None, source: str) -> str | None:
    """The text at ``path``: a dotted JSON path for JSON bodies, a field name for query and form."""
    if path is None:
        return None
    value = config.lookup(payload, tuple(path.split("."))) if source == "json" else payload.get(path)
    return None if value is None or isinstance(value, (dict, list)) else str(value)
