"""Tomorrow's run: the messages due tomorrow in the location's day, with totals; planning is rolled
back (nothing changes); holding and releasing one changes the database."""

from __future__ import annotations

import datetime as dt

import pytest

from alphasms.appointments.models import Channel
from alphasms.messaging.models import MessageStatus, OutboundMessage, SmsPrice
from alphasms.web.roles import Role
from alphasms.web.services import tomorrow as service
from tests.conftest import make_appointment, make_customer, make_rule

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 23:30 in Berlin: tomorrow is 2 December there


@pytest.fixture
def run_setup(location, alphasms_settings):
    SmsPrice.objects.create(country="DE", price_per_part_minor=9, currency="EUR")
    sms = make_rule(Channel.SMS, offset_s=24 * 3600)
    email = make_rule(Channel.EMAIL, offset_s=24 * 3600)
    joerg = make_customer()
    emily = make_customer("1002", "Emily", "Clarke", mobile="+4915122223333", email="emily@example.org")
    # Both on 3 December 10:00 Berlin: reminders due 2 December 10:00 local (tomorrow).
    make_appointment(location, joerg, dt.datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    make_appointment(location, emily, dt.datetime(2026, 12, 3, 9, 30, tzinfo=UTC))
    # The day after: due 3 December, not tomorrow.
    make_appointment(location, joerg, dt.datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    return sms, email


def test_the_run_lists_tomorrows_messages_with_totals_and_changes_nothing(run_setup):
    run = service.build(NOW)
    assert run.date == dt.date(2026, 12, 2)
    assert [(r.customer, r.channel) for r in run.rows] == [
        ("Jörg Bäcker", "sms"),
        ("Jörg Bäcker", "email"),
        ("Emily Clarke", "sms"),
        ("Emily Clarke", "email"),
    ]
    assert all(r.message_id is None for r in run.rows)  # not planned by the worker yet
    assert run.rows[0].local_due == dt.datetime(2026, 12, 2, 10, 0, tzinfo=run.rows[0].local_due.tzinfo)
    assert (run.messages, run.sms, run.emails, run.parts, run.cost_minor, run.held) == (
        4,
        2,
        2,
        2,
        {"EUR": 18},
        0,
    )
    assert OutboundMessage.objects.count() == 0  # planning was rolled back


def test_holding_plans_the_message_and_holds_it_and_release_lets_it_go(run_setup, web_client, time_machine):
    time_machine.move_to(NOW, tick=False)
    sms, _ = run_setup
    staff = web_client(Role.STAFF, headers={"accept-language": "de"})
    page = staff.get("/tomorrow/").content.decode()
    assert 'data-total="messages">4<' in page and 'data-total="cost">0,18\xa0€<' in page
    row = service.build(NOW).rows[0]

    response = staff.post("/tomorrow/hold/", {"key": row.key}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-total="messages">3<' in html and 'data-total="held">1<' in html
    assert "<html" not in html  # the fragment only
    message = OutboundMessage.objects.get(appointment_id=row.appointment_id, rule=sms)
    assert (message.status, message.error_code) == (MessageStatus.HELD, "held_by_staff")

    response = staff.post("/tomorrow/release/", {"key": row.key})
    assert response.status_code == 302  # without JavaScript: back to the page
    message.refresh_from_db()
    assert message.status == MessageStatus.PLANNED


def test_holding_what_is_no_longer_pending_says_so(run_setup, web_client, time_machine):
    time_machine.move_to(NOW, tick=False)
    staff = web_client(Role.STAFF, headers={"accept-language": "en"})
    row = service.build(NOW).rows[0]
    staff.post("/tomorrow/hold/", {"key": row.key})
    OutboundMessage.objects.filter(status="held").update(status="sent")
    response = staff.post("/tomorrow/hold/", {"key": row.key}, headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert "no longer waiting to be sent" in response.content.decode()
    assert staff.post("/tomorrow/hold/", {"key": "nonsense"}).status_code == 400


def test_readonly_users_see_the_run_but_cannot_hold(run_setup, web_client, time_machine):
    time_machine.move_to(NOW, tick=False)
    readonly = web_client(Role.READONLY)
    assert readonly.get("/tomorrow/").status_code == 200
    row = service.build(NOW).rows[0]
    assert readonly.post("/tomorrow/hold/", {"key": row.key}).status_code == 403
    assert OutboundMessage.objects.count() == 0
