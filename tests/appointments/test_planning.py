"""Reminder planning: one message per (occurrence, rule, channel), sending windows, DST, consent."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alphasms.appointments.models import AppointmentStatus, Channel
from alphasms.appointments.services.planning import next_window_opening, plan, shift_into_window
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.privacy.services import withdraw
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_it_plans_one_message_per_rule_and_channel_and_never_a_second(alphasms_settings, location):
    customer = make_customer()
    make_rule(Channel.SMS)
    make_rule(Channel.EMAIL, offset_s=48 * 3600)
    make_appointment(location, customer, dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC))
    assert plan(NOW).created == 2
    assert plan(NOW).created == 0
    assert OutboundMessage.objects.count() == 2
    sms = OutboundMessage.objects.get(channel=Channel.SMS)
    assert sms.recipient == "+4915112345678"
    assert sms.body == "Hallo Jörg, Termin Fr., 4. Dez. 2026 um 14:30 Uhr."
    assert sms.due_at == dt.datetime(2026, 12, 3, 13, 30, tzinfo=UTC)
    assert (sms.encoding, sms.segments) == ("GSM-7", 1)
    email = OutboundMessage.objects.get(channel=Channel.EMAIL)
    assert email.subject == "Termin am Fr., 4. Dez. 2026"
    assert email.due_at == dt.datetime(2026, 12, 2, 13, 30, tzinfo=UTC)


def test_it_renders_an_english_template_in_english(alphasms_settings, location):
    customer = make_customer(language="en")
    make_rule(body_template="{salutation}: {weekday}", body_template_en="{salutation}: {weekday}, {time}")
    make_appointment(location, customer, dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC))
    plan(NOW)
    assert OutboundMessage.objects.get().body == "Hello Jörg Bäcker: Friday, 2:30 PM"


def test_it_plans_nothing_without_consent_or_when_restricted(alphasms_settings, location):
    no_consent = make_customer(number="1", consent=())
    restricted = make_customer(number="2")
    restricted.restricted_at = NOW
    restricted.save()
    email_only = make_customer(number="3", consent=("email",))
    make_rule(Channel.SMS)
    for customer in (no_consent, restricted, email_only):
        make_appointment(location, customer, dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC))
    assert plan(NOW).created == 0


def test_it_plans_nothing_for_landlines_or_unmatched_events(alphasms_settings, location):
    landline = make_customer(number="1", mobile="")
    make_rule(Channel.SMS)
    make_appointment(location, landline, dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC))
    make_appointment(location, None, dt.datetime(2026, 12, 4, 14, 30, tzinfo=UTC))
    assert plan(NOW).created == 0


def test_people_who_cannot_be_reminded_cost_no_query_per_appointment(alphasms_settings, location):
    make_rule(Channel.SMS)
    make_rule(Channel.EMAIL, offset_s=48 * 3600)
    start = dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)
    make_appointment(location, make_customer(), start)
    assert plan(NOW).created == 2

    def queries_of_a_second_run() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert plan(NOW).created == 0
        return len(captured.captured_queries)

    before = queries_of_a_second_run()
    for number in range(10):  # no consent, a landline, withdrawn consent: never a message
        make_appointment(location, make_customer(number=f"n{number}", consent=()), start)
        make_appointment(location, make_customer(number=f"l{number}", mobile="", email=""), start)
        withdrawn = make_customer(number=f"w{number}")
        withdraw(withdrawn, Channel.SMS, source="reply")
        withdraw(withdrawn, Channel.EMAIL, source="reply")
        make_appointment(location, withdrawn, start)
    assert queries_of_a_second_run() == before


def test_it_replans_a_pending_message_when_the_appointment_moves(alphasms_settings, location):
    customer = make_customer()
    make_rule()
    appointment = make_appointment(location, customer, dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC))
    plan(NOW)
    appointment.start_at = dt.datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    appointment.save()
    assert plan(NOW).replanned == 1
    message = OutboundMessage.objects.get()
    assert message.occurrence_start_at == appointment.start_at
    assert message.due_at == dt.datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    assert "Sa., 5. Dez. 2026 um 10:00 Uhr" in message.body


def test_it_cancels_pending_messages_of_a_cancelled_appointment(alphasms_settings, location):
    customer = make_customer()
    make_rule()
    appointment = make_appointment(location, customer, dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC))
    plan(NOW)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save()
    assert plan(NOW).cancelled == 1
    assert OutboundMessage.objects.get().status == MessageStatus.CANCELLED


def test_withdrawing_consent_cancels_pending_messages_at_once(alphasms_settings, location):
    customer = make_customer()
    make_rule()
    make_appointment(location, customer, dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC))
    plan(NOW)
    assert withdraw(customer, "sms", source="staff") == 1
    assert OutboundMessage.objects.get().status == MessageStatus.CANCELLED
    assert plan(NOW).created == 0


@pytest.mark.parametrize(
    ("due_local", "start_local", "expected_local"),
    [
        # inside the window: unchanged
        ((2026, 12, 3, 14, 30), (2026, 12, 4, 14, 30), (2026, 12, 3, 14, 30)),
        # before the window opens, opening still before the start: the same day's opening
        ((2026, 12, 3, 7, 0), (2026, 12, 4, 7, 0), (2026, 12, 3, 8, 0)),
        # before the window, opening is after the start (2 h reminder for 07:30): previous evening
        ((2026, 12, 4, 5, 30), (2026, 12, 4, 7, 30), (2026, 12, 3, 20, 0)),
        # after the window closes: that day's closing
        ((2026, 12, 3, 21, 15), (2026, 12, 4, 21, 15), (2026, 12, 3, 20, 0)),
        # DST spring forward (29 March 2026, 02:00 → 03:00 in Berlin): 20:00 CEST is 18:00Z
        ((2026, 3, 29, 21, 0), (2026, 3, 30, 21, 0), (2026, 3, 29, 20, 0)),
    ],
)
def test_shift_into_window(alphasms_settings, due_local, start_local, expected_local):
    rule = make_rule()
    due = dt.datetime(*due_local, tzinfo=BERLIN).astimezone(UTC)
    start = dt.datetime(*start_local, tzinfo=BERLIN).astimezone(UTC)
    shifted = shift_into_window(due, start, rule, BERLIN)
    assert shifted == dt.datetime(*expected_local, tzinfo=BERLIN).astimezone(UTC)
    assert shifted.tzinfo == UTC


def test_a_24_hour_reminder_across_dst_keeps_the_local_time(alphasms_settings, location):
    # Monday 30 March 2026 10:00 CEST; 24 elapsed hours before is Sunday 10:00 CEST (08:00Z), after the
    # jump, so the local hour stays 10.
    customer = make_customer()
    make_rule()
    start = dt.datetime(2026, 3, 30, 10, 0, tzinfo=BERLIN).astimezone(UTC)
    make_appointment(location, customer, start)
    plan(dt.datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    message = OutboundMessage.objects.get()
    assert message.due_at == start - dt.timedelta(hours=24)
    assert message.due_at.astimezone(BERLIN).hour == 10


def test_next_window_opening(alphasms_settings):
    rule = make_rule()
    inside = dt.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert next_window_opening(inside, rule, BERLIN) is None
    night = dt.datetime(2026, 12, 3, 22, 0, tzinfo=UTC)  # 23:00 local
    assert next_window_opening(night, rule, BERLIN) == dt.datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    early = dt.datetime(2026, 12, 3, 5, 0, tzinfo=UTC)  # 06:00 local
    assert next_window_opening(early, rule, BERLIN) == dt.datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


def test_a_late_import_is_due_at_once_or_at_the_next_window_opening(alphasms_settings, location):
    customer = make_customer()
    make_rule()  # 24 h before, window 08:00-20:00
    soon = make_appointment(location, customer, dt.datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    early = make_appointment(location, customer, dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    night = dt.datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 06:00 local: window opens at 07:00Z
    plan(dt.datetime(2026, 12, 1, 10, 0, 30, tzinfo=UTC))
    assert soon.messages.get().due_at == dt.datetime(2026, 12, 1, 10, 0, 30, tzinfo=UTC)
    OutboundMessage.objects.all().delete()
    plan(night)
    assert soon.messages.get().due_at == dt.datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert early.messages.get().due_at == dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_the_sender_follows_the_destination_rules(alphasms_settings, location):
    alphasms_settings.update(SMS_SENDER_ID="Praxis", SMS_SENDER_NUMBER="+4915112340000")
    make_rule()
    start = dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)
    make_appointment(location, make_customer(number="de"), start)
    make_appointment(location, make_customer(number="at", mobile="+436641234567"), start)
    plan(NOW)
    german = OutboundMessage.objects.get(customer__customer_number="de")
    austrian = OutboundMessage.objects.get(customer__customer_number="at")
    assert (german.sender_id, german.user_message) == ("Praxis", "")
    assert austrian.sender_id == "+4915112340000"  # Austria delivers only registered names
    assert "AT" in austrian.user_message and austrian.status == MessageStatus.PLANNED


def test_a_destination_no_configured_sender_may_use_is_held_for_staff(alphasms_settings, location):
    alphasms_settings.update(SMS_SENDER_ID="Praxis", SMS_SENDER_NUMBER="")
    make_rule()
    make_appointment(
        location, make_customer(mobile="+12025550143"), dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)
    )
    plan(NOW)
    message = OutboundMessage.objects.get()
    assert (message.status, message.error_code) == (MessageStatus.HELD, "sender_not_allowed")
    assert "Absendernummer" in message.user_message


def test_invalid_sender_settings_are_system_check_errors(alphasms_settings):
    from alphasms.messaging.checks import check_messaging_settings

    assert check_messaging_settings() == []
    alphasms_settings.update(SMS_SENDER_ID="Praxis Sonnenhof", SMS_SENDER_NUMBER="Praxis", SMS_GATEWAY="nope")
    assert [e.id for e in check_messaging_settings()] == [
        "messaging.E001",
        "messaging.E002",
        "messaging.E003",
    ]


def test_an_english_customer_gets_the_english_text_or_else_all_german(alphasms_settings, location):
    english = make_customer(number="en", language="en")
    make_rule(body_template="{salutation}, Termin {date} um {time}.")
    make_appointment(location, english, dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC))
    plan(NOW)
    assert (
        OutboundMessage.objects.get().body == "Guten Tag Jörg Bäcker, Termin Fr., 4. Dez. 2026 um 14:30 Uhr."
    )
    OutboundMessage.objects.all().delete()
    rule = make_rule(
        body_template="{salutation}, Termin {date}.", body_template_en="{salutation}, see you {date}."
    )
    plan(NOW)
    assert OutboundMessage.objects.get(rule=rule).body == "Hello Jörg Bäcker, see you Fri, Dec 4, 2026."
