"""The dashboard: appointments of today and tomorrow in the location's time zone with their reminders,
the to-do list, the replies inbox and the month's SMS spend."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from alphasms.appointments.models import Channel
from alphasms.messaging.models import InboundMessage, MessageStatus, MonthlyUsage, OutboundMessage
from alphasms.testing.web import make_web_user, sign_in
from alphasms.web.roles import Role
from alphasms.web.services import dashboard
from tests.conftest import make_appointment, make_customer, make_rule

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 23:30 in Berlin: "today" is still 1 December there


def _message(appointment, rule, status, **kwargs) -> OutboundMessage:
    return OutboundMessage.objects.create(
        appointment=appointment,
        rule=rule,
        channel=rule.channel,
        customer=appointment.customer,
        recipient=appointment.customer.mobile_e164
        if rule.channel == Channel.SMS
        else appointment.customer.email,
        body="Hallo",
        occurrence_start_at=appointment.start_at,
        due_at=appointment.start_at - dt.timedelta(days=1),
        next_attempt_at=appointment.start_at - dt.timedelta(days=1),
        status=status,
        status_changed_at=NOW,
        **kwargs,
    )


def test_today_and_tomorrow_are_the_location_s_days_with_reminders_per_channel(location):
    sms, email = make_rule(Channel.SMS), make_rule(Channel.EMAIL, offset_s=48 * 3600)
    joerg = make_customer()
    today = make_appointment(location, joerg, dt.datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    after_midnight = make_appointment(location, joerg, dt.datetime(2026, 12, 1, 23, 15, tzinfo=UTC))
    make_appointment(location, joerg, dt.datetime(2026, 12, 2, 23, 15, tzinfo=UTC))  # the day after tomorrow
    _message(after_midnight, sms, MessageStatus.DELIVERED)
    _message(after_midnight, email, MessageStatus.FAILED, user_message="Postfach voll")

    board = dashboard.build(NOW)

    assert [day.date for day in board.days] == [dt.date(2026, 12, 1), dt.date(2026, 12, 2)]
    assert [row.appointment for row in board.days[0].rows] == [today]
    assert board.days[0].rows[0].channels == [("sms", []), ("email", [])]
    (row,) = board.days[1].rows
    assert row.appointment == after_midnight and row.local_start.hour == 0  # 00:15 in Berlin
    assert [(c, [r.status for r in rs]) for c, rs in row.channels] == [
        ("sms", ["delivered"]),
        ("email", ["failed"]),
    ]
    assert row.by_channel["email"][0].user_message == "Postfach voll"


def test_the_to_do_list_has_recent_failures_and_upcoming_people_with_unusable_numbers(location):
    sms = make_rule(Channel.SMS)
    joerg = make_customer()
    ayse = make_customer("1002", "Ayşe", "Öztürk", mobile="", email="")
    ayse.mobile_raw = "030 1234"  # a landline: no SMS
    ayse.save()
    nobody = make_customer("1003", "Kein", "Telefon", mobile="", email="")
    upcoming = make_appointment(location, joerg, NOW + dt.timedelta(days=1))
    long_ago = make_appointment(location, joerg, NOW - dt.timedelta(days=3))
    make_appointment(location, ayse, NOW + dt.timedelta(days=3))
    make_appointment(location, nobody, NOW + dt.timedelta(days=3))
    failed = _message(upcoming, sms, MessageStatus.UNDELIVERED)
    _message(long_ago, sms, MessageStatus.FAILED)
    _message(upcoming, make_rule(Channel.SMS, offset_s=3600, name="kurz"), MessageStatus.DELIVERED)

    board = dashboard.build(NOW)

    assert board.failed.items == [failed] and board.failed.total == 1
    assert board.numbers.items == [ayse] and board.numbers.total == 1
    assert board.todo_count == 2


def test_the_inbox_has_the_replies_nobody_handled(location):
    joerg = make_customer()
    common = {"gateway": "fake", "from_e164": joerg.mobile_e164, "outcome": "unknown", "customer": joerg}
    open_reply = InboundMessage.objects.create(
        text="Kann ich auf 10 Uhr verschieben?", received_at=NOW, dedupe_key="a", **common
    )
    InboundMessage.objects.create(text="JA", received_at=NOW, handled_at=NOW, dedupe_key="b", **common)
    assert dashboard.build(NOW).inbox.items == [open_reply]


def test_the_spend_is_this_month_s_against_the_budget(location):
    location.monthly_sms_budget_micros = 50_000_000
    location.save()
    MonthlyUsage.objects.create(
        location_id=location.pk,
        month=dt.date(2026, 12, 1),
        channel="sms",
        currency="EUR",
        cost_micros=12_337_500,  # 164.5 parts' worth at 0.075 €: 12.3375 €
    )
    MonthlyUsage.objects.create(
        location_id=location.pk,
        month=dt.date(2026, 11, 1),
        channel="sms",
        currency="EUR",
        cost_micros=9_990_000,
    )
    (spend,) = dashboard.build(NOW).spend
    assert (spend.spent_micros, spend.budget_micros, spend.percent) == (12_337_500, 50_000_000, 25)


def test_the_page_shows_it_all_in_german_and_english(location, time_machine):
    time_machine.move_to(NOW, tick=False)
    location.monthly_sms_budget_micros = 50_000_000
    location.save()
    MonthlyUsage.objects.create(
        location_id=location.pk,
        month=dt.date(2026, 12, 1),
        channel="sms",
        currency="EUR",
        cost_micros=12_337_500,
    )  # 12.3375 €: shown rounded to cents
    joerg = make_customer()
    appointment = make_appointment(location, joerg, NOW + dt.timedelta(hours=12))
    _message(appointment, make_rule(Channel.SMS), MessageStatus.FAILED, user_message="Nummer ungültig")
    InboundMessage.objects.create(
        gateway="fake",
        from_e164="+4915112345678",
        text="Wer ist da?",
        received_at=NOW,
        outcome="unknown",
        dedupe_key="x",
    )
    staff = make_web_user(Role.STAFF)
    german = sign_in(Client(headers={"accept-language": "de"}), staff).get("/").content.decode()
    assert "Jörg Bäcker" in german and "fehlgeschlagen" in german and "Nummer ungültig" in german
    assert "Wer ist da?" in german and "unbekannter Absender" in german
    assert "12,34\xa0€ von 50,00\xa0€" in german
    english = sign_in(Client(headers={"accept-language": "en"}), staff).get("/").content.decode()
    assert "€12.34 of €50.00" in english and "failed" in english and "Tomorrow" in english


def test_the_dashboard_needs_no_query_per_appointment(location, django_assert_max_num_queries):
    rule = make_rule(Channel.SMS)
    for index in range(30):
        customer = make_customer(str(2000 + index), mobile=f"+49151123{index:05d}")
        _message(
            make_appointment(location, customer, timezone.now() + dt.timedelta(hours=1)), rule, "planned"
        )
    client = Client()
    sign_in(client, make_web_user(Role.STAFF))
    client.get("/")
    with django_assert_max_num_queries(20):
        assert client.get("/").status_code == 200
