"""``alphasms sms spend [--json]``: this month's SMS spend per location against its budget.

JSON: a list of {"location", "month_start_utc", "spent_minor", "budget_minor" (null = none), "currency"}.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from alphasms.appointments.models import Location
from alphasms.cli_text import t
from alphasms.commands import AlphaCommand
from alphasms.messaging.services.cost import month_spend_minor, month_start


class Command(AlphaCommand):
    help = "Zeigt die SMS-Kosten des laufenden Monats je Standort und das Budget."
    help_en = "Shows this month's SMS spend per location against its budget."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        rows = [
            {
                "location": location.name,
                "month_start_utc": month_start(location, now).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "spent_minor": month_spend_minor(location, now),
                "budget_minor": location.monthly_sms_budget_minor,
                "currency": location.budget_currency,
            }
            for location in Location.objects.order_by("name")
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        for row in rows:
            budget = row["budget_minor"]
            limit = t("kein Budget", "no budget") if budget is None else f"{int(str(budget)) / 100:.2f}"
            spent = int(str(row["spent_minor"])) / 100
            self.stdout.write(f"{row['location']}: {spent:.2f} / {limit} {row['currency']}")
