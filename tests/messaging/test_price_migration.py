"""The migrations from cents to micros (``appointments`` 0009, ``messaging`` 0009) convert existing rows:
forward cents × 10,000 (a yen × 1,000,000: JPY has no minor unit), backward rounded half up to cents."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from alphasms.appointments.models import Location
from alphasms.messaging.models import DeliveryAttempt, MonthlyUsage, OutboundMessage, SmsPrice
from tests.conftest import make_appointment, make_customer, make_rule

OLD = [
    ("appointments", "0008_appointment_summary_trigram"),
    ("messaging", "0008_message_log_and_todo_indexes"),
]
START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=dt.UTC)


def _migrate(targets: list[tuple[str, str]] | None = None) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


def _rows(sql: str) -> list[Any]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return sorted(cursor.fetchall())


def _attempt(location: Location) -> DeliveryAttempt:
    appointment = make_appointment(location, make_customer(), START)
    message = OutboundMessage.objects.create(
        appointment=appointment,
        rule=make_rule(),
        channel="sms",
        customer=appointment.customer,
        recipient="+4915112345678",
        body="x",
        segments=3,
        occurrence_start_at=START,
        due_at=START,
        next_attempt_at=START,
        status_changed_at=START,
    )
    return DeliveryAttempt.objects.create(
        message=message, gateway="fake", started_at=START, segments=3, cost_micros=225_000, currency="EUR"
    )


@pytest.mark.django_db(transaction=True)
def test_cents_become_micros_and_back(alphasms_settings):
    berlin = Location.objects.create(name="Berlin", monthly_sms_budget_micros=24_775_000)
    tokyo = Location.objects.create(
        name="Tokio",
        time_zone="Asia/Tokyo",
        country="JP",
        monthly_sms_budget_micros=3_000_000_000,
        budget_currency="JPY",
    )
    Location.objects.create(name="Ohne Budget")
    SmsPrice.objects.create(country="DE", price_per_part_micros=75_000, currency="EUR")
    SmsPrice.objects.create(country="JP", price_per_part_micros=3_000_000, currency="JPY")
    MonthlyUsage.objects.create(
        location_id=berlin.pk, month=dt.date(2026, 12, 1), channel="sms", currency="EUR", cost_micros=224_999
    )
    MonthlyUsage.objects.create(location_id=tokyo.pk, month=dt.date(2026, 12, 1), channel="email")
    _attempt(berlin)
    try:
        _migrate(OLD)  # backwards: micros → minor units, half up
        assert _rows("SELECT name, monthly_sms_budget_minor FROM appointments_location") == [
            ("Berlin", 2478),  # 24.775 € → 24.78 €
            ("Ohne Budget", None),
            ("Tokio", 3000),  # yen
        ]
        assert _rows("SELECT country, price_per_part_minor FROM messaging_smsprice") == [("DE", 8), ("JP", 3)]
        assert _rows("SELECT currency, cost_minor FROM messaging_monthlyusage") == [("", 0), ("EUR", 22)]
        assert _rows("SELECT cost_minor FROM messaging_deliveryattempt") == [(23,)]
        with connection.cursor() as cursor:  # what an installation before the fix holds
            cursor.execute("UPDATE messaging_smsprice SET price_per_part_minor = 9 WHERE country = 'DE'")
            cursor.execute(
                "UPDATE appointments_location SET monthly_sms_budget_minor = 2500 WHERE name = 'Berlin'"
            )
    finally:
        _migrate()  # forwards again: minor units → micros
    assert dict(Location.objects.values_list("name", "monthly_sms_budget_micros")) == {
        "Berlin": 25_000_000,
        "Tokio": 3_000_000_000,
        "Ohne Budget": None,
    }
    assert dict(SmsPrice.objects.values_list("country", "price_per_part_micros")) == {
        "DE": 90_000,
        "JP": 3_000_000,
    }
    assert sorted(MonthlyUsage.objects.values_list("currency", "cost_micros")) == [("", 0), ("EUR", 220_000)]
    assert DeliveryAttempt.objects.get().cost_micros == 230_000
