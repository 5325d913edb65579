"""Reminder texts from a fixed set of placeholders, rendered in the customer's language with Babel.

No template language: ``{name}`` placeholders only, from ``PLACEHOLDERS``; anything else in braces is an
error at save time (DESIGN.md invariant 8: staff cannot program templates). Dates use Babel's CLDR
patterns, e.g. German "Di., 1. Dez. 2026" and "14:30 Uhr". Framework-free: no Django imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_date, format_time

PLACEHOLDERS: dict[str, str] = {
    "salutation": "Anrede, z. B. „Guten Tag Frau Müller“",
    "given_name": "Vorname",
    "family_name": "Nachname",
    "date": "Datum, z. B. „Di., 1. Dez. 2026“",
    "weekday": "Wochentag, z. B. „Dienstag“",
    "time": "Uhrzeit, z. B. „14:30 Uhr“",
    "location": "Standort",
    "practice_name": "Name der Praxis",
    "practice_phone": "Telefon der Praxis",
    "confirm_hint": "Hinweis zum Bestätigen oder Absagen",
}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_CONFIRM_HINT = {
    "de": "Bitte antworten Sie JA zum Bestätigen oder NEIN zum Absagen.",
    "en": "Reply YES to confirm or NO to cancel.",
}
_GREETING = {"de": "Guten Tag", "en": "Hello"}


class TemplateError(ValueError):
    """A template names an unknown placeholder or has an unmatched brace."""


def validate_template(template: str) -> None:
    """Raise TemplateError naming each unknown placeholder and the allowed ones."""
    unknown = [name for name in _PLACEHOLDER.findall(template) if name not in PLACEHOLDERS]
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise TemplateError(
            f"Unbekannter Platzhalter {', '.join('{' + u + '}' for u in unknown)}; erlaubt sind: {allowed}"
        )
    stripped = _PLACEHOLDER.sub("", template)
    if "{" in stripped or "}" in stripped:
        raise TemplateError("Geschweifte Klammer ohne Gegenstück; Platzhalter haben die Form {date}.")


@dataclass(frozen=True)
class ReminderContext:
    """Values for one rendering; ``start_local`` is an aware datetime in the location's time zone, or
    None with ``all_day_date`` set for all-day entries. ``language`` is "de" or "en"."""

    given_name: str
    family_name: str
    location: str
    practice_name: str
    practice_phone: str
    language: str
    start_local: datetime | None
    all_day_date: object = None


def _locale(language: str) -> str:
    return "en" if language.lower().startswith("en") else "de"


def placeholder_values(ctx: ReminderContext) -> dict[str, str]:
    """Return the rendered value of every placeholder for ``ctx`` (Babel, CLDR data)."""
    locale = _locale(ctx.language)
    day = ctx.start_local.date() if ctx.start_local is not None else ctx.all_day_date
    date_pattern = "EEE, d. MMM y" if locale == "de" else "EEE, MMM d, y"
    date_text = format_date(day, date_pattern, locale=locale) if day is not None else ""  # type: ignore[arg-type]
    time_text = ""
    if ctx.start_local is not None:
        time_text = format_time(ctx.start_local, "HH:mm 'Uhr'" if locale == "de" else "h:mm a", locale=locale)
    name = " ".join(p for p in (ctx.given_name, ctx.family_name) if p)
    return {
        "salutation": f"{_GREETING[locale]} {name}".strip(),
        "given_name": ctx.given_name,
        "family_name": ctx.family_name,
        "date": date_text,
        "weekday": format_date(day, "EEEE", locale=locale) if day is not None else "",  # type: ignore[arg-type]
        "time": time_text,
        "location": ctx.location,
        "practice_name": ctx.practice_name,
        "practice_phone": ctx.practice_phone,
        "confirm_hint": _CONFIRM_HINT[locale],
    }


def render(template: str, ctx: ReminderContext) -> str:
    """Fill ``template``'s placeholders for ``ctx``. Raises TemplateError for unknown placeholders."""
    validate_template(template)
    values = placeholder_values(ctx)
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
