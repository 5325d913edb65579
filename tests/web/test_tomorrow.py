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
    SmsPrice.objects.create(country="DE", price_per_part_micros=75_000, currency="EUR")  # 0.075 €
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
    assert (run.messages, run.sms, run.emails, run.parts, run.cost_micros, run.held) == (
        4,
        2,
        2,
        2,
        {"EUR": 150_000},
        0,
    )
    assert OutboundMessage.objects.count() == 0  # planning was rolled back


def test_holding_plans_the_message_and_holds_it_and_release_lets_it_go(run_setup, web_client, time_machine):
    time_machine.move_to(NOW, tick=False)
    sms, _ = run_setup
    staff = web_client(Role.STAFF, headers={"accept-language": "de"})
    page = staff.get("/tomorrow/").content.decode()
    assert 'data-total="messages">4<' in page and 'data-total="cost">0,15\xa0€<' in page
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


def _all_rows(now: dt.datetime) -> list[service.RunRow]:
    first = service.build(now)
    rows = list(first.rows)
    for number in range(2, first.pages + 1):
        rows += service.build(now, number).rows
    assert len(rows) == first.row_total
    return rows


def test_the_run_agrees_with_alphasms_preview_for_tomorrow(run_setup, location, time_machine):
    """After the worker planned (incremental runs from then on), an appointment moved into tomorrow, a
    new one, a cancelled one and a held message: the page lists exactly what ``alphasms preview`` does
    for tomorrow's day in the location's zone."""
    from alphasms.appointments.models import AppointmentStatus
    from alphasms.appointments.services.planning import plan
    from alphasms.messaging.management.commands.preview import preview_items

    time_machine.move_to(NOW, tick=False)
    sms, _ = run_setup
    assert plan(NOW).created == 6  # the worker's cycle, committed
    moved = OutboundMessage.objects.filter(occurrence_start_at__day=4).first().appointment
    moved.start_at = dt.datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # its reminders now due tomorrow
    moved.save()
    cancelled = OutboundMessage.objects.filter(customer__given_name="Emily").first().appointment
    cancelled.status = AppointmentStatus.CANCELLED
    cancelled.save()
    newcomer = make_customer("1003", "Ana", "Ruiz", mobile="+34612345678", email="ana@example.org")
    make_appointment(location, newcomer, dt.datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    service.hold(moved.pk, sms.pk, "sms", actor_id=None, now=NOW)
    SmsPrice.objects.create(country="*", price_per_part_micros=120_000, currency="EUR")

    rows = _all_rows(NOW)
    berlin = location.tz
    day_start = dt.datetime(2026, 12, 2, tzinfo=berlin)
    day_end = dt.datetime(2026, 12, 3, tzinfo=berlin) - dt.timedelta(seconds=1)
    preview = [i for i in preview_items(day_end) if dt.datetime.fromisoformat(i["due_at"]) >= day_start]
    assert len(rows) == len(preview) == 6
    assert [
        (r.local_due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), r.channel, r.recipient, r.body, r.status)
        for r in rows
    ] == [(i["due_at"], i["channel"], i["recipient"], i["text"], i["status"]) for i in preview]
    sms_rows = [r for r in rows if r.channel == "sms"]
    assert [r.cost_micros for r in sms_rows] == [
        (i["cost"] or {}).get("micros") for i in preview if i["channel"] == "sms"
    ]
    assert {r.customer for r in rows} == {"Jörg Bäcker", "Ana Ruiz"}
    assert sum(r.status == MessageStatus.HELD for r in rows) == 1


def test_the_rows_come_in_pages_with_totals_over_all(run_setup, web_client, time_machine, monkeypatch):
    time_machine.move_to(NOW, tick=False)
    monkeypatch.setattr(service, "PAGE_SIZE", 3)
    first, second = service.build(NOW), service.build(NOW, 2)
    assert (first.pages, len(first.rows), len(second.rows), second.first_row) == (2, 3, 1, 4)
    assert (first.messages, second.messages, second.cost_micros) == (4, 4, {"EUR": 150_000})
    assert service.build(NOW, 99).page == 2  # beyond the last: the last
    staff = web_client(Role.STAFF, headers={"accept-language": "en"})
    html = staff.get("/tomorrow/?page=2").content.decode()
    assert 'rel="prev"' in html and 'rel="next"' not in html
    assert "Messages 4–4 of 4" in html
    assert f'id="run-{second.rows[0].key}"' in html
    assert '<input type="hidden" name="page" value="2">' in html
    response = staff.post("/tomorrow/hold/", {"key": second.rows[0].key, "page": "2"})
    assert response.status_code == 302 and response["Location"] == "/tomorrow/?page=2"


def test_a_three_part_sms_at_0_075_costs_exactly_0_225(location, alphasms_settings, web_client, time_machine):
    time_machine.move_to(NOW, tick=False)
    SmsPrice.objects.create(country="DE", price_per_part_micros=75_000, currency="EUR")
    make_rule(Channel.SMS, offset_s=24 * 3600, body_template="Hallo {given_name}, " + "x" * 440)
    make_appointment(location, make_customer(), dt.datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    run = service.build(NOW)
    (row,) = run.rows
    assert (row.segments, row.cost_micros, run.cost_micros) == (3, 225_000, {"EUR": 225_000})
    page = web_client(Role.STAFF, headers={"accept-language": "de"}).get("/tomorrow/").content.decode()
    assert "<td>0,225\xa0€</td>" in page  # the message's cost, exact (not 3 × 0,08 € = 0,24 €)
    assert 'title="0,225\xa0€" data-total="cost">0,23\xa0€<' in page  # the total, rounded to cents
