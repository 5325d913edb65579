"""Dates and times as the active language writes them (CLDR through Babel): "Montag, 30. November 2026"
in German, "Monday, November 30, 2026" in English. Times stay on the 24-hour clock in both languages, as
everywhere else in the web app.

Used by the ``when`` template filter (``{{ value|when:"weekday_date_time" }}``). Aware datetimes must
already be in the zone to show (the filter receives them converted by Django, like ``date``).
"""

from __future__ import annotations

import datetime as dt

from babel import Locale
from babel.dates import format_date, format_skeleton
from django.utils.translation import get_language, to_locale

#: Format name → (CLDR date skeleton or "full", CLDR time skeleton or ""). German / English examples
#: for Monday, 30 November 2026, 10:05:07.
FORMATS: dict[str, tuple[str, str]] = {
    "full_date": ("full", ""),  # Montag, 30. November 2026 / Monday, November 30, 2026
    "full_date_time": ("full", "Hm"),  # Montag, 30. November 2026, 10:05 / Monday, November 30, 2026, 10:05
    "long_date": ("yMMMMd", ""),  # 30. November 2026 / November 30, 2026
    "long_date_time": ("yMMMMd", "Hm"),
    "weekday_day_month": ("MMMEd", ""),  # Mo., 30. Nov. / Mon, Nov 30
    "weekday_day_month_time": ("MMMEd", "Hm"),  # Mo., 30. Nov., 10:05 / Mon, Nov 30, 10:05
    "weekday_date": ("yMMMEd", ""),  # Mo., 30. Nov. 2026 / Mon, Nov 30, 2026
    "weekday_date_time": ("yMMMEd", "Hm"),
    "day_month": ("MMMd", ""),  # 30. Nov. / Nov 30
    "day_month_time": ("MMMd", "Hm"),  # 30. Nov., 10:05 / Nov 30, 10:05
    "date": ("yMMMd", ""),  # 30. Nov. 2026 / Nov 30, 2026
    "date_time": ("yMMMd", "Hm"),  # 30. Nov. 2026, 10:05 / Nov 30, 2026, 10:05
    "date_time_seconds": ("yMMMd", "Hms"),  # 30. Nov. 2026, 10:05:07
    "numeric_date": ("yMMdd", ""),  # 30.11.2026 / 11/30/2026
    "numeric_date_time": ("yMMdd", "Hm"),  # 30.11.2026, 10:05 / 11/30/2026, 10:05
}


def locale_name(language: str | None = None) -> str:
    """The Babel locale of ``language`` (default: the active one; "de" when none is active)."""
    return to_locale(language or get_language() or "de")


def when(value: dt.date | dt.datetime | None, name: str, language: str | None = None) -> str:
    """``value`` written in format ``name`` (a key of :data:`FORMATS`) for ``language`` (default: the
    active one). A date with a time format shows the date only; None gives "". Raises KeyError for an
    unknown format name (a template bug, found by the tests)."""
    date_part, time_part = FORMATS[name]
    if value is None or value == "":
        return ""
    locale = locale_name(language)
    if date_part == "full":
        day = format_date(value, "full", locale=locale)
    else:
        day = format_skeleton(date_part, value, locale=locale)
    if not time_part or not isinstance(value, dt.datetime):
        return str(day)
    clock = format_skeleton(time_part, value, locale=locale)
    pattern = str(Locale.parse(locale).datetime_formats["medium"])
    return pattern.replace("{1}", str(day)).replace("{0}", str(clock))
