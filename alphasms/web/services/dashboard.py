"""What the dashboard shows, read with a fixed number of set-based queries (none per row).

* today's and tomorrow's appointments, "today" in each location's time zone (invariant 5), each with the
  status of its reminders per channel (``OutboundMessage``; one message per rule and channel);
* the to-do list: messages that failed, were undeliverable, expired, are held for staff or whose outcome
  is unknown — for appointments that have not long passed — and customers with an upcoming appointment
  whose mobile number cannot take an SMS (``Customer.mobile_sms_ok`` false although a number was given);
* the replies inbox: replies nobody has handled (``InboundMessage.handled_at`` empty);
* this month's SMS spend per location against its budget (``messaging.services.cost``).

Lists are capped (``LIST_LIMIT``) and come with their full count, so the page stays fast with a million
appointments; the list pages of later issues show the rest. Queries use the indexes on
``Appointment.start_at``, ``OutboundMessage.appointment_id``/``(status, next_attempt_at)`` and
``InboundMessage.(handled_at, received_at)``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db.models import Q

from alphasms.appointments.models import Appointment, AppointmentStatus, Channel, Customer, Location
from alphasms.messaging.models import InboundMessage, MessageStatus, OutboundMessage
from alphasms.messaging.services.cost import month_spend_micros

T = TypeVar("T")
LIST_LIMIT = 25  # entries per list; more are counted ("Showing 25 of N"): drawing 50 a list cost ~40 ms
CHANNELS = (Channel.SMS.value, Channel.EMAIL.value)
TODO_STATUSES = (
    MessageStatus.FAILED,
    MessageStatus.UNDELIVERED,
    MessageStatus.EXPIRED,
    MessageStatus.HELD,
    MessageStatus.UNKNOWN,
)
TODO_PAST_S = 24 * 3600  # a failure stays on the list until a day after the appointment began
NUMBER_CHECK_DAYS = 7  # unusable numbers matter for appointments in the coming week


@dataclass(frozen=True)
class Reminder:
    """One reminder of an appointment: its channel, status (``MessageStatus`` value) and rule."""

    channel: str
    status: str
    rule_name: str
    user_message: str


@dataclass(frozen=True)
class AppointmentRow:
    """An appointment with its local start and its reminders per channel (``by_channel["sms"]``…)."""

    appointment: Appointment
    local_start: dt.datetime
    by_channel: dict[str, list[Reminder]]

    @property
    def channels(self) -> list[tuple[str, list[Reminder]]]:
        """(channel, reminders) for SMS then e-mail, empty lists included: the table's columns."""
        return [(channel, self.by_channel.get(channel, [])) for channel in CHANNELS]


@dataclass(frozen=True)
class Day:
    """One day's appointments (``offset`` 0 today, 1 tomorrow); ``rows`` capped, ``total`` not."""

    offset: int
    date: dt.date
    rows: list[AppointmentRow]
    total: int


@dataclass(frozen=True)
class Spend:
    """A location's SMS spend this month in millionths of ``currency`` (exact, messaging/money.py);
    ``budget_micros`` None = none."""

    location: Location
    spent_micros: int
    budget_micros: int | None
    currency: str

    @property
    def percent(self) -> int | None:
        """Spend as a whole percentage of the budget (None without a budget; may exceed 100)."""
        if not self.budget_micros:
            return None
        return round(100 * self.spent_micros / self.budget_micros)


@dataclass(frozen=True)
class Listing(Generic[T]):
    """The first ``LIST_LIMIT`` items of a list and how many there are."""

    items: list[T] = field(default_factory=list)
    total: int = 0


@dataclass(frozen=True)
class Dashboard:
    """Everything on the dashboard page."""

    days: list[Day]
    failed: Listing[OutboundMessage]
    numbers: Listing[Customer]
    inbox: Listing[InboundMessage]
    spend: list[Spend]

    @property
    def todo_count(self) -> int:
        """Items on the to-do list (failed messages and unusable numbers)."""
        return self.failed.total + self.numbers.total


