"""Template tags of the staff web app: the navigation, status labels and money.

``{% load web %}`` then ``{% nav_items as items %}``, ``{{ status|status_label }}``,
``{{ micros|money:currency }}`` (a sum, rounded to cents) and ``{{ micros|price:currency }}`` (a price or
one message's cost, full precision). Amounts are micros, millionths of the currency (messaging/money.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext_lazy as _

from alphasms.messaging.money import format_price, format_total
from alphasms.web import dates, notes
from alphasms.web.roles import Area, can_view, role_of

register = template.Library()


@dataclass(frozen=True)
class NavItem:
    """One entry of the main navigation."""

    label: str
    url: str
    current: bool


# (URL names, label, area): the entry links to the first URL name that exists; entries none of whose
# names exist yet are left out.
NAV = [
    (("web:dashboard",), _("Dashboard"), Area.DASHBOARD),
    (("web:appointments",), _("Appointments"), Area.APPOINTMENTS),
    (("web:customers",), _("Customers"), Area.CUSTOMERS),
    (("web:messages",), _("Messages"), Area.MESSAGES),
    (("web:rules",), _("Rules"), Area.RULES),
    (("web:imports",), _("Imports"), Area.IMPORTS),
    (("web:tomorrow",), _("Tomorrow"), Area.TOMORROW),
    (("web:settings", "web:settings_gateways", "web:settings_licence"), _("Settings"), Area.SETTINGS),
]

# Labels of ``MessageStatus`` values (English msgids; the model's own labels are German msgids).
STATUS_LABELS = {
    "planned": _("planned"),
    "queued": _("queued"),
    "sending": _("sending"),
    "retry_wait": _("waiting to retry"),
    "unknown": _("outcome unknown"),
    "held": _("held for staff"),
    "sent": _("sent"),
    "delivered": _("delivered"),
    "undelivered": _("undeliverable"),
    "expired": _("expired"),
    "failed": _("failed"),
    "cancelled": _("cancelled"),
}
# Labels of ``AppointmentStatus`` values.
APPOINTMENT_STATUS_LABELS = {
    "scheduled": _("scheduled"),
    "cancelled": _("cancelled"),
    "completed": _("completed"),
    "no_show": _("no-show"),
}
# How a status looks: ok (green), wait (neutral), bad (red).
STATUS_TONE = {
    "delivered": "ok",
    "sent": "ok",
    "undelivered": "bad",
    "expired": "bad",
    "failed": "bad",
    "held": "bad",
    "unknown": "bad",
    "cancelled": "off",
}


@register.simple_tag(takes_context=True)
def nav_items(context: template.Context) -> list[NavItem]:
    """The navigation for the signed-in user: pages that exist and the user's role may see."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    role = role_of(request.user)
    items = []
    for names, label, area in NAV:
        url = _first_url(names) if can_view(role, area) else None
        if url is None:
            continue
        prefix = (
            url if url == "/" else "/" + url.strip("/").split("/")[0] + "/"
        )  # /settings/gateways/ → /settings/
        current = request.path == url if url == "/" else request.path.startswith(prefix)
        items.append(NavItem(str(label), url, current))
    return items


def _first_url(names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


@register.filter
def status_label(status: str) -> str:
    """The translated label of a message status value."""
    return str(STATUS_LABELS.get(status, status))


@register.filter
def appointment_status_label(status: str) -> str:
    """The translated label of an appointment status value."""
    return str(APPOINTMENT_STATUS_LABELS.get(status, status))


@register.filter
def status_tone(status: str) -> str:
    """CSS tone of a status: ok, bad, off or wait."""
    return STATUS_TONE.get(status, "wait")


@register.filter
def money(micros: int | None, currency: str) -> str:
    """A sum (a run's cost, a month's spend) of ``micros`` millionths of ``currency`` for the active
    language, rounded half up to the currency's minor unit (225000, "EUR" → "0,23 €")."""
    if micros is None:
        return ""
    return format_total(micros, currency, to_locale(get_language() or "de"))


@register.filter
def price(micros: int | None, currency: str) -> str:
    """A price per part, a budget or one message's cost with full precision for the active language
    (75000, "EUR" → "0,075 €"; 225000 → "0,225 €"; 80000 → "0,08 €")."""
    if micros is None:
        return ""
    return format_price(micros, currency, to_locale(get_language() or "de"))


@register.filter(expects_localtime=True)
def when(value: dt.date | dt.datetime | None, name: str) -> str:
    """A date or time as the active language writes it: ``{{ at|when:"weekday_date_time" }}`` →
    "Mo., 30. Nov. 2026, 10:05" / "Mon, Nov 30, 2026, 10:05" (format names: ``alphasms.web.dates``).
    Aware datetimes arrive in the current time zone, as with Django's ``date`` filter."""
    return dates.when(value, name)


@register.filter
def event_note(note: str) -> str:
    """The note of a message's status change in the active language (``alphasms.web.notes``)."""
    return notes.note_label(note)
