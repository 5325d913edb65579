"""Location budgets in millionths of the currency (``monthly_sms_budget_micros``) instead of minor units
(cents), so budgets are as exact as fractional-cent SMS prices (messaging/money.py). Existing budgets are
converted (cents × 10,000; a currency with other minor units, e.g. JPY with none, by its own factor);
backwards, micros are rounded half up to minor units. The country gets its ISO 3166-1 validator."""

from typing import Any

from babel.numbers import get_currency_precision
from django.db import migrations, models
from django.db.models import F

import alphasms.appointments.models

MICRO_DIGITS = 6


def _factor(currency: str) -> int:
    return int(10 ** (MICRO_DIGITS - int(get_currency_precision(currency or "EUR"))))


def _currencies(location_model: Any) -> set[str]:
    return set(location_model.objects.values_list("budget_currency", flat=True))


def minor_to_micros(apps: Any, schema_editor: Any) -> None:
    location = apps.get_model("appointments", "Location")
    for currency in _currencies(location):
        location.objects.filter(budget_currency=currency, monthly_sms_budget_micros__isnull=False).update(
            monthly_sms_budget_micros=F("monthly_sms_budget_micros") * _factor(currency)
        )


def micros_to_minor(apps: Any, schema_editor: Any) -> None:
    location = apps.get_model("appointments", "Location")
    for currency in _currencies(location):
        factor = _factor(currency)
        location.objects.filter(budget_currency=currency, monthly_sms_budget_micros__isnull=False).update(
            monthly_sms_budget_micros=(F("monthly_sms_budget_micros") + factor // 2) / factor
        )


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0008_appointment_summary_trigram"),
    ]

    operations = [
        migrations.RenameField(
            model_name="location", old_name="monthly_sms_budget_minor", new_name="monthly_sms_budget_micros"
        ),
        migrations.AlterField(
            model_name="location",
            name="monthly_sms_budget_micros",
            field=models.PositiveBigIntegerField(
                blank=True,
                help_text=(
                    "leer = unbegrenzt; ist es ausgeschöpft, geht die Erinnerung per E-Mail oder wartet"
                ),
                null=True,
                verbose_name="SMS-Budget pro Monat (Millionstel der Währung)",
            ),
        ),
        migrations.RunPython(minor_to_micros, micros_to_minor, elidable=False),
        migrations.AlterField(
            model_name="location",
            name="country",
            field=models.CharField(
                default="DE",
                help_text="ISO 3166, z. B. DE",
                max_length=2,
                validators=[alphasms.appointments.models.validate_country],
                verbose_name="Land",
            ),
        ),
    ]
