"""The gateway interface: the base class owns the pipeline, each gateway only maps (STYLE.md §2).

``Gateway.send`` runs build → HTTP call → classify or parse. A gateway subclass declares class
attributes and implements the mapping methods; it never opens sockets itself (``gateways.http`` does).
Value objects are frozen dataclasses. Sources: anymail ``backends/base.py``; SMPP v3.4 §5.2.28 message
states for the DLR vocabulary.
"""

from __future__ import annotations

import enum
import json
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
    GatewayUnavailable,
    OutcomeUnknown,
    RateLimited,
    RejectedByProvider,
    UnexpectedResponse,
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
    """A provider call without I/O: ``path`` is joined to the gateway's base URL."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] | None = None
    json_body: Any = None


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

    def start(self) -> None:
        """Called once when a worker starts; gateways with a long-lived session (SMPP) open it here so
        receipts and replies waiting at the provider arrive before the first send. Default: nothing."""

    # -- pipeline ---------------------------------------------------------------------------------
    def send(self, sms: OutboundSms) -> SendResult:
        """Send one SMS: build the request, call the provider, map the answer.

        Side effects: one HTTP request to the provider (money spent on success).
        """
        spec = self.build_send_request(sms)
        response = http.request(spec, base_url=self.base_url(), timeout_s=self.timeout_s())
        if not 200 <= response.status < 300:
            raise self.classify_error(response)
        return self.parse_send_response(response)

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
