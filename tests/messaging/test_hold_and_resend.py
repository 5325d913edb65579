"""Staff hold and release reminders, resend failed ones (one or a batch with progress); every change is
in the message's history and the send-time checks still decide."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from alphasms.appointments.models import AppointmentStatus, Channel, UnknownOutcomePolicy
from alphasms.messaging.gateways.fake.gateway import FakeGateway
from alphasms.messaging.models import DeliveryAttempt, MessageStatus, OutboundMessage, StatusEvent
from alphasms.messaging.services import hold as holds
from alphasms.messaging.services import resend as resends
from alphasms.messaging.services.dispatch import Dispatcher
from alphasms.privacy.services import withdraw
from tests.conftest import make_appointment, make_customer, make_rule

pytestmark = pytest.mark.django_db


def _message(appointment, rule, status, **kwargs) -> OutboundMessage:
    due = timezone.now() - dt.timedelta(minutes=5)
    return OutboundMessage.objects.create(
        appointment=appointment,
        rule=rule,
        channel=rule.channel,
        customer=appointment.customer,
        recipient=appointment.customer.mobile_e164,
        body="Hallo",
        segments=1,
        occurrence_start_at=appointment.start_at,
        due_at=due,
        next_attempt_at=kwargs.pop("next_attempt_at", due),
        status=status,
        status_changed_at=due,
        **kwargs,
    )


@pytest.fixture
def upcoming(location):
    rule = make_rule(Channel.SMS, window_start=dt.time(0, 0), window_end=dt.time(23, 59, 59))
    appointment = make_appointment(location, make_customer(), timezone.now() + dt.timedelta(hours=6))
    return appointment, rule


class TestHold:
    def test_a_held_message_is_never_claimed_and_a_released_one_is(self, upcoming, alphasms_settings):
        message = _message(*upcoming, MessageStatus.PLANNED)
        holds.hold(message.pk, actor_id=7, now=timezone.now())
        message.refresh_from_db()
        assert (message.status, message.error_code) == ("held", "held_by_staff")
        assert (
            StatusEvent.objects.filter(message=message, status="held").get().note == "held by staff (user 7)"
        )
        assert Dispatcher().claim(timezone.now(), 10) == []

        holds.release(message.pk, actor_id=7, now=timezone.now())
        message.refresh_from_db()
        assert (message.status, message.error_code, message.possible_duplicate) == ("planned", "", False)
        assert Dispatcher().claim(timezone.now(), 10) == [message.pk]

    def test_only_pending_messages_can_be_held(self, upcoming):
        message = _message(*upcoming, MessageStatus.SENT)
        with pytest.raises(holds.HoldRefused) as refused:
            holds.hold(message.pk, actor_id=None, now=timezone.now())
        assert refused.value.code == "not_pending"
        assert OutboundMessage.objects.get(pk=message.pk).status == "sent"

    def test_a_message_held_for_a_refused_sender_is_not_released(self, upcoming):
        message = _message(
            *upcoming, MessageStatus.HELD, error_code="sender_not_allowed", user_message="Absender fehlt"
        )
        with pytest.raises(holds.HoldRefused) as refused:
            holds.release(message.pk, actor_id=None, now=timezone.now())
        assert (refused.value.code, str(refused.value)) == ("sender_not_allowed", "Absender fehlt")

    def test_releasing_after_an_unknown_outcome_queues_it_flagged_as_possible_duplicate(self, upcoming):
        appointment, rule = upcoming
        rule.unknown_outcome_policy = UnknownOutcomePolicy.HOLD
        rule.save()
        message = _message(appointment, rule, MessageStatus.HELD, attempt_count=1, error_code="timeout")
        holds.release(message.pk, actor_id=None, now=timezone.now())
        message.refresh_from_db()
        assert (message.status, message.possible_duplicate) == ("queued", True)


class TestResend:
    def test_a_failed_message_is_queued_again_and_the_worker_makes_a_new_attempt(
        self, upcoming, alphasms_settings
    ):
        message = _message(
            *upcoming, MessageStatus.FAILED, attempt_count=6, error_code="invalid_number", user_message="x"
        )
        DeliveryAttempt.objects.create(
            message=message, gateway="fake", started_at=timezone.now(), outcome="failed"
        )
        resends.resend(message.pk, actor_id=3, now=timezone.now())
        message.refresh_from_db()
        assert (message.status, message.attempt_count, message.error_code, message.user_message) == (
            "queued",
            0,
            "",
            "",
        )
        assert StatusEvent.objects.filter(message=message, status="queued").get().note == (
            "resend by staff (user 3)"
        )

        stats = Dispatcher().run_once()
        assert stats.outcomes == {"sent": 1}
        assert message.attempts.count() == 2
        assert [sms.to_e164 for sms in FakeGateway.outbox] == ["+4915112345678"]

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ("withdraw", "no_consent"),
            ("restrict", "restricted"),
            ("cancel", "appointment_cancelled"),
            ("past", "appointment_started"),
        ],
    )
    def test_a_resend_is_refused_when_a_check_fails_and_nothing_changes(self, upcoming, change, code):
        appointment, rule = upcoming
        message = _message(appointment, rule, MessageStatus.UNDELIVERED)
        customer = appointment.customer
        if change == "withdraw":
            withdraw(customer, "sms", source="form")
        elif change == "restrict":
            customer.restricted_at = timezone.now()
            customer.save()
        elif change == "cancel":
            appointment.status = AppointmentStatus.CANCELLED
            appointment.save()
        else:
            appointment.start_at = timezone.now() - dt.timedelta(minutes=1)
            appointment.save()
        with pytest.raises(resends.ResendRefused) as refused:
            resends.resend(message.pk, actor_id=None, now=timezone.now())
        assert refused.value.code == code
        assert OutboundMessage.objects.get(pk=message.pk).status == "undelivered"

    def test_a_message_that_arrived_is_not_resent(self, upcoming):
        message = _message(*upcoming, MessageStatus.DELIVERED)
        with pytest.raises(resends.ResendRefused) as refused:
            resends.resend(message.pk, actor_id=None, now=timezone.now())
        assert refused.value.code == "not_resendable"

    def test_resending_an_unknown_outcome_flags_a_possible_duplicate(self, upcoming):
        message = _message(*upcoming, MessageStatus.UNKNOWN)
        resends.resend(message.pk, actor_id=None, now=timezone.now())
        assert OutboundMessage.objects.get(pk=message.pk).possible_duplicate is True


class TestBatch:
    def test_a_batch_goes_chunk_by_chunk_and_counts_what_it_could_not_resend(self, location, upcoming):
        appointment, rule = upcoming
        failed = [_message(appointment, rule, MessageStatus.FAILED)]
        for index in range(4):
            customer = make_customer(str(3000 + index), mobile=f"+4915100000{index:03d}")
            other = make_appointment(location, customer, appointment.start_at)
            failed.append(_message(other, rule, MessageStatus.FAILED))
        delivered = _message(
            make_appointment(location, make_customer("4000", mobile="+4915199999999"), appointment.start_at),
            rule,
            MessageStatus.DELIVERED,
        )
        batch = resends.start_batch(
            [m.pk for m in failed] + [delivered.pk, 999999], actor_id=1, now=timezone.now()
        )
        assert (batch.total, batch.done_count, batch.finished_at) == (7, 0, None)

        handled = resends._work(batch, timezone.now(), limit=3)  # one worker turn that stops early
        batch.refresh_from_db()
        assert (handled, batch.done_count, batch.resent_count, batch.finished_at) == (3, 3, 3, None)
        assert batch.lease_until is None  # the next run may go on

        assert resends.run_batch(batch.pk) == 4
        batch.refresh_from_db()
        assert (batch.done_count, batch.resent_count, batch.refused) == (
            7,
            5,
            {"not_resendable": 1, "gone": 1},
        )
        assert batch.finished_at is not None
        assert set(OutboundMessage.objects.filter(status="queued").values_list("pk", flat=True)) == {
            m.pk for m in failed
        }
        assert resends.run_batch(batch.pk) == 0  # finished: nothing more

    def test_a_batch_held_by_another_runner_is_left_alone(self, upcoming):
        message = _message(*upcoming, MessageStatus.FAILED)
        batch = resends.start_batch([message.pk], actor_id=None, now=timezone.now())
        batch.lease_until = timezone.now() + dt.timedelta(seconds=60)
        batch.save()
        assert resends.run_batch(batch.pk) == 0
        assert OutboundMessage.objects.get(pk=message.pk).status == "failed"

    def test_an_empty_batch_is_finished_at_once_and_too_big_a_one_is_refused(self):
        assert resends.start_batch([], actor_id=None, now=timezone.now()).finished_at is not None
        with pytest.raises(ValueError, match="at most 5000"):
            resends.start_batch(range(5001), actor_id=None, now=timezone.now())
