"""Tomorrow's run: every message that will go out tomorrow, before anything is sent, with totals.

The same logic as ``alphasms preview --until`` (``messaging/management/commands/preview.py``): planning
runs inside a transaction that is rolled back, so reminders the worker has not planned yet are shown too
and nothing changes; then the pending messages (``CLAIMABLE`` and ``held``) whose next attempt falls on
tomorrow are listed. "Tomorrow" is the calendar day after today in each message's location's time zone
(invariant 5). Totals count messages, SMS parts and cost (``SmsPrice`` per destination country, as
``messaging.services.cost`` prices them) of what will go out; held messages are counted apart.

Holding a message (``hold``) needs its row: one the preview showed but the worker had not planned yet
is planned first (``planning.plan``, exactly what the worker's next cycle would do), then held through
``messaging.services.hold``. Rows are addressed by (appointment, rule, channel), the message's unique key
(invariant 1), because an unplanned message has no id yet.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max, Q

from alphasms.appointments.models import Channel, Location
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import CLAIMABLE, MessageStatus, OutboundMessage, SmsPrice
from alphasms.messaging.services import hold as holds
from alphasms.messaging.services.cost import destination_countries

PAGE_SIZE = 50  # rows shown per page (by send time); the totals always cover every message


@dataclass(frozen=True)
class RunRow:
    """One message of the run. ``message_id`` is None for a reminder the worker has not planned yet;
    ``local_due`` is its send time in the location's zone; ``cost_micros`` the exact cost in millionths
    of ``currency`` (3 parts at 0.075 € = 225000), None = e-mail or no price."""

    appointment_id: int
    rule_id: int
    channel: str
    message_id: int | None
    status: str
    local_due: dt.datetime
    local_start: dt.datetime
    customer: str
    recipient: str
    rule_name: str
    subject: str
    body: str
    segments: int
    encoding: str
    cost_micros: int | None
    currency: str
    user_message: str
    held_by_staff: bool
    releasable: bool

    @property
    def key(self) -> str:
        """``appointment-rule-channel``: the row's HTML id and form value."""
        return f"{self.appointment_id}-{self.rule_id}-{self.channel}"


@dataclass(frozen=True)
class Run:
    """The run: one page of rows (``PAGE_SIZE``, by send time; ``page`` 1-based of ``pages``), totals
    of what goes out, held count, ``row_total`` rows in all."""

    date: dt.date
    rows: list[RunRow]
    messages: int
    sms: int
    emails: int
    parts: int
    cost_micros: dict[str, int] = field(default_factory=dict)  # exact, per currency
    unpriced_sms: int = 0
    held: int = 0
    row_total: int = 0
    page: int = 1
    pages: int = 1
    first_row: int = 1  # 1-based numbers of the page's first and last row
    last_row: int = 0


def _tomorrow(locations: list[Location], now: dt.datetime) -> tuple[dt.date, Q]:
    condition = Q(pk__in=[])
    date = (now + dt.timedelta(days=1)).date()
    for index, location in enumerate(locations):
        day = now.astimezone(location.tz).date() + dt.timedelta(days=1)
        start = dt.datetime.combine(day, dt.time(0), tzinfo=location.tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=location.tz)
        condition |= Q(
            appointment__location_id=location.pk, next_attempt_at__gte=start, next_attempt_at__lt=end
        )
        if index == 0:
            date = day
    return date, condition


def _prices() -> dict[str, tuple[int, str]]:
    return {p.country: (p.price_per_part_micros, p.currency) for p in SmsPrice.objects.all()}


