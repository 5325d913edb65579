"""The only HTTP client of the messaging code: timeouts, connection reuse, redaction, private-IP guard.

Built on urllib3 (kept-alive pooled connections; one PoolManager per process). Outcomes are split the
way the message lifecycle needs them (DESIGN.md): a request that certainly never left raises
``GatewayUnavailable``; one that may have reached the provider raises ``OutcomeUnknown``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from alphasms.messaging.gateways.errors import GatewayUnavailable, OutcomeUnknown

if TYPE_CHECKING:
    from alphasms.messaging.gateways.base import RequestSpec

_pool_lock = threading.Lock()
_pool: urllib3.PoolManager | None = None
_PHONE = re.compile(r"\+?\d[\d ]{6,}\d")
_SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "x-signature"}


@dataclass(frozen=True)
class HttpResponse:
    """A provider's answer: status, headers (lower-case names) and raw body bytes."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def excerpt(self, limit: int = 200) -> str:
        """The first ``limit`` characters of the body with digit runs that may be numbers redacted."""
        return redact(self.body[:limit].decode("utf-8", "replace"))

    def retry_after_s(self) -> float | None:
        """Retry-After in seconds (RFC 9110 §10.2.3: delta-seconds or an HTTP date), None if absent."""
        value = self.headers.get("retry-after", "").strip()
        if not value:
            return None
        if value.isdigit():
            return float(value)
        try:
            from django.utils import timezone

            return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
        except (TypeError, ValueError):
            return None


def redact(text: str) -> str:
    """Replace phone-number-like digit runs by ``…`` plus their last 4 digits (logs and errors)."""
    return _PHONE.sub(lambda m: "…" + re.sub(r"\D", "", m.group())[-4:], text)


def _pool_manager() -> urllib3.PoolManager:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = urllib3.PoolManager(num_pools=20, maxsize=10, retries=False)
        return _pool


def request(spec: RequestSpec, *, base_url: str, timeout_s: float) -> HttpResponse:
    """Perform ``spec`` against ``base_url``; return the answer whatever its status.

    ``timeout_s`` bounds connecting and reading, in seconds. Raises GatewayUnavailable when the request
    could not have left (refused, DNS, connect timeout), OutcomeUnknown when it may have (read timeout,
    connection reset after sending). No automatic retries: the worker schedules them.
    """
    url = base_url.rstrip("/") + "/" + spec.path.lstrip("/") if spec.path else base_url
    headers = dict(spec.headers)
    body: bytes | None = None
    if spec.form is not None:
        body = urllib.parse.urlencode(spec.form).encode("ascii")
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif spec.json_body is not None:
        body = json.dumps(spec.json_body, ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    timeout = urllib3.Timeout(connect=min(timeout_s, 10.0), read=timeout_s)
    try:
        raw = _pool_manager().request(
            spec.method, url, body=body, headers=headers, timeout=timeout, redirect=False, retries=False
        )
    except (NewConnectionError, ConnectTimeoutError, NameResolutionError) as exc:
        raise GatewayUnavailable(f"cannot connect to {_host(url)}: {type(exc).__name__}") from None
    except (ReadTimeoutError, ProtocolError) as exc:
        raise OutcomeUnknown(f"no answer from {_host(url)}: {type(exc).__name__}") from None
    except MaxRetryError as exc:  # urllib3 wraps connection errors even with retries=False
        if isinstance(exc.reason, (NewConnectionError, ConnectTimeoutError, NameResolutionError)):
            raise GatewayUnavailable(f"cannot connect to {_host(url)}") from None
        raise OutcomeUnknown(f"no answer from {_host(url)}") from None
    return HttpResponse(
        status=raw.status, headers={k.lower(): v for k, v in raw.headers.items()}, body=raw.data
    )


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc.rsplit("@", 1)[-1]


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers for logs: secret-bearing values masked."""
    return {k: ("***" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


class BlockedAddress(ValueError):
    """A staff-entered URL points at a loopback, private or link-local address (SSRF guard)."""


def check_public_url(url: str, allowed_hosts: list[str] | None = None) -> None:
    """Raise BlockedAddress if ``url``'s host resolves to a non-public address, unless allowed.

    Used for URLs staff enter (calendar subscriptions): DESIGN.md invariant 8. ``allowed_hosts`` are
    host names or IPs an admin allowed (setting ALPHASMS_ALLOWED_PRIVATE_HOSTS).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress(f"only http(s) URLs with a host are allowed: {parts.scheme}://…")
    host = parts.hostname
    if host in (allowed_hosts or []):
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise BlockedAddress(f"host {host} cannot be resolved") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise BlockedAddress(
                f"host {host} resolves to the non-public address {address}; "
                "an admin can allow it with ALPHASMS_ALLOWED_PRIVATE_HOSTS"
            )


def get(url: str, *, headers: Mapping[str, str], timeout_s: float) -> HttpResponse:
    """A plain GET of ``url`` (calendar subscriptions); errors as for ``request``."""
    from alphasms.messaging.gateways.base import RequestSpec

    return request(RequestSpec("GET", "", headers=headers), base_url=url, timeout_s=timeout_s)
