"""The gateway interface: the base class owns the pipeline, each gateway only maps (STYLE.md §2).

``Gateway.send`` runs build → HTTP call → classify or parse. A gateway subclass declares class
attributes and implements the mapping methods; it never opens sockets itself (``gateways.http`` does).
Value objects are frozen dataclasses. Sources: anymail ``backends/base.py``; SMPP v3.4 §5.2.28 message
states for the DLR vocabulary.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging.gateways import http
from alphasms.messaging.gateways.errors import (
    AuthenticationFailed,
    GatewayError,
    GatewayMisconfigured,
    GatewayUnavailable,
    OutcomeUnknown,
    RateLimited,
    RejectedByProvider,
    UnexpectedResponse,
    WebhookForged,
)


class DeliveryStatus(enum.StrEnum):
    """Closed vocabulary of delivery states (anymail EventType; SMPP v3.4 message_state)."""

    ACCEPTED = "accepted"  # the provider took the message for sending
    QUEUED = "queued"  # waiting at the provider or carrier
    SENT = "sent"  # handed to the carrier/network, no handset confirmation yet
    DELIVERED = "delivered"  # the handset or mailbox confirmed receipt
    UNDELIVERED = "undelivered"  # the network gave up: number unreachable, absent, blocked
    EXPIRED = "expired"  # validity period ran out before delivery
    REJECTED = "rejected"  # refused by the provider or carrier before sending
    FAILED = "failed"  # failed for another reason
    UNKNOWN = "unknown"  # the provider does not know (yet)


@dataclass(frozen=True)
class OutboundSms:
    """An MT SMS for one attempt: ``to_e164`` "+49…", ``text``, optional ``sender_id``; ``reference``
    is our DeliveryAttempt id (UUID string), sent as the provider's client reference."""

    reference: str
    to_e164: str
    text: str
    sender_id: str = ""
    segments: int = 1


