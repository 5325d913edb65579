"""SMS cost per message, per run and per month, and the monthly budget with its e-mail fallback."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from alphasms.appointments.models import Channel
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.fake.gateway import FakeGateway
from alphasms.messaging.models import DeliveryAttempt, MessageStatus, OutboundMessage, SmsPrice
from alphasms.messaging.services.cost import month_spend_minor, month_start, run_totals, sms_cost
from alphasms.messaging.services.dispatch import Dispatcher
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)
DUE = dt.datetime(2026, 12, 3, 13, 30, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def prices(db):
    SmsPrice.objects.create(country="DE", price_per_part_minor=8, currency="EUR")
    SmsPrice.objects.create(country="*", price_per_part_minor=12, currency="EUR")


def test_the_cost_of_a_message_is_parts_times_the_destination_price(prices):
    assert sms_cost("+4915112345678", 2).minor == 16
    assert sms_cost("+436641234567", 1).minor == 12  # Austria: the "*" row
    SmsPrice.objects.all().delete()
    assert sms_cost("+4915112345678", 1) is None


def test_run_totals_count_messages_parts_and_cost(alphasms_settings, location, prices):
    make_rule(Channel.SMS, body_template="x" * 200)  # 2 parts
    make_rule(Channel.EMAIL, offset_s=48 * 3600)
    make_appointment(location, make_customer(), START)
    make_appointment(location, make_customer(number="2", mobile="+436641234567", email=""), START)
    plan(DUE - dt.timedelta(days=2))
    totals = run_totals(OutboundMessage.objects.all())
    assert (totals.messages, totals.sms, totals.emails, totals.parts) == (3, 2, 1, 4)
    assert totals.cost_minor == {"EUR": 2 * 8 + 2 * 12}


def test_a_sent_attempt_keeps_its_cost_and_counts_for_the_month(alphasms_settings, location, prices):
    make_rule()
    make_appointment(location, make_customer(), START)
    plan(DUE - dt.timedelta(days=1))
    with time_machine.travel(DUE, tick=False):
        Dispatcher("w").run_once()
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.cost_minor, attempt.currency) == (8, "EUR")
    SmsPrice.objects.filter(country="DE").update(price_per_part_minor=99)  # later price changes
    assert month_spend_minor(location, DUE) == 8
    assert (
        month_spend_minor(location, dt.datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) == 0
    )  # 01:00 local: new month


def test_the_month_is_the_locations_local_month():
    from alphasms.appointments.models import Location

    berlin = Location(name="x", time_zone="Europe/Berlin")
    assert month_start(berlin, dt.datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == dt.datetime(
        2026, 11, 30, 23, 0, tzinfo=UTC
    )


def spend_budget(location, minor):
    location.monthly_sms_budget_minor = minor
    location.save()


def test_over_budget_the_reminder_goes_by_email_where_the_person_consented(
    alphasms_settings, location, prices
):
    spend_budget(location, 5)  # less than one part
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
    spend_budget(location, 5)
    make_rule()
    make_appointment(location, make_customer(email=""), START)
    plan(DUE - dt.timedelta(days=1))
    with time_machine.travel(DUE, tick=False):
        assert Dispatcher("w").run_once().outcomes == {"held": 1}
    message = OutboundMessage.objects.get()
    assert (message.status, message.error_code) == (MessageStatus.HELD, "budget_exhausted")
    assert message.user_message.startswith("Das SMS-Budget des Standorts")


def test_within_budget_the_sms_goes_out(alphasms_settings, location, prices):
    spend_budget(location, 8)
    make_rule()
    make_appointment(location, make_customer(), START)
    plan(DUE - dt.timedelta(days=1))
    with time_machine.travel(DUE, tick=False):
        assert Dispatcher("w").run_once().outcomes == {"sent": 1}
    assert len(FakeGateway.outbox) == 1
