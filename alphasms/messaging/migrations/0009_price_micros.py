"""SMS prices, attempt costs and monthly usage in millionths of the currency (``*_micros``) instead of
minor units (cents): 0.075 € per part is 75000, no longer rounded to 8 cents (messaging/money.py).
Existing rows are converted set-based, one UPDATE per table and currency (cents × 10,000; a currency
with other minor units by its own factor); backwards, micros are rounded half up to minor units. The
price's country gets its ISO 3166-1 validator ("*" stays allowed)."""

from typing import Any

from babel.numbers import get_currency_precision
from django.db import migrations, models
from django.db.models import F

import alphasms.messaging.models

MICRO_DIGITS = 6
# (model, field) pairs converted; each model has a ``currency`` column.
AMOUNTS = (
    ("SmsPrice", "price_per_part_micros"),
    ("DeliveryAttempt", "cost_micros"),
    ("MonthlyUsage", "cost_micros"),
)


def _factor(currency: str) -> int:
    return int(10 ** (MICRO_DIGITS - int(get_currency_precision(currency or "EUR"))))


def _convert(apps: Any, forward: bool) -> None:
    for name, field in AMOUNTS:
        model = apps.get_model("messaging", name)
        for currency in set(model.objects.values_list("currency", flat=True).distinct()):
            factor = _factor(currency)
            value = F(field) * factor if forward else (F(field) + factor // 2) / factor
            model.objects.filter(**{"currency": currency, f"{field}__isnull": False}).update(**{field: value})


def minor_to_micros(apps: Any, schema_editor: Any) -> None:
    _convert(apps, forward=True)


def micros_to_minor(apps: Any, schema_editor: Any) -> None:
    _convert(apps, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0009_budget_micros"),
        ("messaging", "0008_message_log_and_todo_indexes"),
    ]

    operations = [
        migrations.RenameField(
            model_name="smsprice", old_name="price_per_part_minor", new_name="price_per_part_micros"
        ),
        migrations.RenameField(model_name="deliveryattempt", old_name="cost_minor", new_name="cost_micros"),
        migrations.RenameField(model_name="monthlyusage", old_name="cost_minor", new_name="cost_micros"),
        migrations.AlterField(
            model_name="smsprice",
            name="price_per_part_micros",
            field=models.PositiveBigIntegerField(verbose_name="Preis je SMS-Teil (Millionstel der Währung)"),
        ),
        migrations.AlterField(
            model_name="deliveryattempt",
            name="cost_micros",
            field=models.PositiveBigIntegerField(
                blank=True, null=True, verbose_name="Kosten (Millionstel der Währung)"
            ),
        ),
        migrations.AlterField(
            model_name="monthlyusage",
            name="cost_micros",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.RunPython(minor_to_micros, micros_to_minor, elidable=False),
        migrations.AlterField(
            model_name="smsprice",
            name="country",
            field=models.CharField(
                help_text="z. B. DE; * = alle übrigen",
                max_length=2,
                unique=True,
                validators=[alphasms.messaging.models.validate_price_country],
                verbose_name="Zielland",
            ),
        ),
    ]
