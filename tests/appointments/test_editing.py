"""Staff changes to one appointment (``appointments.services.editing``): saving re-plans its reminders at
once, cancelling and no-show cancel the pending ones and keep every message and its history."""

from __future__ import annotations

import datetime as dt

import pytest

from alphasms.appointments.models import Appointment, AppointmentStatus, Channel, Location
from alphasms.appointments.services import editing
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import MessageStatus, OutboundMessage, StatusEvent
from alphasms.privacy.models import AuditEntry
from tests.conftest import make_appointment, make_customer, make_rule

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def test_saving_a_new_appointment_plans_its_reminders_at_once(location, frozen):
    sms, email = make_rule(Channel.SMS), make_rule(Channel.EMAIL, offset_s=48 * 3600)
    appointment = Appointment(
        location=location,
        customer=make_customer(),
        start_at=NOW + dt.timedelta(days=3),
        end_at=NOW + dt.timedelta(days=3, hours=1),
    )
    result = editing.save_appointment(appointment, "staff:1")
    assert (result.created, result.replanned, result.cancelled) == (2, 0, 0)
    due = dict(OutboundMessage.objects.filter(appointment=appointment).values_list("rule_id", "due_at"))
    assert due == {sms.pk: NOW + dt.timedelta(days=2), email.pk: NOW + dt.timedelta(days=1)}
    assert AuditEntry.objects.get().detail == "created"


def test_moving_an_appointment_re_times_and_re_renders_its_pending_reminder(location, frozen):
    rule = make_rule(Channel.SMS, body_template="Termin {time}")
    appointment = make_appointment(location, make_customer(), NOW + dt.timedelta(days=3))
    plan(NOW)
    appointment.start_at += dt.timedelta(hours=2)
    appointment.end_at += dt.timedelta(hours=2)
    result = editing.save_appointment(appointment, "staff:1", previous_location_id=location.pk)
    assert (result.created, result.replanned) == (0, 1)
    message = OutboundMessage.objects.get(appointment=appointment, rule=rule)
    assert message.status == MessageStatus.PLANNED
    assert message.occurrence_start_at == appointment.start_at
    assert message.due_at == appointment.start_at - dt.timedelta(days=1)
    assert "12:00" in message.body  # 11:00 UTC is 12:00 in Berlin


def test_moving_to_another_location_re_renders_the_text(location, frozen):
    make_rule(Channel.SMS, body_template="Termin in {location}")
    appointment = make_appointment(location, make_customer(), NOW + dt.timedelta(days=3))
    plan(NOW)
    elsewhere = Location.objects.create(name="Filiale Nord")
    appointment.location = elsewhere
    editing.save_appointment(appointment, "staff:1", previous_location_id=location.pk)
    assert OutboundMessage.objects.get(appointment=appointment).body == "Termin in Filiale Nord"


def test_cancelling_cancels_pending_reminders_and_keeps_sent_ones_and_the_history(location, frozen):
    sms, email = make_rule(Channel.SMS), make_rule(Channel.EMAIL, offset_s=48 * 3600)
    appointment = make_appointment(location, make_customer(), NOW + dt.timedelta(days=3))
    plan(NOW)
    OutboundMessage.objects.filter(rule=email).update(status=MessageStatus.SENT)
    assert editing.cancel_appointment(appointment, "staff:7") == 1
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    statuses = dict(OutboundMessage.objects.values_list("rule_id", "status"))
    assert statuses == {sms.pk: MessageStatus.CANCELLED, email.pk: MessageStatus.SENT}
    event = StatusEvent.objects.filter(message__rule=sms).latest("pk")
    assert (event.status, event.note) == (MessageStatus.CANCELLED, editing.CANCEL_NOTE)
    with pytest.raises(editing.AppointmentStateError):
        editing.cancel_appointment(appointment, "staff:7")
    assert AuditEntry.objects.filter(actor="staff:7", object_type="appointment").count() == 1


def test_a_no_show_needs_a_started_appointment(location, frozen):
    make_rule(Channel.SMS)
    future = make_appointment(location, make_customer(), NOW + dt.timedelta(hours=1))
    with pytest.raises(editing.AppointmentStateError):
        editing.mark_no_show(future, "staff:1")
    assert editing.mark_no_show(future, "staff:1", now=NOW + dt.timedelta(hours=2)) == 0
    future.refresh_from_db()
    assert future.status == AppointmentStatus.NO_SHOW
    with pytest.raises(editing.AppointmentStateError):
        editing.mark_no_show(future, "staff:1", now=NOW + dt.timedelta(hours=2))


def test_changing_the_person_readdresses_the_pending_reminder_or_cancels_it(location, frozen):
    make_rule(Channel.SMS)
    appointment = make_appointment(location, make_customer(), NOW + dt.timedelta(days=3))
    plan(NOW)
    ayse = make_customer("1002", "Ayşe", "Öztürk", mobile="+4915199999999")
    appointment.customer = ayse
    editing.save_appointment(appointment, "staff:1", previous_location_id=location.pk)
    message = OutboundMessage.objects.get(appointment=appointment)
    assert (message.customer_id, message.recipient, message.status) == (ayse.pk, "+4915199999999", "planned")
    nobody = make_customer("1003", "Kein", "Einverständnis", mobile="+4915188888888", consent=())
    appointment.customer = nobody
    editing.save_appointment(appointment, "staff:1", previous_location_id=location.pk)
    assert OutboundMessage.objects.get(appointment=appointment).status == MessageStatus.CANCELLED


def test_reactivation_leaves_reminders_cancelled_for_another_reason(location):
    """Only reminders the cancellation itself cancelled come back; a withdrawn channel stays silent."""
    from alphasms.privacy.services import withdraw

    now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    make_rule(Channel.SMS)
    make_rule(Channel.EMAIL)
    person = make_customer()
    appointment = make_appointment(location, person, now + dt.timedelta(days=3))
    plan(now)
    withdraw(person, "email", source="test")
    editing.cancel_appointment(appointment, "staff:1")
    result = editing.reactivate_appointment(appointment, "staff:1", now=now)
    statuses = dict(OutboundMessage.objects.filter(appointment=appointment).values_list("channel", "status"))
    assert statuses == {"sms": MessageStatus.PLANNED, "email": MessageStatus.CANCELLED}
    assert (result.replanned, result.created) == (1, 0)
