"""Which SMS gateway sends a message: rate and concurrency limits per gateway, a circuit breaker, and
failover to a secondary gateway while the primary is failing.

- Each gateway is paced at its rate (messages per second: the class's ``max_requests_per_second`` or
  ALPHASMS_<SLUG>_RATE_PER_S) and limited to ALPHASMS_GATEWAY_CONCURRENCY calls in flight.
- A breaker opens after ALPHASMS_BREAKER_THRESHOLD transient failures in a row (unreachable,
  rate-limited, no answer), stays open ALPHASMS_BREAKER_COOLDOWN_S seconds, then lets one probe through
  (half-open): its success closes the breaker, its failure opens it again.
- While the primary's breaker is open, messages go to ALPHASMS_SMS_GATEWAY_SECONDARY if one is set —
  never a message that already has an attempt with an unknown outcome: the first provider may have
  sent it, and a second provider would send it again.
State is per worker process (each process learns a provider's health on its own).
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from alphasms.conf import app_settings
from alphasms.messaging.gateways.base import Gateway
from alphasms.messaging.gateways.errors import GatewayError, GatewayUnavailable, OutcomeUnknown, RateLimited
from alphasms.messaging.gateways.registry import get_gateway
from alphasms.messaging.models import AttemptOutcome, DeliveryAttempt, OutboundMessage


class Pacer:
    """Spaces calls at most ``rate_per_s`` per second across threads (a provider's rate limit)."""

    def __init__(self, rate_per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock = clock

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval_s
        if slot > now:
            time.sleep(slot - now)

    def hold_off(self, seconds: float) -> None:
        """Push the next slot back, e.g. after a 429 with Retry-After."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


class BreakerState(enum.StrEnum):
    CLOSED = "closed"  # the gateway works; calls pass
    OPEN = "open"  # failing; calls go elsewhere or wait until the cooldown is over
    HALF_OPEN = "half_open"  # cooldown over; one probe call decides


@dataclass
class CircuitBreaker:
    """Counts transient failures in a row; ``threshold`` opens it for ``cooldown_s`` seconds."""

    threshold: int
    cooldown_s: float
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def state(self) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if self.clock() - self.opened_at >= self.cooldown_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a call may go to this gateway now (in half-open state: only one probe at a time)."""
        with self._lock:
            state = self.state
            if state == BreakerState.CLOSED:
                return True
            if state == BreakerState.HALF_OPEN and not self.probing:
                self.probing = True
                return True
            return False

    def record(self, error: GatewayError | None) -> None:
        """Record a call's outcome: None for success; only transient provider failures count."""
        with self._lock:
            self.probing = False
            if error is None:
                self.failures, self.opened_at = 0, None
            elif isinstance(error, (GatewayUnavailable, OutcomeUnknown, RateLimited)):
                self.failures += 1
                if self.failures >= self.threshold or self.opened_at is not None:
                    self.opened_at = self.clock()


@dataclass
class Route:
    """A gateway with its pacer, concurrency limit and breaker."""

    gateway: Gateway
    pacer: Pacer
    slots: threading.BoundedSemaphore
    breaker: CircuitBreaker


def _route(gateway: Gateway) -> Route:
    configured = app_settings.gateway_setting(f"{gateway.slug.upper()}_RATE_PER_S")
    rate = float(configured) if configured else gateway.max_requests_per_second
    concurrency = int(app_settings.gateway_setting("GATEWAY_CONCURRENCY") or 4)
    threshold = int(app_settings.gateway_setting("BREAKER_THRESHOLD") or 5)
    cooldown = float(app_settings.gateway_setting("BREAKER_COOLDOWN_S") or 60)
    return Route(
        gateway, Pacer(rate), threading.BoundedSemaphore(concurrency), CircuitBreaker(threshold, cooldown)
    )


class GatewayPool:
    """The routes of the primary and (optional) secondary SMS gateway of one worker process."""

    def __init__(self, primary: Gateway | None = None, secondary: Gateway | None = None) -> None:
        primary = primary or get_gateway(app_settings.SMS_GATEWAY)
        secondary_slug = app_settings.gateway_setting("SMS_GATEWAY_SECONDARY")
        if secondary is None and secondary_slug and secondary_slug != primary.slug:
            secondary = get_gateway(secondary_slug)
        self.routes = [_route(primary)] + ([_route(secondary)] if secondary else [])

    @property
    def primary(self) -> Route:
        return self.routes[0]

    def choose(self, message: OutboundMessage) -> Route | None:
        """The route for ``message``, or None when every allowed gateway's breaker is open (the message
        then waits). A message with an unknown-outcome attempt stays with that attempt's gateway."""
        unknown = (
            DeliveryAttempt.objects.filter(message=message, outcome=AttemptOutcome.UNKNOWN)
            .values_list("gateway", flat=True)
            .first()
        )
        candidates = [r for r in self.routes if r.gateway.slug == unknown] if unknown else self.routes
        for route in candidates or [self.primary]:
            if route.breaker.allow():
                return route
        return None
