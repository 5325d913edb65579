"""What the appointment pages show: the list, the day and week calendars, one appointment's reminders.

Fast with a million appointments (issue 5's benchmark: 1,000,000 appointments, 100,000 customers):

* every query is bounded by a date range first, on the index of ``Appointment.start_at``;
* the list pages by keyset (``start_at``, ``id``), never by OFFSET, and fetches ``PAGE_SIZE + 1`` rows;
* a search looks up the matching customers first (at most ``CUSTOMER_MATCH_LIMIT`` ids; phone numbers
  by their E.164 form) and then, as two queries merged by keyset, the appointments of those ids in the
  range and those whose title contains the text in the range's first ``TITLE_SEARCH_DAYS`` days (a title
  has no index; the scan stays bounded); without an end date a search covers ``SEARCH_DAYS`` days;
* reminders come in one query per page (``appointment_id IN …``), customers and locations by
  ``select_related``: no query per row.

Day and week are days of the location's time zone (DESIGN.md invariant 5): a week runs from Monday
00:00 to the next Monday 00:00 local time, so a DST week has 167 or 169 hours. A calendar draws at most
``DAY_LIMIT`` (day view) or ``WEEK_DAY_LIMIT`` (each day of the week view) appointments per day, the first
by start time; the others are counted and linked to the list of that day — with a thousand appointments
a day, drawing them all took most of half a second.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from alphasms.appointments.models import Appointment, AppointmentStatus, Channel, Customer, Location
from alphasms.messaging.models import PENDING, OutboundMessage, StatusEvent
from alphasms.web.services.customers import matching_customer_ids

PAGE_SIZE = 50
SEARCH_DAYS = 366
TITLE_SEARCH_DAYS = 31
CUSTOMER_MATCH_LIMIT = 500
DAY_LIMIT = 50  # appointments drawn in the day view; the rest: "N more — show list"
WEEK_DAY_LIMIT = 10  # appointments drawn per day in the week view
CHANNELS = (Channel.SMS.value, Channel.EMAIL.value)
STATUSES = tuple(AppointmentStatus.values)
DAY_HOURS = (7, 19)  # the day view always shows 07:00–19:59, more when appointments lie outside


@dataclass(frozen=True)
class Cursor:
    """A keyset position: the (start_at UTC, id) of a row. Text form ``<unix seconds>.<id>``."""

    start_at: dt.datetime
    pk: int

    def __str__(self) -> str:
        return f"{int(self.start_at.timestamp())}.{self.pk}"

    @classmethod
    def parse(cls, text: str) -> Cursor | None:
        """The cursor in ``text``, or None when it is empty or malformed (then the first page is shown)."""
        seconds, _, pk = text.partition(".")
        if not (seconds.lstrip("-").isdigit() and pk.isdigit()):
            return None
        return cls(dt.datetime.fromtimestamp(int(seconds), tz=dt.UTC), int(pk))


@dataclass(frozen=True)
class Filters:
    """The list's filters: search text, local dates (``end`` inclusive; None = open), status value
    ("" = every status) and location id (None = all)."""

    query: str = ""
    start: dt.date | None = None
    end: dt.date | None = None
    status: str = ""
    location_id: int | None = None


def wall_clock(instant: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """``instant`` as a naive local time of ``tz``. Naive on purpose: templates convert aware datetimes
    to the *current* time zone, which would undo the location's zone for a location elsewhere."""
    return instant.astimezone(tz).replace(tzinfo=None)


@dataclass(frozen=True)
class Reminder:
    """One reminder of an appointment as the pages show it (``due_local``: naive, location's zone)."""

    message: OutboundMessage
    due_local: dt.datetime


