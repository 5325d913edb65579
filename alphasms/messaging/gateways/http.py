"""The only HTTP client of the messaging code: timeouts, connection reuse, redaction, private-IP guard.

Built on urllib3 (kept-alive pooled connections; one PoolManager per process). Outcomes are split the
way the message lifecycle needs them (DESIGN.md): a request that certainly never left raises
``GatewayUnavailable``; one that may have reached the provider raises ``OutcomeUnknown``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from alphasms.messaging.gateways.errors import GatewayError, GatewayUnavailable, OutcomeUnknown

if TYPE_CHECKING:
    from alphasms.messaging.gateways.base import RequestSpec

_pool_lock = threading.Lock()
_pool: urllib3.PoolManager | None = None
_PHONE = re.compile(r"\+?\d[\d ]{6,}\d")
_SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "x-signature"}
_in_flight = threading.local()  # ``secrets`` of the request this thread is making (RequestSpec.secrets)


class _MaskSecrets(logging.Filter):
    """Masks the in-flight request's secrets in urllib3's own log lines: its DEBUG request line carries
    the full path, where some providers (GTX) want the API key."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets: tuple[str, ...] = getattr(_in_flight, "secrets", ())
        if secrets:
            text = record.getMessage()
            for secret in secrets:
                text = text.replace(secret, "***")
            record.msg, record.args = text, ()
        return True


_MASK_SECRETS = _MaskSecrets()
for _name in ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.connection"):
    logging.getLogger(_name).addFilter(_MASK_SECRETS)


@dataclass(frozen=True)
class HttpResponse:
    """A provider's answer: status, headers (lower-case names) and raw body bytes."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def excerpt(self, limit: int = 200) -> str:
        """The first ``limit`` characters of the body with digit runs that may be numbers redacted."""
        return redact(self.body[:limit].decode("utf-8", "replace"))

    def masked(self, secrets: Sequence[str]) -> HttpResponse:
        """This answer with each non-empty value of ``secrets`` in the body replaced by "***" (a provider
        that echoes the URL path echoes an API key kept there), before anything reads or quotes it."""
        body = self.body
        for secret in (s for s in secrets if s):
            body = body.replace(secret.encode("utf-8"), b"***")
        return self if body == self.body else replace(self, body=body)

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
    _in_flight.secrets = tuple(secret for secret in spec.secrets if secret)
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
    finally:
        _in_flight.secrets = ()
    return HttpResponse(
        status=raw.status, headers={k.lower(): v for k, v in raw.headers.items()}, body=raw.data
    )


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc.rsplit("@", 1)[-1]


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers for logs: secret-bearing values masked."""
    return {k: ("***" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


class BlockedAddress(ValueError):
    """A staff-entered URL points at a loopback, private or link-local address (SSRF guard).

    ``str()`` is the English diagnostic; ``user_message`` the German sentence for staff.
    """

    def __init__(self, message: str, user_message: str = "") -> None:
        super().__init__(message)
        self.user_message = user_message or message


def url_for_log(url: str) -> str:
    """``url`` reduced to scheme, host and port for logs (``redact_url`` below keeps the path for
    messages to the user, who must see which URL failed): ``https://calendar.example:8443/…``.

    Calendar URLs carry their secret in the query (``?token=…``) or in the path (Google's
    ``…/private-<token>/basic.ics``, Nextcloud's ``/public-calendars/<token>``), so both are dropped;
    user info too. Anything that is not an http(s) URL (a file name) is returned unchanged.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return url
    return f"{parts.scheme}://{_host(url)}/…"


ELLIPSIS = "…"


def redact_url(url: str) -> str:
    """``url`` without userinfo, every query value replaced by "…" and a fragment shortened to "…".

    >>> redact_url("http://user:pw@host:8080/p?key=SECRET&x=&TOKEN#frag")
    'http://host:8080/p?key=…&x=…&…#…'

    Text that is no URL with a host comes back unchanged.
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return url.split("@", 1)[-1] if "://" not in url else url.split("://", 1)[0] + "://" + ELLIPSIS
    if not parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    # a pair without "=" ("?SECRET") may itself be the secret: only named values keep their name
    query = "&".join(
        f"{pair.partition('=')[0]}={ELLIPSIS}" if "=" in pair else ELLIPSIS
        for pair in parts.query.split("&")
        if pair
    )
    return urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path, query, ELLIPSIS if parts.fragment else "")
    )