def build(now: dt.datetime) -> Dashboard:
    """The dashboard as of ``now`` (aware UTC datetime)."""
    locations = list(Location.objects.order_by("pk"))
    return Dashboard(
        days=[_day(locations, now, offset) for offset in (0, 1)],
        failed=_failed(now),
        numbers=_unusable_numbers(now),
        inbox=_inbox(),
        spend=[_spend(location, now) for location in locations],
    )


def _day_range(location: Location, now: dt.datetime, offset: int) -> tuple[dt.date, Q]:
    day = now.astimezone(location.tz).date() + dt.timedelta(days=offset)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=location.tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=location.tz)
    return day, Q(location_id=location.pk, start_at__gte=start, start_at__lt=end)


def _day(locations: list[Location], now: dt.datetime, offset: int) -> Day:
    condition, date = Q(pk__in=[]), (now.date() + dt.timedelta(days=offset))
    for location in locations:
        date, q = _day_range(location, now, offset)
        condition |= q
    query = Appointment.objects.filter(condition)
    appointments = list(query.select_related("customer", "location").order_by("start_at", "pk")[:LIST_LIMIT])
    total = len(appointments) if len(appointments) < LIST_LIMIT else query.count()
    reminders = _reminders([a.pk for a in appointments])
    rows = [
        AppointmentRow(a, a.start_at.astimezone(a.location.tz), reminders.get(a.pk, {})) for a in appointments
    ]
    return Day(offset, date, rows, total)


def _reminders(appointment_ids: list[int]) -> dict[int, dict[str, list[Reminder]]]:
    found: dict[int, dict[str, list[Reminder]]] = defaultdict(lambda: defaultdict(list))
    rows = (
        OutboundMessage.objects.filter(appointment_id__in=appointment_ids)
        .order_by("due_at", "pk")
        .values_list("appointment_id", "channel", "status", "rule__name", "user_message")
    )
    for appointment_id, channel, status, rule_name, user_message in rows:
        found[appointment_id][channel].append(Reminder(channel, status, rule_name, user_message))
    return {key: dict(value) for key, value in found.items()}


def _failed(now: dt.datetime) -> Listing[OutboundMessage]:
    query = OutboundMessage.objects.filter(
        status__in=TODO_STATUSES, occurrence_start_at__gte=now - dt.timedelta(seconds=TODO_PAST_S)
    )
    items = list(
        query.select_related("customer", "appointment__location", "rule").order_by(
            "occurrence_start_at", "pk"
        )[:LIST_LIMIT]
    )
    return Listing(items, len(items) if len(items) < LIST_LIMIT else query.count())


def _unusable_numbers(now: dt.datetime) -> Listing[Customer]:
    upcoming = Appointment.objects.filter(
        start_at__gte=now,
        start_at__lt=now + dt.timedelta(days=NUMBER_CHECK_DAYS),
        status=AppointmentStatus.SCHEDULED,
        customer__mobile_sms_ok=False,
    ).exclude(customer__mobile_raw="")
    # The people's ids once (a few hundred): the list and its count then cost no second pass over the
    # week's appointments (tens of thousands with a million appointments).
    ids = set(upcoming.order_by().values_list("customer_id", flat=True).distinct())
    query = Customer.objects.filter(pk__in=ids)
    items = list(query.order_by("family_name", "given_name", "pk")[:LIST_LIMIT]) if ids else []
    return Listing(items, len(ids))


def _inbox() -> Listing[InboundMessage]:
    query = InboundMessage.objects.filter(handled_at__isnull=True)
    items = list(query.select_related("customer", "appointment").order_by("-received_at", "-pk")[:LIST_LIMIT])
    return Listing(items, len(items) if len(items) < LIST_LIMIT else query.count())


def _spend(location: Location, now: dt.datetime) -> Spend:
    return Spend(
        location,
        month_spend_micros(location, now),
        location.monthly_sms_budget_micros,
        location.budget_currency,
    )
