"""SMS cost per message, per run and per month, and the monthly budget with its e-mail fallback.

Prices are fractions of a cent (0.075 € per part, as seven.io charges): every amount is exact, in micros
(millionths of the currency), never rounded to cents before it is shown."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from alphasms.appointments.models import Channel
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.fake.gateway import FakeGateway
from alphasms.messaging.models import DeliveryAttempt, MessageStatus, MonthlyUsage, OutboundMessage, SmsPrice
from alphasms.messaging.services.cost import Cost, month_spend_micros, month_start, run_totals, sms_cost
from alphasms.messaging.services.dispatch import Dispatcher
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)
DUE = dt.datetime(2026, 12, 3, 13, 30, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def prices(db):
    SmsPrice.objects.create(country="DE", price_per_part_micros=75_000, currency="EUR")  # 0.075 €
    SmsPrice.objects.create(country="*", price_per_part_micros=120_000, currency="EUR")  # 0.12 €


def test_the_cost_of_a_message_is_parts_times_the_destination_price(prices):
    assert sms_cost("+4915112345678", 2) == Cost(150_000, "EUR")
    assert sms_cost("+436641234567", 1) == Cost(120_000, "EUR")  # Austria: the "*" row
    SmsPrice.objects.all().delete()
    assert sms_cost("+4915112345678", 1) is None


def test_three_parts_at_a_fractional_cent_price_cost_exactly_0_225(prices):
    assert sms_cost("+4915112345678", 3) == Cost(225_000, "EUR")  # 0.225 €, not 3 × 8 cents


def test_run_totals_count_messages_parts_and_cost(alphasms_settings, location, prices):
    make_rule(Channel.SMS, body_template="x" * 200)  # 2 parts
    make_rule(Channel.EMAIL, offset_s=48 * 3600)
    make_appointment(location, make_customer(), START)
    make_appointment(location, make_customer(number="2", mobile="+436641234567", email=""), START)
    plan(DUE - dt.timedelta(days=2))
    totals = run_totals(OutboundMessage.objects.all())
    assert (totals.messages, totals.sms, totals.emails, totals.parts) == (3, 2, 1, 4)
    assert totals.cost_micros == {"EUR": 2 * 75_000 + 2 * 120_000}  # 0.39 € exactly


def test_a_sent_attempt_keeps_its_cost_and_counts_for_the_month(alphasms_settings, location, prices):
    make_rule()
    make_appointment(location, make_customer(), START)
    plan(DUE - dt.timedelta(days=1))
    with time_machine.travel(DUE, tick=False):
        Dispatcher("w").run_once()
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.cost_micros, attempt.currency) == (75_000, "EUR")
    SmsPrice.objects.filter(country="DE").update(price_per_part_micros=990_000)  # later price changes
    assert month_spend_micros(location, DUE) == 75_000
    assert (
        month_spend_micros(location, dt.datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) == 0
    )  # 01:00 local: new month


def test_the_month_is_the_locations_local_month():
    from alphasms.appointments.models import Location

    berlin = Location(name="x", time_zone="Europe/Berlin")
    assert month_start(berlin, dt.datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == dt.datetime(
        2026, 11, 30, 23, 0, tzinfo=UTC
    )


def spend_budget(location, micros, spent_micros=0):
    location.monthly_sms_budget_micros = micros
    location.save()
    if spent_micros:
        MonthlyUsage.objects.create(
            location_id=location.pk,
            month=dt.date(2026, 12, 1),
            channel="sms",
            currency="EUR",
            cost_micros=spent_micros,
        )


def test_over_budget_the_reminder_goes_by_email_where_the_person_consented(
    alphasms_settings, location, prices
):
    spend_budget(location, 74_999)  # a millionth of a euro less than one part
    make_rule(body_template="Hallo {given_name}, Termin {date}")
    make_appointment(location, make_customer(), START)
    plan(DUE - dt.timedelta(days=1))
    with time_machine.travel(DUE, tick=False):
        sent_mail: list[tuple[str, str]] = []
        dispatcher = Dispatcher(
            "w", send_email=lambda m, ref: sent_mail.append((m.recipient, m.subject)) or "<id>"
        )
        assert dispatcher.run_once().outcomes == {"sent": 1}
    assert FakeGateway.outbox == []
    assert sent_mail == [("joerg@example.org", "Terminerinnerung")]
    message = OutboundMessage.objects.get()
    assert (message.channel, message.status) == (Channel.EMAIL, MessageStatus.SENT)
    assert "budget" in " ".join(message.events.values_list("note", flat=True))


def test_over_budget_without_an_email_address_the_sms_is_held_for_staff(alphasms_settings, location, prices):
    spend_budget(location, 74_999)
    make_rule()
    make_appointment(location, make_customer(email=""), START)
    plan(DUE - dt.timedelta(days=1))
    with time_machine.travel(DUE, tick=False):
        assert Dispatcher("w").run_once().outcomes == {"held": 1}
    message = OutboundMessage.objects.get()
    assert (message.status, message.error_code) == (MessageStatus.HELD, "budget_exhausted")
    assert message.user_message.startswith("Das SMS-Budget des Standorts")


def test_within_budget_the_sms_goes_out(alphasms_settings, location, prices):
    spend_budget(location, 75_000)  # exactly one part's price: the budget is reached, not exceeded
    make_rule()
    make_appointment(location, make_customer(), START)
    plan(DUE - dt.timedelta(days=1))
    with time_machine.travel(DUE, tick=False):
        assert Dispatcher("w").run_once().outcomes == {"sent": 1}
    assert len(FakeGateway.outbox) == 1
    assert month_spend_micros(location, DUE) == 75_000


THREE_PARTS = "Hallo {given_name}, " + "x" * 440  # GSM-7, 3 parts of 153


def test_a_three_part_sms_that_brings_the_spend_to_exactly_the_budget_goes_out(
    alphasms_settings, location, prices
):
    spend_budget(location, 25_000_000, spent_micros=24_775_000)  # 24.775 € + 0.225 € = 25.00 €
    make_rule(body_template=THREE_PARTS)
    make_appointment(location, make_customer(email=""), START)
    plan(DUE - dt.timedelta(days=1))
    assert OutboundMessage.objects.get().segments == 3
    with time_machine.travel(DUE, tick=False):
        assert Dispatcher("w").run_once().outcomes == {"sent": 1}
    assert DeliveryAttempt.objects.get().cost_micros == 225_000
    assert month_spend_micros(location, DUE) == 25_000_000


def test_a_three_part_sms_one_millionth_over_the_budget_is_held(alphasms_settings, location, prices):
    spend_budget(location, 25_000_000, spent_micros=24_775_001)
    make_rule(body_template=THREE_PARTS)
    make_appointment(location, make_customer(email=""), START)
    plan(DUE - dt.timedelta(days=1))
    with time_machine.travel(DUE, tick=False):
        assert Dispatcher("w").run_once().outcomes == {"held": 1}
    assert OutboundMessage.objects.get().error_code == "budget_exhausted"
    assert month_spend_micros(location, DUE) == 24_775_001
