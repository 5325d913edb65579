"""The message log: filters, keyset pages newest first, the timeline with raw payloads for owners
only, resend (one, and all filtered failed ones in a background job with progress)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from alphasms.appointments.models import Channel
from alphasms.messaging.models import (
    DeliveryAttempt,
    DeliveryReport,
    InboundMessage,
    MessageStatus,
    OutboundMessage,
    ResendBatch,
    StatusEvent,
)
from alphasms.messaging.services.resend import resend_batch_task
from alphasms.web.roles import Role
from alphasms.web.services import messages as service
from tests.conftest import make_appointment, make_customer, make_rule

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def _message(appointment, rule, status, due_at, **kwargs) -> OutboundMessage:
    return OutboundMessage.objects.create(
        appointment=appointment,
        rule=rule,
        channel=rule.channel,
        customer=appointment.customer,
        recipient=appointment.customer.mobile_e164 if rule.channel == "sms" else appointment.customer.email,
        body="Hallo",
        occurrence_start_at=appointment.start_at,
        due_at=due_at,
        next_attempt_at=due_at,
        status=status,
        status_changed_at=due_at,
        **kwargs,
    )


@pytest.fixture
def log(location):
    rule = make_rule(Channel.SMS)
    now = timezone.now()
    made = []
    for index in range(60):
        customer = make_customer(str(5000 + index), "Kunde", f"Nummer{index}", mobile=f"+4915100{index:05d}")
        appointment = make_appointment(location, customer, now + dt.timedelta(days=2))
        status = MessageStatus.FAILED if index % 20 == 0 else MessageStatus.DELIVERED
        made.append(_message(appointment, rule, status, now - dt.timedelta(hours=index)))
    return made


def test_the_list_is_newest_first_in_keyset_pages(log, web_client):
    first = service.page(service.Filters())
    assert [m.pk for m in first.messages] == [m.pk for m in log[:50]]
    assert first.newer == "" and first.older
    second = service.page(service.Filters(), older=first.older)
    assert [m.pk for m in second.messages] == [m.pk for m in log[50:]]
    assert second.older == "" and second.newer
    back = service.page(service.Filters(), newer=second.newer)
    assert [m.pk for m in back.messages] == [m.pk for m in log[:50]]

    staff = web_client(Role.STAFF)
    html = staff.get("/messages/", {"older": first.older}).content.decode()
    assert "Nummer59" in html and "Nummer0<" not in html


def test_the_filters_narrow_the_list(log):
    failed = service.page(service.Filters(status="failed")).messages
    assert [m.pk for m in failed] == [log[0].pk, log[20].pk, log[40].pk]
    assert [m.pk for m in service.page(service.Filters(q="Nummer21")).messages] == [log[21].pk]
    assert [m.pk for m in service.page(service.Filters(q="5021")).messages] == [log[21].pk]
    assert [m.pk for m in service.page(service.Filters(q="0151 0000021")).messages] == [log[21].pk]
    day = timezone.localtime(log[30].due_at).date()
    dated = service.page(service.Filters(date_from=day, date_to=day)).messages
    assert log[30].pk in [m.pk for m in dated] and log[0].pk not in [m.pk for m in dated]  # 30 h apart
    assert {timezone.localtime(m.due_at).date() for m in dated} == {day}
    assert service.page(service.Filters(channel="email")).messages == []


def test_the_list_page_filters_through_the_form(log, web_client):
    staff = web_client(Role.STAFF, headers={"accept-language": "de"})
    html = staff.get("/messages/", {"status": "failed"}).content.decode()
    assert html.count('class="badge bad"') == 3
    assert "Alle gefilterten Nachrichten erneut senden" in html


def test_the_timeline_has_events_attempts_reports_and_replies_raw_data_for_owners_only(log, web_client):
    message = log[0]
    at = message.due_at
    StatusEvent.objects.create(message=message, at=at, status="sending", note="worker-1")
    attempt = DeliveryAttempt.objects.create(
        message=message,
        gateway="sevenio",
        started_at=at + dt.timedelta(seconds=1),
        outcome="sent",
        user_message="Die Nummer ist ungültig.",
        error_code="invalid_number",
    )
    DeliveryReport.objects.create(
        attempt=attempt,
        status="undelivered",
        provider_status="NOTDELIVERED",
        received_at=at + dt.timedelta(seconds=5),
        raw={"secret_field": "provider-says"},
        dedupe_key="r1",
    )
    InboundMessage.objects.create(
        gateway="sevenio",
        from_e164=message.recipient,
        text="Wer ist da?",
        received_at=at + dt.timedelta(seconds=9),
        outcome="unknown",
        dedupe_key="m1",
        message=message,
        raw={"mo_raw": "payload"},
    )
    kinds = [e.kind for e in service.timeline(message)]
    assert kinds == ["status", "attempt", "report", "reply"]

    staff = web_client(Role.STAFF, headers={"accept-language": "de"}).get(f"/messages/{message.pk}/")
    html = staff.content.decode()
    assert "Die Nummer ist ungültig." in html and "NOTDELIVERED" in html and "Wer ist da?" in html
    assert "provider-says" not in html and "mo_raw" not in html
    owner = web_client(Role.OWNER).get(f"/messages/{message.pk}/").content.decode()
    assert "provider-says" in owner and "mo_raw" in owner


def test_resending_a_failed_message_queues_it_and_readonly_may_not(log, web_client):
    message = log[0]
    assert web_client(Role.READONLY).post(f"/messages/{message.pk}/resend/").status_code == 403
    staff = web_client(Role.STAFF, headers={"accept-language": "en"})
    response = staff.post(f"/messages/{message.pk}/resend/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "queued again" in response.content.decode()
    message.refresh_from_db()
    assert (message.status, message.next_attempt_at <= timezone.now()) == (MessageStatus.QUEUED, True)

    again = staff.post(f"/messages/{message.pk}/resend/", headers={"HX-Request": "true"})
    assert again.status_code == 409
    assert "Only failed, undeliverable, expired or unclear messages" in again.content.decode()
    assert staff.post("/messages/999999/resend/").status_code == 404


def test_a_held_message_is_released_from_its_page(log, web_client):
    message = log[1]
    message.status, message.error_code = MessageStatus.HELD, "budget_exhausted"
    message.save()
    staff = web_client(Role.STAFF)
    assert staff.post(f"/messages/{message.pk}/release/").status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.PLANNED


@override_settings(TASKS=DUMMY)
def test_bulk_resend_runs_as_a_background_job_whose_progress_the_page_polls(log, web_client):
    staff = web_client(Role.STAFF, headers={"accept-language": "en"})
    response = staff.post("/messages/bulk-resend/", {"status": "failed"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html and "0 of 3 handled" in html
    batch = ResendBatch.objects.get()
    assert sorted(batch.message_ids) == sorted([log[0].pk, log[20].pk, log[40].pk])

    resend_batch_task.call(batch.pk)  # what the worker's job runner does

    progress = staff.get(f"/messages/bulk-resend/{batch.pk}/", headers={"HX-Request": "true"})
    html = progress.content.decode()
    assert "3 of 3 handled, 3 queued again" in html and "every 1s" not in html
    assert OutboundMessage.objects.filter(status=MessageStatus.QUEUED).count() == 3


@override_settings(TASKS=IMMEDIATE)
def test_bulk_resend_with_the_immediate_backend_finishes_in_the_request(log, web_client):
    staff = web_client(Role.STAFF, headers={"accept-language": "de"})
    response = staff.post("/messages/bulk-resend/", {"status": "failed"})
    batch = ResendBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/messages/bulk-resend/{batch.pk}/"
    html = staff.get(response["Location"]).content.decode()
    assert "3 von 3 bearbeitet, 3 erneut eingereiht" in html
    assert readonly_cannot_bulk(web_client) == 403


def readonly_cannot_bulk(web_client) -> int:
    return web_client(Role.READONLY).post("/messages/bulk-resend/", {"status": "failed"}).status_code


def test_the_list_needs_no_query_per_message(log, web_client, django_assert_max_num_queries):
    staff = web_client(Role.STAFF)
    staff.get("/messages/")
    with django_assert_max_num_queries(12):
        assert staff.get("/messages/", {"q": "Kunde"}).status_code == 200