def _public_addresses(url: str, allowed_hosts: Sequence[str] | None) -> list[str] | None:
    """The IP addresses ``url``'s host resolves to, after checking that each one is public.

    Returns None when the host itself is in ``allowed_hosts`` (an admin trusts it: not checked, not
    pinned). An address listed in ``allowed_hosts`` passes the check. Raises BlockedAddress.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress(
            f"only http(s) URLs with a host are allowed: {parts.scheme}://…",
            f"Nur http(s)-Adressen mit Host sind erlaubt (nicht {parts.scheme or '–'}://…).",
        )
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise BlockedAddress(f"invalid port in {url_for_log(url)}", "Ungültige Portnummer.") from exc
    allowed = {h.strip().strip("[]").lower() for h in allowed_hosts or ()}
    if host.lower() in allowed:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:  # gaierror, bad IDNA label
        raise BlockedAddress(
            f"host {host} cannot be resolved", f"Der Host {host} wurde nicht gefunden (DNS)."
        ) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for text in addresses:
        address = ipaddress.ip_address(text)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if not address.is_global and str(address) not in allowed and text not in allowed:
            raise BlockedAddress(
                f"host {host} resolves to the non-public address {address}; "
                "an admin can allow it with ALPHASMS_ALLOWED_PRIVATE_HOSTS",
                f"Der Host {host} zeigt auf die nicht-öffentliche Adresse {address}; ein Administrator "
                "kann sie mit ALPHASMS_ALLOWED_PRIVATE_HOSTS erlauben.",
            )
    return addresses


def check_public_url(url: str, allowed_hosts: Sequence[str] | None = None) -> None:
    """Raise BlockedAddress if ``url``'s host resolves to a non-public address, unless allowed.

    Used for URLs staff enter (calendar subscriptions): DESIGN.md invariant 8. ``allowed_hosts`` are
    host names or IPs an admin allowed (setting ALPHASMS_ALLOWED_PRIVATE_HOSTS). This only checks (for
    form validation); :func:`get` checks again and connects to exactly the addresses it checked.
    """
    _public_addresses(url, allowed_hosts)


#: Largest body :func:`get` accepts (decoded), in bytes: big practice calendars are a few MB.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
#: Wall-clock limit of one :func:`get` from connecting to the last byte, in seconds.
DOWNLOAD_DEADLINE_S = 60.0
_CHUNK_BYTES = 64 * 1024


class ResponseTooLarge(GatewayError):
    """The answer is larger than the download limit; reading stopped at the limit.

    ``detail`` and ``user_message`` are the German sentence for staff, ``user_message_en`` the English.
    """

    code = "response_too_large"
    permanent = True

    def __init__(self, de: str, en: str) -> None:
        super().__init__(de, user_message=de)
        self.user_message_en = en


class DownloadTooSlow(GatewayError, TimeoutError):
    """The answer did not arrive completely within the overall deadline (texts as ResponseTooLarge)."""

    code = "download_too_slow"

    def __init__(self, de: str, en: str) -> None:
        super().__init__(de, user_message=de)
        self.user_message_en = en


class _Watchdog:
    """Shuts the connection's socket down at the deadline, whatever urllib3 is blocked in (a server
    sending one byte every few seconds never trips a per-read timeout)."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                self._shutdown()

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed


def _pool_for(
    address: str, port: int, https: bool, host: str, watchdog: _Watchdog
) -> urllib3.HTTPConnectionPool:
    """A one-connection pool to ``address`` (an IP, or the host name when not pinned). For HTTPS the
    TLS server name (SNI) and the certificate check use ``host``, not the address."""
    base: type[urllib3.connection.HTTPConnection] = (
        urllib3.connection.HTTPSConnection if https else urllib3.connection.HTTPConnection
    )

    class WatchedConnection(base):  # type: ignore[valid-type,misc]
        def _new_conn(self) -> socket.socket:
            sock: socket.socket = super()._new_conn()
            watchdog.attach(sock)
            return sock

    pool: urllib3.HTTPConnectionPool
    if https:
        pool = urllib3.HTTPSConnectionPool(
            address, port, maxsize=1, retries=False, server_hostname=host, assert_hostname=host
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, maxsize=1, retries=False)
    pool.ConnectionCls = WatchedConnection
    return pool


