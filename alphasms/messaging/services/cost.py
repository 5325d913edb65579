"""What SMS cost: per message, for a run of messages, and per location and month against its budget.

Prices are the business's own (``SmsPrice``: per part and destination country). Every amount is an
integer in micros, millionths of the currency (``messaging/money.py``: 0.075 € = 75000), so fractional-cent
prices, sums and the budget check are exact; rounding happens only on display. A sent attempt stores its
cost, so a later price change never rewrites the month's spend. The month is the calendar month in the
location's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from django.db.models import F, Sum

from alphasms.appointments.models import Channel, Location
from alphasms.messaging.models import MonthlyUsage, OutboundMessage, SmsPrice


def destination_country(e164: str) -> str:
    """ISO 3166 alpha-2 of an E.164 number ("" when it has none, e.g. +800)."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or ""
    except phonenumbers.NumberParseException:
        return ""


def destination_countries(numbers: Iterable[str]) -> dict[str, str]:
    """``destination_country`` of many E.164 numbers at once: {number: ISO 3166 alpha-2 or ""}.

    A calling code that belongs to one country only (+49, +43, +41 …) decides the country without
    parsing the number (libphonenumber's own rule in ``region_code_for_number``), which is a hundred
    times cheaper; shared codes (+1, +7, +44 …) and anything not shaped like E.164 are parsed."""
    found: dict[str, str] = {}
    for number in numbers:
        if number in found:
            continue
        digits = number[1:]
        regions: tuple[str, ...] | list[str] = ()
        if number.startswith("+") and digits.isdigit() and 8 <= len(digits) <= 15:
            for size in (1, 2, 3):
                regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]), ())
                if regions:
                    break
        single = len(regions) == 1 and regions[0] != phonenumbers.UNKNOWN_REGION
        found[number] = regions[0] if single else destination_country(number)
    return found


def price_for(e164: str) -> SmsPrice | None:
    """The price row for the number's country, else the "*" row, else None (no price set)."""
    prices = {p.country: p for p in SmsPrice.objects.filter(country__in=[destination_country(e164), "*"])}
    return prices.get(destination_country(e164)) or prices.get("*")


@dataclass(frozen=True)
class Cost:
    """An exact amount in millionths of ``currency`` (225000 EUR = 0.225 €; ``messaging/money.py``)."""

    micros: int
    currency: str


def sms_cost(e164: str, segments: int) -> Cost | None:
    """``segments`` parts to ``e164`` at the business's price, exact (3 × 0.075 € = 0.225 €); None when
    no price is set."""
    price = price_for(e164)
    return None if price is None else Cost(segments * price.price_per_part_micros, price.currency)


@dataclass(frozen=True)
class RunTotals:
    """Totals of a set of messages: counts per channel, SMS parts, and exact cost per currency (micros)."""

    messages: int
    sms: int
    emails: int
    parts: int
    cost_micros: dict[str, int]
    unpriced_sms: int


def run_totals(messages: Iterable[OutboundMessage]) -> RunTotals:
    """Sum up ``messages`` (e.g. tomorrow's run): SMS parts and their cost by currency."""
    count = sms = parts = unpriced = 0
    cost: dict[str, int] = defaultdict(int)
    for message in messages:
        count += 1
        if message.channel != Channel.SMS:
            continue
        sms += 1
        parts += message.segments
        amount = sms_cost(message.recipient, message.segments)
        if amount is None:
            unpriced += 1
        else:
            cost[amount.currency] += amount.micros
    return RunTotals(count, sms, count - sms, parts, dict(cost), unpriced)


def month_start(location: Location, now: dt.datetime) -> dt.datetime:
    """The first instant (UTC) of ``now``'s calendar month in the location's time zone."""
    local = now.astimezone(location.tz)
    return dt.datetime(local.year, local.month, 1, tzinfo=location.tz).astimezone(dt.UTC)


def month_spend_micros(location: Location, now: dt.datetime) -> int:
    """SMS spend of this location's calendar month in millionths of its budget currency (exact), from
    the anonymous usage counts (so erasing a person does not refund the budget)."""
    spent = MonthlyUsage.objects.filter(
        location_id=location.pk,
        month=month_start(location, now).astimezone(location.tz).date(),
        channel=Channel.SMS,
        currency=location.budget_currency,
    ).aggregate(total=Sum("cost_micros"))["total"]
    return int(spent or 0)


def record_usage(message: OutboundMessage, segments: int, cost: Cost | None, now: dt.datetime) -> None:
    """Count one provider call that reached (or may have reached) the provider in the anonymous
    monthly usage of the message's location. Side effect: one upsert."""
    location = message.appointment.location
    month = month_start(location, now).astimezone(location.tz).date()
    row, _ = MonthlyUsage.objects.get_or_create(
        location_id=location.pk, month=month, channel=message.channel, currency=cost.currency if cost else ""
    )
    MonthlyUsage.objects.filter(pk=row.pk).update(
        messages=F("messages") + 1,
        parts=F("parts") + segments,
        cost_micros=F("cost_micros") + (cost.micros if cost else 0),
    )


def over_budget(message: OutboundMessage, now: dt.datetime) -> bool:
    """True when sending ``message`` would take its location past the monthly SMS budget. Exact, in
    micros: a message that brings the spend to exactly the budget still goes (24.775 € spent + 0.225 €
    of a 25.00 € budget); a price in another currency than the budget's is not counted against it."""
    location = message.appointment.location
    if message.channel != Channel.SMS or location.monthly_sms_budget_micros is None:
        return False
    cost = sms_cost(message.recipient, message.segments)
    extra = cost.micros if cost and cost.currency == location.budget_currency else 0
    return month_spend_micros(location, now) + extra > location.monthly_sms_budget_micros
