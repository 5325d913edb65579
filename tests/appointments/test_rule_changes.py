"""Editing a rule: its reminders that no provider has been handed yet follow it (new text, due time,
channel), a rule switched off cancels them with a StatusEvent, and sending or sent ones stay untouched."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from alphasms.appointments.models import AppointmentType, Channel, ReminderRule
from alphasms.appointments.services.planning import create_missing, plan, rule_state
from alphasms.appointments.services.rule_changes import NOTE, replan_rule
from alphasms.messaging.models import MessageStatus, OutboundMessage, StatusEvent
from alphasms.messaging.services.dispatch import Dispatcher
from alphasms.messaging.services.hold import HELD_BY_STAFF, hold, release
from alphasms.privacy.services import withdraw
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)  # Fri 14:30 Berlin
DUE = dt.datetime(2026, 12, 3, 13, 30, tzinfo=UTC)  # 24 h before

pytestmark = pytest.mark.django_db


def edit(rule: ReminderRule, **values: object) -> object:
    """Save ``values`` on ``rule`` and re-plan as the editor does (state before, save, replan)."""
    before = rule_state(ReminderRule.objects.get(pk=rule.pk))
    for name, value in values.items():
        setattr(rule, name, value)
    rule.save()
    return replan_rule(rule, now=NOW, before=before)


def notes(message: OutboundMessage) -> list[str]:
    return list(StatusEvent.objects.filter(message=message).values_list("note", flat=True))


@pytest.fixture
def five(alphasms_settings, location):
    """One rule and five of its messages: planned, queued (released), held by staff, sent, failed."""
    rule = make_rule()
    for n in range(5):
        customer = make_customer(number=f"c{n}", given=f"Name{n}")
        make_appointment(location, customer, START + dt.timedelta(hours=n))
    plan(NOW)
    messages = list(OutboundMessage.objects.order_by("occurrence_start_at"))
    _, queued, held, sent, failed = messages
    OutboundMessage.objects.filter(pk=queued.pk).update(status=MessageStatus.QUEUED)
    hold(held.pk, actor_id=7, now=NOW)
    OutboundMessage.objects.filter(pk=sent.pk).update(status=MessageStatus.SENT)
    OutboundMessage.objects.filter(pk=failed.pk).update(status=MessageStatus.FAILED)
    return rule, [OutboundMessage.objects.get(pk=m.pk) for m in messages]


class TestText:
    def test_a_new_text_reaches_pending_messages_and_leaves_sent_ones(self, five):
        rule, (planned, queued, held, sent, failed) = five
        result = edit(rule, body_template="Neu: {given_name} am {date} um {time}.")
        assert (result.rerendered, result.cancelled, result.created) == (3, 0, 0)
        for message in (planned, queued, held):
            message.refresh_from_db()
            assert message.body.startswith(f"Neu: {message.customer.given_name} am Fr., 4. Dez. 2026 um ")
            assert notes(message)[-1] == f"{NOTE}re-planned (text)"
        assert (planned.status, queued.status, held.status) == ("planned", "queued", "held")
        assert (held.error_code, held.user_message) == (HELD_BY_STAFF, "Vom Team zurückgehalten.")
        for message in (sent, failed):
            before = message.body
            message.refresh_from_db()
            assert message.body == before and message.body.startswith("Hallo ")
            assert notes(message) == []

    def test_a_released_hold_sends_the_new_text(self, five):
        rule, (_, _, held, _, _) = five
        edit(rule, body_template="Bitte kommen Sie am {date}.")
        message = release(held.pk, actor_id=7, now=NOW)
        assert message.status == MessageStatus.PLANNED
        assert message.body == "Bitte kommen Sie am Fr., 4. Dez. 2026."

    def test_the_english_text_reaches_english_speakers(self, alphasms_settings, location):
        rule = make_rule()
        make_appointment(location, make_customer(language="en"), START)
        plan(NOW)
        edit(rule, body_template_en="See you on {weekday}, {given_name}.")
        assert OutboundMessage.objects.get().body == "See you on Friday, Jörg."

    def test_a_longer_text_counts_its_parts_again(self, five):
        rule, (planned, *_) = five
        edit(rule, body_template="{given_name} " + "x" * 200 + " 🙂")
        planned.refresh_from_db()
        assert (planned.encoding, planned.segments) == ("UCS-2", 4)

    def test_a_name_only_change_changes_no_message(self, five):
        rule, (planned, *_) = five
        events = StatusEvent.objects.count()
        result = edit(rule, name="Anders", unknown_outcome_policy="hold", attach_ics=True)
        assert (result.rerendered, result.cancelled, result.revived, result.created) == (0, 0, 0, 0)
        assert StatusEvent.objects.count() == events
        planned.refresh_from_db()
        assert planned.body.startswith("Hallo Name0")


class TestTime:
    def test_a_new_offset_moves_the_due_instant(self, five):
        rule, (planned, queued, held, sent, _) = five
        result = edit(rule, offset_s=48 * 3600)
        assert result.rerendered == 3
        for n, message in enumerate((planned, queued, held)):
            message.refresh_from_db()
            expected = DUE - dt.timedelta(days=1) + dt.timedelta(hours=n)
            assert (message.due_at, message.next_attempt_at) == (expected, expected)
            assert notes(message)[-1] == f"{NOTE}re-planned (due {expected:%Y-%m-%dT%H:%MZ})"
        sent_due = sent.due_at
        sent.refresh_from_db()
        assert sent.due_at == sent_due == DUE + dt.timedelta(hours=3)

    def test_a_new_sending_window_moves_the_due_instant_into_it(self, five):
        rule, (planned, *_) = five
        edit(rule, window_start=dt.time(16, 0), window_end=dt.time(19, 0))
        planned.refresh_from_db()
        # 14:30 Berlin the day before is before 16:00: the window's opening that day (15:00 UTC).
        assert planned.due_at == dt.datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
        assert planned.next_attempt_at == planned.due_at

    def test_a_message_tried_before_waits_for_its_retry(self, alphasms_settings, location):
        rule = make_rule()
        make_appointment(location, make_customer(), START)
        plan(NOW)
        retry_at = DUE + dt.timedelta(minutes=5)
        OutboundMessage.objects.update(
            status=MessageStatus.RETRY_WAIT, attempt_count=1, next_attempt_at=retry_at
        )
        edit(rule, offset_s=23 * 3600)
        message = OutboundMessage.objects.get()
        assert message.due_at == DUE + dt.timedelta(hours=1)
        assert message.next_attempt_at == DUE + dt.timedelta(hours=1)
        edit(rule, offset_s=25 * 3600)
        message.refresh_from_db()
        assert (message.due_at, message.next_attempt_at) == (
            DUE - dt.timedelta(hours=1),
            DUE + dt.timedelta(hours=1),
        )


class TestSwitchingOff:
    def test_a_rule_switched_off_cancels_pending_messages_with_a_status_event(self, five):
        rule, (planned, queued, held, sent, failed) = five
        result = edit(rule, active=False)
        assert (result.cancelled, result.rerendered) == (3, 0)
        for message, was in ((planned, "planned"), (queued, "queued"), (held, "held")):
            message.refresh_from_db()
            assert message.status == MessageStatus.CANCELLED
            assert notes(message)[-1] == f"{NOTE}switched off (was {was})"
            assert message.events.last().status == MessageStatus.CANCELLED
        sent.refresh_from_db()
        failed.refresh_from_db()
        assert (sent.status, failed.status) == ("sent", "failed")
        assert OutboundMessage.objects.count() == 5  # history kept
        assert plan(NOW).created == 0  # the planner plans nothing for a rule that is off

    def test_switched_on_again_the_messages_come_back_and_a_hold_stays_a_hold(self, five):
        rule, (planned, queued, held, _, _) = five
        edit(rule, active=False)
        result = edit(rule, active=True, body_template="Wieder da, {given_name}.")
        assert (result.revived, result.created) == (3, 0)
        planned.refresh_from_db()
        queued.refresh_from_db()
        held.refresh_from_db()
        assert (planned.status, queued.status, held.status) == ("planned", "planned", "held")
        assert held.error_code == HELD_BY_STAFF
        assert planned.body == "Wieder da, Name0." and planned.next_attempt_at == DUE
        assert notes(planned)[-1] == f"{NOTE}covered again"
        assert plan(NOW).created == 0 and OutboundMessage.objects.count() == 5

    def test_a_message_cancelled_for_another_reason_stays_cancelled(self, alphasms_settings, location):
        rule = make_rule()
        customer = make_customer()
        make_appointment(location, customer, START)
        plan(NOW)
        edit(rule, active=False)
        withdraw(customer, Channel.SMS, source="reply")  # consent gone while the rule was off
        assert edit(rule, active=True).revived == 0
        assert OutboundMessage.objects.get().status == MessageStatus.CANCELLED

    def test_deleting_a_rule_with_messages_is_refused_and_keeps_its_history(self, five):
        rule, _ = five
        with pytest.raises(ProtectedError):
            rule.delete()
        assert OutboundMessage.objects.filter(rule=rule).count() == 5


class TestConcurrency:
    def test_a_message_being_sent_is_not_touched(self, five):
        rule, (planned, *_) = five
        with time_machine.travel(DUE, tick=False):
            assert Dispatcher("w1").claim(DUE, 1) == [planned.pk]
        events = notes(planned)
        edit(rule, body_template="Neu {date}", offset_s=3600, active=True)
        planned.refresh_from_db()
        assert planned.status == MessageStatus.SENDING and planned.claimed_by == "w1"
        assert planned.body.startswith("Hallo Name0") and planned.due_at == DUE
        assert notes(planned) == events
        edit(rule, active=False)
        planned.refresh_from_db()
        assert planned.status == MessageStatus.SENDING

    def test_a_planner_run_that_read_the_old_rule_inserts_nothing(self, alphasms_settings, location):
        rule = make_rule()
        stale = ReminderRule.objects.get(pk=rule.pk)
        edit(rule, body_template="Neu: {date}")  # saved while the planner was building from ``stale``
        make_appointment(location, make_customer(), START)
        assert create_missing(stale, NOW) == 0
        assert plan(NOW).created == 1
        assert OutboundMessage.objects.get().body == "Neu: Fr., 4. Dez. 2026"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks; SQLite serialises whole write transactions"
)
def test_a_worker_claiming_during_a_rule_save_skips_the_messages_being_changed(alphasms_settings, location):
    rule = make_rule()
    make_appointment(location, make_customer(), START)
    plan(NOW)
    claimed: list[list[int]] = []

    def claim() -> None:
        try:
            claimed.append(Dispatcher("w2").claim(DUE, 10))
        finally:
            connection.close()

    with transaction.atomic():
        edit(rule, body_template="Neu: {date}")
        worker = threading.Thread(target=claim)
        worker.start()
        worker.join(timeout=30)
    assert claimed == [[]]  # the locked row was skipped, not claimed with the old text
    (message_id,) = Dispatcher("w2").claim(DUE, 10)
    message = OutboundMessage.objects.get(pk=message_id)
    assert (message.status, message.body) == (MessageStatus.SENDING, "Neu: Fr., 4. Dez. 2026")


class TestConsentAndRestriction:
    def test_a_pending_message_of_a_restricted_person_is_cancelled_not_rerendered(
        self, alphasms_settings, location
    ):
        rule = make_rule()
        customer = make_customer()
        make_appointment(location, customer, START)
        plan(NOW)
        customer.restricted_at = NOW  # set without the service that would have cancelled at once
        customer.save()
        result = edit(rule, body_template="Neu {date}")
        message = OutboundMessage.objects.get()
        assert (result.cancelled, result.rerendered) == (1, 0)
        assert message.status == MessageStatus.CANCELLED and message.body.startswith("Hallo")
        assert notes(message)[-1] == "processing restricted (GDPR Art. 18)"

    def test_a_channel_change_plans_only_for_people_with_consent_for_it(self, alphasms_settings, location):
        rule = make_rule()
        make_appointment(location, make_customer(number="a"), START)
        make_appointment(location, make_customer(number="b", consent=("sms",)), START)
        plan(NOW)
        result = edit(rule, channel=Channel.EMAIL, subject_template="Termin {date}")
        assert (result.cancelled, result.created) == (2, 1)
        email = OutboundMessage.objects.get(channel=Channel.EMAIL)
        assert (email.customer.customer_number, email.subject) == ("a", "Termin Fr., 4. Dez. 2026")
        assert email.status == MessageStatus.PLANNED
        sms = OutboundMessage.objects.filter(channel=Channel.SMS)
        assert set(sms.values_list("status", flat=True)) == {"cancelled"}
        assert notes(sms[0])[-1] == f"{NOTE}the rule now sends by email (was planned)"


class TestChannelAndTypes:
    def test_back_to_the_old_channel_the_old_messages_come_back(self, alphasms_settings, location):
        rule = make_rule()
        make_appointment(location, make_customer(), START)
        plan(NOW)
        edit(rule, channel=Channel.EMAIL)
        result = edit(rule, channel=Channel.SMS)
        assert (result.cancelled, result.revived, result.created) == (1, 1, 0)
        statuses = dict(OutboundMessage.objects.values_list("channel", "status"))
        assert statuses == {"sms": "planned", "email": "cancelled"}
        plan(NOW)
        assert OutboundMessage.objects.count() == 2

    def test_an_appointment_type_no_longer_covered_cancels_and_covered_again_revives(
        self, alphasms_settings, location
    ):
        massage, other = (
            AppointmentType.objects.create(name="Massage"),
            AppointmentType.objects.create(name="X"),
        )
        rule = make_rule()
        make_appointment(location, make_customer(), START, appointment_type=massage)
        plan(NOW)
        before = rule_state(rule)
        rule.appointment_types.set([other])
        assert replan_rule(rule, now=NOW, before=before).cancelled == 1
        assert notes(OutboundMessage.objects.get())[-1].startswith(f"{NOTE}the rule no longer covers")
        before = rule_state(rule)
        rule.appointment_types.set([massage, other])
        assert replan_rule(rule, now=NOW, before=before).revived == 1
        assert OutboundMessage.objects.get().status == MessageStatus.PLANNED


def test_saving_a_rule_in_the_admin_replans_its_messages(five):
    rule, (planned, *_) = five
    admin = get_user_model().objects.create_superuser("chef", password="x" * 12)
    client = Client()
    client.force_login(admin)
    url = reverse("admin:appointments_reminderrule_change", args=[rule.pk])
    data = {
        "name": rule.name,
        "active": "on",
        "offset_s": str(rule.offset_s),
        "channel": "sms",
        "subject_template": "",
        "body_template": "Vom Admin: {date}",
        "subject_template_en": "",
        "body_template_en": "",
        "window_start": "08:00",
        "window_end": "20:00",
        "unknown_outcome_policy": "resend",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    planned.refresh_from_db()
    assert planned.body == "Vom Admin: Fr., 4. Dez. 2026"
    response = client.post(url, {k: v for k, v in data.items() if k != "active"})
    assert response.status_code == 302
    planned.refresh_from_db()
    assert planned.status == MessageStatus.CANCELLED