@dataclass(frozen=True)
class Row:
    """An appointment with its start and end as naive local times of its location (``wall_clock``) and
    its reminders per channel."""

    appointment: Appointment
    local_start: dt.datetime
    local_end: dt.datetime
    by_channel: dict[str, list[Reminder]] = field(default_factory=dict)

    @property
    def channels(self) -> list[tuple[str, list[Reminder]]]:
        """(channel, reminders) for SMS then e-mail, empty lists included."""
        return [(channel, self.by_channel.get(channel, [])) for channel in CHANNELS]


@dataclass(frozen=True)
class Page:
    """One page of the list: rows, the cursors of the previous and next page (None at an end), the
    UTC range that was searched and, for a search, how many days of it titles were searched in."""

    rows: list[Row]
    previous: Cursor | None
    next: Cursor | None
    range_start: dt.datetime
    range_end: dt.datetime | None
    title_days: int | None = None


def _local_midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)


def list_range(filters: Filters, now: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
    """The UTC range the list covers: from the start date's local midnight (default: ``now``, i.e.
    upcoming) to the end date's next midnight; a search without an end date covers ``SEARCH_DAYS``."""
    tz = timezone.get_current_timezone()
    start = _local_midnight(filters.start, tz) if filters.start else now
    if filters.end:
        return start, _local_midnight(filters.end + dt.timedelta(days=1), tz)
    if filters.query.strip():
        return start, start + dt.timedelta(days=SEARCH_DAYS)
    return start, None


def _filtered(
    filters: Filters, now: dt.datetime
) -> tuple[list[QuerySet[Appointment]], dt.datetime, dt.datetime | None]:
    """The queries whose union is the list, and the range. A search is two queries, each able to use
    an index on its own (an OR of both would scan the range): appointments of the matching customers
    (``customer_id`` index) and appointments whose title contains the text, within ``TITLE_SEARCH_DAYS``
    from the range's start (a title has no index: the scan stays bounded)."""
    start, end = list_range(filters, now)
    query = Appointment.objects.filter(start_at__gte=start)
    if end is not None:
        query = query.filter(start_at__lt=end)
    if filters.status in STATUSES:
        query = query.filter(status=filters.status)
    if filters.location_id is not None:
        query = query.filter(location_id=filters.location_id)
    text = filters.query.strip()
    if not text:
        return [query], start, end
    by_customer = query.filter(customer_id__in=matching_customer_ids(text, CUSTOMER_MATCH_LIMIT))
    by_title = query.filter(
        summary__icontains=text, start_at__lt=start + dt.timedelta(days=TITLE_SEARCH_DAYS)
    )
    return [by_customer, by_title], start, end


def _page_of(
    parts: list[QuerySet[Appointment]], after: Cursor | None, before: Cursor | None
) -> list[Appointment]:
    """Up to ``PAGE_SIZE + 1`` rows of the union of ``parts`` after ``after`` (start order) or before
    ``before`` (reverse start order): the first rows of each part, merged — the keyset makes that exact."""
    found: dict[int, Appointment] = {}
    for part in parts:
        if before is not None:
            part = part.filter(
                Q(start_at__lt=before.start_at) | Q(start_at=before.start_at, pk__lt=before.pk)
            )
            rows = _with_relations(part).order_by("-start_at", "-pk")[: PAGE_SIZE + 1]
        else:
            if after is not None:
                part = part.filter(
                    Q(start_at__gt=after.start_at) | Q(start_at=after.start_at, pk__gt=after.pk)
                )
            rows = _with_relations(part).order_by("start_at", "pk")[: PAGE_SIZE + 1]
        found.update((row.pk, row) for row in rows)
    ordered = sorted(found.values(), key=lambda a: (a.start_at, a.pk), reverse=before is not None)
    return ordered[: PAGE_SIZE + 1]


def list_page(
    filters: Filters, now: dt.datetime, *, after: Cursor | None = None, before: Cursor | None = None
) -> Page:
    """The page of appointments after ``after`` (or before ``before``; neither = the first page), in
    start order. Queries: customers and two appointment queries when searching (else one), reminders."""
    parts, start, end = _filtered(filters, now)
    found = _page_of(parts, after, before)
    if before is not None:
        more_before, found = len(found) > PAGE_SIZE, found[:PAGE_SIZE][::-1]
        more_after = True
    else:
        more_after, found = len(found) > PAGE_SIZE, found[:PAGE_SIZE]
        more_before = after is not None
    return Page(
        rows=rows_for(found),
        previous=_cursor(found[0]) if found and more_before else None,
        next=_cursor(found[-1]) if found and more_after else None,
        range_start=start,
        range_end=end,
        title_days=TITLE_SEARCH_DAYS if filters.query.strip() else None,
    )


def _cursor(appointment: Appointment) -> Cursor:
    return Cursor(appointment.start_at, appointment.pk)


def _with_relations(query: QuerySet[Appointment]) -> QuerySet[Appointment]:
    return query.select_related("customer", "location", "appointment_type")


def rows_for(appointments: list[Appointment]) -> list[Row]:
    """Rows with local times and reminders for ``appointments`` (one query for all reminders)."""
    reminders = _reminders([a.pk for a in appointments])
    rows = []
    for appointment in appointments:
        tz = appointment.location.tz
        rows.append(
            Row(
                appointment,
                wall_clock(appointment.start_at, tz),
                wall_clock(appointment.end_at, tz),
                reminders.get(appointment.pk, {}),
            )
        )
    return rows


def _reminders(appointment_ids: list[int]) -> dict[int, dict[str, list[Reminder]]]:
    found: dict[int, dict[str, list[Reminder]]] = defaultdict(lambda: defaultdict(list))
    messages = (
        OutboundMessage.objects.filter(appointment_id__in=appointment_ids)
        .select_related("rule", "appointment__location")
        .only(
            "appointment_id",
            "channel",
            "status",
            "due_at",
            "user_message",
            "rule__name",
            "appointment__location__time_zone",
        )
        .order_by("due_at", "pk")
    )
    for message in messages:
        local = wall_clock(message.due_at, message.appointment.location.tz)
        found[message.appointment_id][message.channel].append(Reminder(message, local))
    return {key: dict(value) for key, value in found.items()}


# --- calendars ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarDay:
    """One local day of a calendar with its rows (start order, at most the calendar's limit), how many
    more appointments it has (``more``: shown in the list instead) and, for the day view, hour slots."""

    date: dt.date
    rows: list[Row]
    is_today: bool
    more: int = 0

    def hours(self) -> list[tuple[int, list[Row]]]:
        """(hour 0–23, rows starting in that hour) from ``DAY_HOURS`` widened to every row's hour."""
        by_hour: dict[int, list[Row]] = defaultdict(list)
        for row in self.rows:
            by_hour[row.local_start.hour].append(row)
        first = min([DAY_HOURS[0], *by_hour])
        last = max([DAY_HOURS[1], *by_hour])
        return [(hour, by_hour.get(hour, [])) for hour in range(first, last + 1)]


@dataclass(frozen=True)
class Calendar:
    """Days of one location from ``start`` (local date), with navigation dates; ``truncated`` when a
    day has more appointments than are drawn (``CalendarDay.more``)."""

    location: Location
    start: dt.date
    days: list[CalendarDay]
    previous: dt.date
    next: dt.date
    today: dt.date
    truncated: bool


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week (ISO 8601: weeks start on Monday)."""
    return day - dt.timedelta(days=day.weekday())


def calendar(
    location: Location, first: dt.date, days: int, now: dt.datetime, limit: int | None = None
) -> Calendar:
    """``days`` local days of ``location`` from ``first``: per day the first ``limit`` appointments
    (default ``DAY_LIMIT`` for one day, else ``WEEK_DAY_LIMIT``; all statuses, cancelled ones shown as
    such) with their reminders, and the count of the others. Queries: the counts per day (an index-only
    scan of (location, start_at)), one per day that has appointments, the reminders — at most
    ``days`` + 2, however many appointments the range holds."""
    tz = location.tz
    limit = limit or (DAY_LIMIT if days == 1 else WEEK_DAY_LIMIT)
    dates = [first + dt.timedelta(days=n) for n in range(days + 1)]
    bounds = [_local_midnight(date, tz) for date in dates]  # each day's local midnight, and the end's
    query = Appointment.objects.filter(location=location, start_at__gte=bounds[0], start_at__lt=bounds[-1])
    counts = query.aggregate(
        **{
            f"d{n}": Count("start_at", filter=Q(start_at__gte=bounds[n], start_at__lt=bounds[n + 1]))
            for n in range(days)
        }
    )
    found: list[list[Appointment]] = []
    for n in range(days):  # a window function numbering each day's rows read the whole range: slower
        day = query.filter(start_at__gte=bounds[n], start_at__lt=bounds[n + 1])
        found.append(list(_with_relations(day).order_by("start_at", "pk")[:limit]) if counts[f"d{n}"] else [])
    rows = iter(rows_for([a for day_rows in found for a in day_rows]))
    today = now.astimezone(tz).date()
    step = dt.timedelta(days=days)
    calendar_days = [
        CalendarDay(
            dates[n], [next(rows) for _ in found[n]], dates[n] == today, counts[f"d{n}"] - len(found[n])
        )
        for n in range(days)
    ]
    return Calendar(
        location=location,
        start=first,
        days=calendar_days,
        previous=first - step,
        next=first + step,
        today=today,
        truncated=any(day.more for day in calendar_days),
    )


# --- one appointment ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detail:
    """One appointment with its reminders per channel, each with its history (oldest event first):
    ``channels`` is [(channel, [(reminder, events)])] for SMS then e-mail."""

    row: Row
    channels: list[tuple[str, list[tuple[Reminder, list[StatusEvent]]]]]
    can_cancel: bool
    can_mark_no_show: bool


def detail(appointment: Appointment, now: dt.datetime) -> Detail:
    """The detail page's data for ``appointment``. Two queries."""
    (row,) = rows_for([appointment])
    ids = [r.message.pk for _channel, reminders in row.channels for r in reminders]
    events: dict[int, list[StatusEvent]] = defaultdict(list)
    for event in StatusEvent.objects.filter(message_id__in=ids).order_by("at", "pk"):
        events[event.message_id].append(event)
    status = appointment.status
    return Detail(
        row=row,
        channels=[
            (channel, [(r, events.get(r.message.pk, [])) for r in reminders])
            for channel, reminders in row.channels
        ],
        can_cancel=status == AppointmentStatus.SCHEDULED,
        can_mark_no_show=status in (AppointmentStatus.SCHEDULED, AppointmentStatus.COMPLETED)
        and appointment.start_at <= now,
    )


def pending_reminders(appointment: Appointment) -> int:
    """How many reminders of ``appointment`` are still pending (would be cancelled with it)."""
    return OutboundMessage.objects.filter(appointment=appointment, status__in=PENDING).count()


def get_appointment(pk: int) -> Appointment | None:
    """The appointment with customer, location and type, or None."""
    return _with_relations(Appointment.objects.filter(pk=pk)).first()


def customer_choices(text: str, selected: Customer | None = None, limit: int = 20) -> list[Customer]:
    """Customers matching ``text`` for the appointment form's select (``selected`` first), at most
    ``limit``; restricted persons are left out (GDPR Art. 18: no new processing)."""
    found: list[Customer] = [selected] if selected is not None else []
    if text.strip():
        ids = matching_customer_ids(text, limit)
        more = Customer.objects.filter(pk__in=ids, restricted_at__isnull=True).order_by(
            "family_name", "given_name", "pk"
        )
        found += [c for c in more if selected is None or c.pk != selected.pk]
    return found[: limit + 1]