@dataclass(frozen=True)
class RequestSpec:
    """A provider call without I/O: ``path`` is joined to the gateway's base URL. ``secrets`` are values
    that sit outside the secret headers (an API key in the URL path): ``http.request`` masks them in
    urllib3's log lines and ``Gateway.send`` removes them from the errors it raises."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] | None = None
    json_body: Any = None
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendResult:
    """What the provider said on acceptance: its message id ("" if it has none), status, segments, and
    — for providers that give every part its own id and report (Vonage SMS API, SMPP) — the part ids
    in order (``part_ids``; then ``gateway_message_id`` is the first part's)."""

    gateway_message_id: str
    status: DeliveryStatus = DeliveryStatus.ACCEPTED
    segments: int = 1
    part_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DlrEvent:
    """One delivery report, normalised; ``reference`` is our attempt id when the provider echoes it,
    else ``gateway_message_id`` identifies the attempt. ``raw`` is the payload as received."""

    status: DeliveryStatus
    reference: str = ""
    gateway_message_id: str = ""
    provider_status: str = ""
    provider_error_code: str = ""
    occurred_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MoEvent:
    """One inbound SMS (MO): sender as E.164, text, provider id, payload as received."""

    from_e164: str
    text: str
    gateway_message_id: str = ""
    received_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewaySetting:
    """One setting a gateway reads through ``app_settings.gateway_setting``: ``name`` without the
    ``ALPHASMS_`` prefix; ``required`` to send at all; ``secret`` values are masked when shown and
    entered as passwords (Settings → Gateways; DESIGN.md invariant 8)."""

    name: str
    required: bool = False
    secret: bool = False


class Gateway:
    """Base class of SMS gateways. Subclasses set the class attributes and implement the mappers.

    Settings are read at call time through ``setting()`` (never in class bodies), so tests can override
    them. Errors: ``send`` raises a ``GatewayError`` subclass (permanent or transient, see errors.py) or
    ``GatewayMisconfigured``; it never returns a bool.
    """

    slug: ClassVar[str]
    display_name: ClassVar[str]
    channel: ClassVar[str] = "sms"
    docs_url: ClassVar[str] = ""
    supports_dlr: ClassVar[bool] = False
    supports_mo: ClassVar[bool] = False
    supports_alphanumeric_sender: ClassVar[bool] = True
    max_segments: ClassVar[int] = 10
    max_requests_per_second: ClassVar[float] = 10.0
    #: The settings the gateway reads (shown on Settings → Gateways; a gateway is configured when every
    #: ``required`` one has a value). Declared per gateway, beside its README's settings table.
    settings_spec: ClassVar[tuple[GatewaySetting, ...]] = ()

    def start(self) -> None:
        """Called once when a worker starts; gateways with a long-lived session (SMPP) open it here so
        receipts and replies waiting at the provider arrive before the first send. Default: nothing."""

    # -- pipeline ---------------------------------------------------------------------------------
    def send(self, sms: OutboundSms) -> SendResult:
        """Send one SMS: build the request, call the provider, map the answer.

        Side effects: one HTTP request to the provider (money spent on success). The request's
        ``secrets`` are masked in the answer before it is read and never appear in a raised error.
        """
        spec = self.build_send_request(sms)
        try:
            response = http.request(spec, base_url=self.base_url(), timeout_s=self.timeout_s())
            response = response.masked(spec.secrets)
            if not 200 <= response.status < 300:
                raise self.classify_error(response)
            return self.parse_send_response(response)
        except GatewayError as exc:
            exc.scrub(spec.secrets)
            raise

    def base_url(self) -> str:
        """The provider's API root (a setting, so tests point it at a local server)."""
        raise NotImplementedError

    def timeout_s(self) -> float:
        """Total time for one provider call, in seconds."""
        return app_settings.HTTP_TIMEOUT_S

    # -- mapping methods (override) ---------------------------------------------------------------
    def build_send_request(self, sms: OutboundSms) -> RequestSpec:
        raise NotImplementedError

    def parse_send_response(self, response: http.HttpResponse) -> SendResult:
        raise NotImplementedError

    def classify_error(self, response: http.HttpResponse) -> GatewayError:
        """Map a non-2xx answer to an error. The default follows HTTP semantics (RFC 9110 §15)."""
        return classify_http_status(response)

    def verify_webhook(self, request: HttpRequest) -> None:
        """Raise WebhookForged unless the request is authentic."""
        raise NotImplementedError

    def parse_dlr(self, request: HttpRequest) -> list[DlrEvent]:
        raise NotImplementedError

    def parse_mo(self, request: HttpRequest) -> list[MoEvent]:
        raise NotImplementedError

    def dlr_http_response(self) -> tuple[str, str]:
        """(content type, body) of our answer to a delivery-report webhook (some providers expect JSON)."""
        return "text/plain; charset=utf-8", "ok"

    def mo_http_response(self) -> tuple[str, str]:
        """(content type, body) of our answer to an inbound SMS webhook. Some providers read the answer
        as instructions (Twilio: TwiML), so a gateway can answer "send nothing back" its own way."""
        return "text/plain; charset=utf-8", "ok"


def classify_http_status(response: http.HttpResponse) -> GatewayError:
    """Default mapping of HTTP statuses: 401/403 credentials, 429 rate limit (Retry-After seconds),
    503 unavailable (not processed, RFC 9110 §15.6.4), other 5xx ambiguous, other 4xx rejected."""
    status, excerpt = response.status, response.excerpt()
    if status in (401, 403):
        return AuthenticationFailed(f"HTTP {status}", http_status=status, excerpt=excerpt)
    if status == 429:
        return RateLimited(
            "HTTP 429", retry_after_s=response.retry_after_s(), http_status=status, excerpt=excerpt
        )
    if status == 503:
        return GatewayUnavailable("HTTP 503", http_status=status, excerpt=excerpt)
    if status >= 500:
        return OutcomeUnknown(f"HTTP {status}", http_status=status, excerpt=excerpt)
    return RejectedByProvider(f"HTTP {status}", http_status=status, excerpt=excerpt)


def json_body(response: http.HttpResponse) -> Any:
    """Decode a JSON answer or raise UnexpectedResponse (a 2xx we cannot read is ambiguous)."""
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnexpectedResponse(
            "malformed JSON in answer", http_status=response.status, excerpt=response.excerpt()
        ) from exc


# -- signed callback URLs -------------------------------------------------------------------------
# For providers that sign nothing (Kannel, websms, GTX): the callback URL handed over with each message
# carries our attempt ``ref``, the Unix second ``ts`` it was issued and ``sig`` = hex HMAC-SHA256(secret,
# "{ref}\n{ts}"). A captured URL cannot report on another message and expires after the gateway's window.

#: Tolerated clock difference for a callback ``ts`` in the future, in seconds.
CALLBACK_CLOCK_SKEW_S = 300


def callback_secret(name: str) -> str:
    """The gateway setting ``name`` (e.g. ``KANNEL_DLR_SECRET``) that signs callback URLs.

    Raises GatewayMisconfigured naming ``ALPHASMS_<name>`` when it is unset.
    """
    secret = app_settings.gateway_setting(name)
    if not secret:
        raise GatewayMisconfigured(
            f"ALPHASMS_{name} is not set: set it (or ALPHASMS_{name}_FILE) to a long random string, "
            "e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return secret


def sign_callback(name: str, reference: str, issued_at: int) -> str:
    """Hex HMAC-SHA256 of "{reference}\\n{issued_at}" with the secret in setting ``name``."""
    message = f"{reference}\n{issued_at}".encode()
    return hmac.new(callback_secret(name).encode(), message, hashlib.sha256).hexdigest()


def signed_callback_query(name: str, reference: str, issued_at: int | None = None) -> str:
    """``ref=…&ts=…&sig=…`` (URL-encoded) for one message; ``issued_at`` in Unix seconds, default now.
    Raises GatewayMisconfigured without the secret. No I/O."""
    ts = int(time.time() if issued_at is None else issued_at)
    return urllib.parse.urlencode({"ref": reference, "ts": ts, "sig": sign_callback(name, reference, ts)})


def verify_signed_callback(
    params: Mapping[str, str], name: str, window_s: float, skew_s: float = CALLBACK_CLOCK_SKEW_S
) -> str:
    """Return the signed reference; raise WebhookForged unless ``ref``/``ts``/``sig`` in ``params`` are
    ours and ``ts`` is fresh (at most ``window_s`` seconds old, at most ``skew_s`` ahead).

    Raises GatewayMisconfigured without the secret (the view answers 500). No side effects.
    """
    reference, ts, signature = (params.get(k, "") for k in ("ref", "ts", "sig"))
    if not (reference and ts and signature):
        raise WebhookForged("missing ref, ts or sig in the callback URL")
    if not ts.isdigit():
        raise WebhookForged("ts is not a Unix timestamp")
    age_s = time.time() - int(ts)
    if age_s > window_s or age_s < -skew_s:
        raise WebhookForged(f"ts is outside the replay window ({window_s:g} s)")
    if not hmac.compare_digest(sign_callback(name, reference, int(ts)), signature.lower()):
        raise WebhookForged("sig does not match ref and ts")
    return reference
