"""Android's own outgoing-SMS limit, enforced here before a message is handed to the phone.

Android counts the SMS *parts* each app sends and, past the limit, shows a confirmation dialog on the
phone and holds the message until someone taps it: on an unattended practice phone that means the
reminder never goes out. AOSP ``SmsUsageMonitor`` (frameworks/opt/telephony, read through the code
index 2026-11-30): ``DEFAULT_SMS_CHECK_PERIOD = 60000`` ms, ``DEFAULT_SMS_MAX_COUNT = 30``, checked per
app; ``SMSDispatcher`` calls ``getUsageMonitor().check(appInfo.packageName, trackers.length)`` with one
tracker per part, so a 3-part reminder costs 3. Summary in shared/reference/sms-providers.md §4.8.

``PartBudget`` is a sliding 60-second window of parts spent by *this process*: ``take(parts)`` either
records the parts or raises ``RateLimited`` with ``retry_after_s`` = seconds until enough of the window
has expired, so the worker retries later instead of sending. It cannot see messages other processes
or other apps on the phone send; see README.md ("Rate limit").
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from alphasms.messaging.gateways.errors import RateLimited, RejectedByProvider

#: AOSP SmsUsageMonitor defaults: parts per app and the window they are counted in (seconds).
ANDROID_MAX_PARTS = 30
ANDROID_WINDOW_S = 60.0


@dataclass(frozen=True, eq=False)  # identity equality: two spends of equal size stay distinct
class Spend:
    """``parts`` SMS parts recorded at ``at`` (seconds on the budget's clock)."""

    at: float
    parts: int


class PartBudget:
    """A thread-safe sliding-window budget of SMS parts.

    ``limit_parts`` parts per ``window_s`` seconds; ``clock`` returns seconds (monotonic by default,
    injectable for tests). No I/O, no Django.
    """

    def __init__(
        self,
        limit_parts: int = ANDROID_MAX_PARTS,
        window_s: float = ANDROID_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit_parts = limit_parts
        self.window_s = window_s
        self._clock = clock
        self._spent: list[Spend] = []
        self._lock = threading.Lock()

    def take(self, parts: int) -> Spend:
        """Record ``parts`` (>= 1) now and return the record (for :meth:`refund`).

        Raises RateLimited (transient) with ``retry_after_s`` > 0 when the window has no room yet, and
        RejectedByProvider (permanent) when ``parts`` exceeds the whole budget, which Android would never
        send without a tap on the phone.
        """
        parts = max(parts, 1)
        if parts > self.limit_parts:
            raise RejectedByProvider(
                f"{parts} parts exceed Android's {self.limit_parts} parts per minute",
                user_message=f"Die SMS hat {parts} Teile; Android sendet höchstens {self.limit_parts} "
                "pro Minute ohne Rückfrage am Telefon. Bitte den Text kürzen.",
            )
        with self._lock:
            now = self._clock()
            self._spent = [s for s in self._spent if s.at > now - self.window_s]
            used = sum(s.parts for s in self._spent)
            if used + parts <= self.limit_parts:
                spend = Spend(now, parts)
                self._spent.append(spend)
                return spend
            wait_s = self._wait_s(now, used + parts - self.limit_parts)
        raise RateLimited(
            f"Android part budget: {used} of {self.limit_parts} parts used in the last {self.window_s:g} s",
            retry_after_s=wait_s,
            user_message=f"Android erlaubt einer App höchstens {self.limit_parts} SMS-Teile pro Minute; "
            f"diese SMS folgt in etwa {math.ceil(wait_s)} s.",
        )

    def refund(self, spend: Spend) -> None:
        """Forget ``spend`` (the phone certainly did not get the message). Unknown records are ignored."""
        with self._lock:
            self._spent = [s for s in self._spent if s is not spend]

    def _wait_s(self, now: float, excess: int) -> float:
        """Seconds until the oldest records covering ``excess`` parts have left the window."""
        freed = 0
        for spend in self._spent:  # oldest first
            freed += spend.parts
            if freed >= excess:
                return spend.at + self.window_s - now
        return self.window_s  # unreachable while parts <= limit_parts


#: The budget shared by every AndroidGateway instance in this process (one phone per installation).
BUDGET = PartBudget()
