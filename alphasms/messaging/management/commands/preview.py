"""``alphasms preview --until WHEN [--json]``: every message that would go out until then.

``WHEN``: ``heute``/``today``, ``morgen``/``tomorrow``, ``übermorgen``, a date (``2026-12-02`` or
``02.12.2026``: up to the end of that day) in the practice's time zone (the locations' one, else
``TIME_ZONE``), or an ISO 8601 instant (``2026-12-02T00:00Z``; naive = UTC).
Read-only: planning runs inside a transaction that is rolled back, so the preview changes nothing.
The text output shows each due time as wall time of the message's location with the zone's
abbreviation ("Mo. 30.11.2026 08:00 MEZ") and money in the locale's format ("0,40 €"); ``--json`` keeps
instants in UTC ISO 8601 (``due_at``, ``appointment_start_utc``) and names the location's ``time_zone``.
An SMS's ``cost`` is {"micros" (millionths of the currency, exact), "amount" (decimal string, e.g.
"0.225"), "currency"}, null for e-mail or without a price. The text's total is rounded to cents.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, TypedDict

from django.core.management.base import CommandParser
from django.db import transaction

from alphasms.appointments.services.planning import plan, render_with_replacements
from alphasms.cli_text import cli_language, t, tn
from alphasms.commands import AlphaCommand, local_time_text, parse_until
from alphasms.messaging.models import CLAIMABLE, MessageStatus, OutboundMessage
from alphasms.messaging.money import amount_text, format_total
from alphasms.messaging.services.cost import sms_cost


class PreviewItem(TypedDict):
    """One message of the preview; ``segments`` is null for e-mail."""

    message_id: int
    due_at: str
    channel: str
    recipient: str
    subject: str
    text: str
    segments: int | None
    encoding: str | None
    appointment_start_utc: str
    time_zone: str
    status: str
    cost: dict[str, object] | None
    replacements: list[dict[str, object]]


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cost(message: OutboundMessage) -> dict[str, object] | None:
    if message.channel != "sms":
        return None
    cost = sms_cost(message.recipient, message.segments)
    if cost is None:
        return None
    return {
        "micros": cost.micros,
        "amount": amount_text(cost.micros, cost.currency),
        "currency": cost.currency,
    }


def _replacements(message: OutboundMessage) -> list[dict[str, object]]:
    if message.channel != "sms" or not message.rule.smart_encoding:
        return []
    _, _, replacements = render_with_replacements(message.appointment, message.rule)
    return [
        {"position": r.position, "original": r.original, "replacement": r.replacement, "reason": r.reason}
        for r in replacements
    ]


def preview_items(until: dt.datetime) -> list[PreviewItem]:
    """Plan (rolled back) and list the messages due up to ``until``, ordered by due time."""
    with transaction.atomic():
        plan()
        qs = (
            OutboundMessage.objects.filter(
                status__in=[*CLAIMABLE, MessageStatus.HELD], next_attempt_at__lte=until
            )
            .select_related("appointment__location", "appointment__customer", "rule")
            .order_by("next_attempt_at", "id")
        )
        items: list[PreviewItem] = [
            {
                "message_id": m.pk,
                "due_at": _iso(m.next_attempt_at),
                "channel": m.channel,
                "recipient": m.recipient,
                "subject": m.subject,
                "text": m.body,
                "segments": m.segments if m.channel == "sms" else None,
                "encoding": m.encoding if m.channel == "sms" else None,
                "appointment_start_utc": _iso(m.appointment.start_at),
                "time_zone": m.appointment.location.time_zone,
                "status": m.status,
                "cost": _cost(m),
                "replacements": _replacements(m),
            }
            for m in qs
        ]
        transaction.set_rollback(True)
    return items


def home_zone() -> str:
    """The practice's IANA time zone for dates like "morgen": the one all locations share, else
    ``TIME_ZONE``."""
    from django.conf import settings

    from alphasms.appointments.models import Location

    zones = set(Location.objects.values_list("time_zone", flat=True).distinct()[:2])
    return zones.pop() if len(zones) == 1 else str(settings.TIME_ZONE)


class Command(AlphaCommand):
    help = "Zeigt jede Nachricht, die bis zum angegebenen Zeitpunkt versendet würde (ändert nichts)."
    help_en = "Shows every message that would go out until the given instant (changes nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--until",
            metavar=t("BIS", "WHEN"),
            required=True,
            help=t(
                "heute, morgen, ein Datum (02.12.2026: bis Ende dieses Tages) oder ein ISO-8601-Zeitpunkt "
                "(2026-12-02T00:00Z)",
                "today, tomorrow, a date (2026-12-02: to the end of that day) or an ISO 8601 instant "
                "(2026-12-02T00:00Z)",
            ),
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        items = preview_items(parse_until(options["until"], "--until", home_zone()))
        if options["json"]:
            self.stdout.write(json.dumps(items, ensure_ascii=False, indent=2))
            return
        language = cli_language()
        for item in items:
            parts = f" ({item['segments']} SMS)" if item["segments"] else ""
            due = dt.datetime.fromisoformat(item["due_at"].replace("Z", "+00:00"))
            when = local_time_text(due, item["time_zone"], language)
            self.stdout.write(f"{when}  {item['channel']:<5} {item['recipient']}{parts}\n    {item['text']}")
        sms = [i for i in items if i["channel"] == "sms"]
        part_count = sum(i["segments"] or 0 for i in sms)
        costs: dict[str, int] = {}
        for item in sms:
            if item["cost"]:
                code = str(item["cost"]["currency"])
                costs[code] = costs.get(code, 0) + int(str(item["cost"]["micros"]))
        locale = cli_language()
        money = ", ".join(format_total(micros, code, locale) for code, micros in costs.items()) or "–"
        self.stdout.write(
            tn(
                len(items),
                ("{count} Nachricht", "{count} Nachrichten"),
                ("{count} message", "{count} messages"),
            )
            + t(f", davon {len(sms)} SMS mit ", f", {len(sms)} SMS with ")
            + tn(part_count, ("{count} Teil", "{count} Teilen"), ("{count} part", "{count} parts"))
            + t(f"; Kosten {money}.", f"; cost {money}.")
        )
