"""``alphasms sms spend [--json]``: this month's SMS spend per location against its budget.

JSON: a list of {"location", "month_start_utc", "spent_micros", "budget_micros" (null = none), "spent",
"budget" (the same as exact decimal strings, e.g. "0.225"; budget null = none), "currency"}. Amounts in
micros are millionths of the currency (``messaging/money.py``), exact. The text shows the spend rounded to
the currency's minor unit (cents) and the budget as set.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from alphasms.appointments.models import Location
from alphasms.cli_text import cli_language, t
from alphasms.commands import AlphaCommand
from alphasms.messaging.money import amount_text, format_price, format_total
from alphasms.messaging.services.cost import month_spend_micros, month_start


class Command(AlphaCommand):
    help = "Zeigt die SMS-Kosten des laufenden Monats je Standort und das Budget."
    help_en = "Shows this month's SMS spend per location against its budget."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        spends = [
            (location, month_spend_micros(location, now), location.monthly_sms_budget_micros)
            for location in Location.objects.order_by("name")
        ]
        if options["json"]:
            rows = [
                {
                    "location": location.name,
                    "month_start_utc": month_start(location, now).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "spent_micros": spent,
                    "budget_micros": budget,
                    "spent": amount_text(spent, location.budget_currency),
                    "budget": None if budget is None else amount_text(budget, location.budget_currency),
                    "currency": location.budget_currency,
                }
                for location, spent, budget in spends
            ]
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        locale = cli_language()
        for location, spent, budget in spends:
            code = location.budget_currency
            limit = t("kein Budget", "no budget") if budget is None else format_price(budget, code, locale)
            self.stdout.write(f"{location.name}: {format_total(spent, code, locale)} / {limit}")
