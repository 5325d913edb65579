"""Billing months in UTC. Framework-free."""

from __future__ import annotations

import datetime as dt
import re

MONTH_PATTERN = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """``"2026-11"`` → (2026-11-01T00:00Z, 2026-12-01T00:00Z): start inclusive, end exclusive, UTC.
    Raises ValueError unless ``month`` is YYYY-MM with a month 01–12 (and a year 0001–9998)."""
    match = MONTH_PATTERN.fullmatch(month)
    if not match or not 1 <= int(match.group(1)) <= 9998:
        raise ValueError("month must be YYYY-MM, e.g. 2026-11")
    year, number = int(match.group(1)), int(match.group(2))
    start = dt.datetime(year, number, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=dt.UTC)
    return start, end