def build(now: dt.datetime, page: int = 1) -> Run:
    """Tomorrow's run as of ``now`` (aware UTC), rows of ``page`` (1-based; out of range → the last).
    Changes nothing: planning (``plan(full=False)``, what the worker's next cycle does — incremental)
    is rolled back. Queries: a fixed number, none per message — the totals from four columns of every
    message, the page's rows in one query, prices once."""
    locations = list(Location.objects.order_by("pk"))
    date, condition = _tomorrow(locations, now)
    query = OutboundMessage.objects.filter(condition, status__in=[*CLAIMABLE, MessageStatus.HELD])
    prices = _prices()
    with transaction.atomic():
        # Rows above the highest id before planning are the ones this (rolled-back) run planned.
        persisted_up_to = OutboundMessage.objects.aggregate(top=Max("pk"))["top"] or 0
        plan(now, full=False)
        summary = list(query.values_list("channel", "status", "recipient", "segments"))
        pages = max(1, -(-len(summary) // PAGE_SIZE))
        page = min(max(page, 1), pages)
        messages = list(
            query.select_related("appointment__location", "customer", "rule").order_by(
                "next_attempt_at", "pk"
            )[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        )
        transaction.set_rollback(True)
    countries = destination_countries(r for channel, _, r, _ in summary if channel == Channel.SMS)
    rows = [_row(m, m.pk <= persisted_up_to, prices, countries) for m in messages]
    return _totals(date, rows, summary, prices, countries, page, pages)


def _price(
    recipient: str, prices: dict[str, tuple[int, str]], countries: dict[str, str]
) -> tuple[int, str] | None:
    country = countries.get(recipient)
    if country is None:
        country = countries[recipient] = destination_countries([recipient])[recipient]
    return prices.get(country) or prices.get("*")


def _row(
    message: OutboundMessage,
    persisted: bool,
    prices: dict[str, tuple[int, str]],
    countries: dict[str, str],
) -> RunRow:
    tz = message.appointment.location.tz
    cost, currency = None, ""
    if message.channel == Channel.SMS:
        price = _price(message.recipient, prices, countries)
        if price is not None:
            cost, currency = message.segments * price[0], price[1]
    customer = message.customer
    return RunRow(
        appointment_id=message.appointment_id,
        rule_id=message.rule_id,
        channel=message.channel,
        message_id=message.pk if persisted else None,
        status=message.status,
        local_due=message.next_attempt_at.astimezone(tz),
        local_start=message.appointment.start_at.astimezone(tz),
        customer=f"{customer.given_name} {customer.family_name}".strip(),
        recipient=message.recipient,
        rule_name=message.rule.name,
        subject=message.subject,
        body=message.body,
        segments=message.segments,
        encoding=message.encoding,
        cost_micros=cost,
        currency=currency,
        user_message=message.user_message,
        held_by_staff=message.error_code == holds.HELD_BY_STAFF,
        releasable=message.status == MessageStatus.HELD and holds.releasable(message),
    )


def _totals(
    date: dt.date,
    rows: list[RunRow],
    summary: list[tuple[str, str, str, int]],
    prices: dict[str, tuple[int, str]],
    countries: dict[str, str],
    page: int,
    pages: int,
) -> Run:
    """Totals over ``summary`` (channel, status, recipient, segments of every message of the run)."""
    going = [m for m in summary if m[1] != MessageStatus.HELD]
    sms = [m for m in going if m[0] == Channel.SMS]
    cost: dict[str, int] = defaultdict(int)
    unpriced = 0
    for _, _, recipient, segments in sms:
        price = _price(recipient, prices, countries)
        if price is None:
            unpriced += 1
        else:
            cost[price[1]] += segments * price[0]
    return Run(
        date=date,
        rows=rows,
        messages=len(going),
        sms=len(sms),
        emails=len(going) - len(sms),
        parts=sum(m[3] for m in sms),
        cost_micros=dict(cost),
        unpriced_sms=unpriced,
        held=len(summary) - len(going),
        row_total=len(summary),
        page=page,
        pages=pages,
        first_row=(page - 1) * PAGE_SIZE + 1,
        last_row=(page - 1) * PAGE_SIZE + len(rows),
    )


def _message_for(appointment_id: int, rule_id: int, channel: str, now: dt.datetime) -> OutboundMessage:
    key = {"appointment_id": appointment_id, "rule_id": rule_id, "channel": channel}
    message = OutboundMessage.objects.filter(**key).first()
    if message is None:
        plan(now)  # what the worker's next cycle does: the reminder the preview showed gets its row
        message = OutboundMessage.objects.filter(**key).first()
    if message is None:
        raise holds.HoldRefused("not_pending", "Diese Erinnerung ist nicht (mehr) geplant.")
    return message


def hold(appointment_id: int, rule_id: int, channel: str, *, actor_id: int | None, now: dt.datetime) -> None:
    """Hold the run's message for (appointment, rule, channel), planning it first if needed. Raises
    HoldRefused (``messaging.services.hold``) when there is no pending message to hold."""
    message = _message_for(appointment_id, rule_id, channel, now)
    holds.hold(message.pk, actor_id=actor_id, now=now)


def release(
    appointment_id: int, rule_id: int, channel: str, *, actor_id: int | None, now: dt.datetime
) -> None:
    """Release the run's held message for (appointment, rule, channel). Raises HoldRefused."""
    message = _message_for(appointment_id, rule_id, channel, now)
    holds.release(message.pk, actor_id=actor_id, now=now)