def get(
    url: str,
    *,
    headers: Mapping[str, str],
    timeout_s: float,
    allowed_hosts: Sequence[str] | None,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    deadline_s: float = DOWNLOAD_DEADLINE_S,
) -> HttpResponse:
    """GET a staff-entered ``url`` (calendar subscriptions) with the private-address guard, bounded
    in size and time.

    The host is resolved once and every address is checked (BlockedAddress otherwise; ``allowed_hosts``
    as for :func:`check_public_url`); the connection then goes to a checked IP with the original host
    in the ``Host`` header and, for HTTPS, as TLS server name and certificate name. So a second DNS
    answer (DNS rebinding: public at check time, 127.0.0.1 at connect time) is never used.

    ``timeout_s`` bounds connecting and each read; ``deadline_s`` the whole request
    (DownloadTooSlow); the body, read in chunks, may not exceed ``max_bytes`` after decoding
    (ResponseTooLarge; a larger Content-Length is refused before reading). No redirects are followed:
    a 3xx comes back as it is. Connection problems raise GatewayUnavailable, a broken answer
    OutcomeUnknown.
    """
    deadline = time.monotonic() + deadline_s
    parts = urllib.parse.urlsplit(url)
    pinned = _public_addresses(url, allowed_hosts)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    send_headers = {**headers, "Host": _host(url)}
    failure: GatewayUnavailable | None = None
    for address in pinned or [host]:
        try:
            return _get_once(
                address, port, https, host, target, send_headers, timeout_s, deadline, deadline_s, max_bytes
            )
        except GatewayUnavailable as exc:  # this address refused: try the next checked one
            failure = exc
    assert failure is not None
    raise failure


def _get_once(
    address: str,
    port: int,
    https: bool,
    host: str,
    target: str,
    headers: Mapping[str, str],
    timeout_s: float,
    deadline: float,
    deadline_s: float,
    max_bytes: int,
) -> HttpResponse:
    """One GET to one address inside the overall deadline (see :func:`get`)."""
    limit_mb = f"{max_bytes / 1024 / 1024:g}"
    remaining = deadline - time.monotonic()
    too_slow = DownloadTooSlow(
        f"Kalender von {host} nicht innerhalb von {deadline_s:g} s vollständig geladen – Abruf abgebrochen",
        f"calendar from {host} not completely loaded within {deadline_s:g} s – download stopped",
    )
    if remaining <= 0:
        raise too_slow
    with _Watchdog(remaining) as watchdog:
        pool = _pool_for(address, port, https, host, watchdog)
        timeout = urllib3.Timeout(connect=min(timeout_s, 10.0, remaining), read=min(timeout_s, remaining))
        try:
            raw = pool.urlopen(
                "GET",
                target,
                headers=dict(headers),
                timeout=timeout,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            pool.close()
            if watchdog.expired:
                raise too_slow from None
            if isinstance(exc, (ReadTimeoutError, ProtocolError)):
                raise OutcomeUnknown(f"no answer from {host}: {type(exc).__name__}") from None
            raise GatewayUnavailable(f"cannot connect to {host}: {type(exc).__name__}") from None
        try:
            declared = raw.headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > max_bytes:
                raise ResponseTooLarge(
                    f"Kalender größer als {limit_mb} MB ({int(declared)} Bytes angekündigt) – "
                    "nicht abgerufen",
                    f"calendar larger than {limit_mb} MB ({int(declared)} bytes announced) – not downloaded",
                )
            body = bytearray()
            while chunk := raw.read(_CHUNK_BYTES):
                body += chunk
                if len(body) > max_bytes:
                    raise ResponseTooLarge(
                        f"Kalender größer als {limit_mb} MB – Abruf abgebrochen",
                        f"calendar larger than {limit_mb} MB – download stopped",
                    )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if watchdog.expired:
                raise too_slow from None
            if isinstance(exc, DecodeError):
                raise OutcomeUnknown(f"unreadable answer from {host}: {type(exc).__name__}") from None
            raise OutcomeUnknown(f"no answer from {host}: {type(exc).__name__}") from None
        finally:
            raw.close()
            pool.close()
    if watchdog.expired:  # the socket was shut down: what was read may be cut short
        raise too_slow
    return HttpResponse(
        status=raw.status, headers={k.lower(): v for k, v in raw.headers.items()}, body=bytes(body)
    )
