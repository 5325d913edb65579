"""Appointment pages: list with search and keyset pages, day and week calendars in the location's time
zone, detail with reminders, create/edit re-planning reminders, cancel and no-show; roles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from alphasms.appointments.models import Appointment, AppointmentStatus, Channel, Location
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.privacy.subject_rights import RestrictionBasis, restrict
from alphasms.testing.web import make_web_user, sign_in
from alphasms.web.roles import Role
from alphasms.web.services import appointments as service
from tests.conftest import make_appointment as _make_appointment
from tests.conftest import make_customer, make_rule

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Berlin


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def make_appointment(location, customer, start_at, summary: str = "", **kwargs) -> Appointment:
    appointment = _make_appointment(location, customer, start_at, **kwargs)
    if summary:
        appointment.summary = summary
        appointment.save(update_fields=["summary"])
    return appointment


def _client(role: Role = Role.STAFF, language: str = "en") -> Client:
    return sign_in(Client(headers={"accept-language": language}), make_web_user(role))


def test_the_list_shows_upcoming_appointments_with_their_reminders(location, frozen):
    make_rule(Channel.SMS)
    joerg = make_customer()
    past = make_appointment(location, joerg, NOW - dt.timedelta(hours=2))
    upcoming = make_appointment(location, joerg, NOW + dt.timedelta(days=2), summary="Massage")
    plan(NOW)
    page = _client().get("/appointments/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/appointments/{upcoming.pk}/" in html and f"/appointments/{past.pk}/" not in html
    assert "Massage" in html and "Jörg Bäcker" in html and "planned" in html


def test_the_search_finds_by_name_phone_email_number_and_title(location, frozen):
    joerg = make_customer()
    ayse = make_customer("2002", "Ayşe", "Öztürk", mobile="+4915199999999", email="ayse@example.org")
    a = make_appointment(location, joerg, NOW + dt.timedelta(days=1), summary="Rücken")
    b = make_appointment(location, ayse, NOW + dt.timedelta(days=2), summary="Knie")

    def found(query: str) -> list[Appointment]:
        page = service.list_page(service.Filters(query=query), NOW)
        return [row.appointment for row in page.rows]

    assert found("bäcker") == [a]
    assert found("Ayşe Öztürk") == [b]
    assert found("0151 99999999") == [b]  # national format → E.164
    assert found("ayse@example") == [b]
    assert found("2002") == [b]
    assert found("knie") == [b]
    assert found("nobody") == []


def test_the_list_pages_by_keyset_forward_and_back(location, frozen, monkeypatch):
    monkeypatch.setattr(service, "PAGE_SIZE", 3)
    joerg = make_customer()
    same = NOW + dt.timedelta(days=1)
    made = [
        make_appointment(location, joerg, same if i < 4 else same + dt.timedelta(hours=i)) for i in range(8)
    ]
    first = service.list_page(service.Filters(), NOW)
    assert [r.appointment for r in first.rows] == made[:3] and first.previous is None
    second = service.list_page(service.Filters(), NOW, after=first.next)
    assert [r.appointment for r in second.rows] == made[3:6]  # ties on start_at broken by id
    third = service.list_page(service.Filters(), NOW, after=second.next)
    assert [r.appointment for r in third.rows] == made[6:] and third.next is None
    back = service.list_page(service.Filters(), NOW, before=second.previous)
    assert [r.appointment for r in back.rows] == made[:3]
    assert service.Cursor.parse(str(second.next)) == second.next
    assert service.Cursor.parse("garbage") is None
    html = _client().get("/appointments/", {"after": str(first.next)}).content.decode()
    assert f"/appointments/{made[3].pk}/" in html and f"/appointments/{made[0].pk}/" not in html


def test_filters_by_date_range_status_and_location_and_names_a_bad_date(location, frozen):
    joerg = make_customer()
    other = Location.objects.create(name="Filiale Nord")
    a = make_appointment(location, joerg, dt.datetime(2026, 12, 10, 8, 0, tzinfo=UTC))
    make_appointment(location, joerg, dt.datetime(2026, 12, 12, 8, 0, tzinfo=UTC))
    c = make_appointment(other, joerg, dt.datetime(2026, 12, 10, 9, 0, tzinfo=UTC), status="cancelled")
    filters = service.Filters(start=dt.date(2026, 12, 10), end=dt.date(2026, 12, 10))
    assert [r.appointment for r in service.list_page(filters, NOW).rows] == [a, c]
    cancelled = service.Filters(start=dt.date(2026, 12, 10), status="cancelled", location_id=other.pk)
    assert [r.appointment for r in service.list_page(cancelled, NOW).rows] == [c]
    page = _client().get("/appointments/", {"start": "31.02.2026", "end": "2026-12-01"})
    assert page.status_code == 200
    assert "Enter a date such as 01.12.2026" in page.content.decode()


def test_an_htmx_search_gets_only_the_results(location, frozen):
    make_appointment(location, make_customer(), NOW + dt.timedelta(days=1))
    html = _client().get("/appointments/", {"q": "Bäcker"}, headers={"hx-request": "true"}).content.decode()
    assert "<table" in html and "<html" not in html


def test_the_week_is_monday_to_sunday_in_the_location_s_time_zone(location, frozen):
    joerg = make_customer()
    sunday_night = make_appointment(
        location, joerg, dt.datetime(2026, 12, 6, 22, 30, tzinfo=UTC)
    )  # Mon 23:30
    make_appointment(location, joerg, dt.datetime(2026, 11, 29, 22, 59, tzinfo=UTC))  # Sun 23:59 before
    week = service.calendar(location, service.week_start(dt.date(2026, 12, 3)), 7, NOW)
    assert week.start == dt.date(2026, 11, 30) and week.previous == dt.date(2026, 11, 23)
    assert [len(day.rows) for day in week.days] == [0, 0, 0, 0, 0, 0, 1]
    assert week.days[6].rows[0].appointment == sunday_night
    assert week.days[6].rows[0].local_start == dt.datetime(2026, 12, 6, 23, 30)
    assert week.days[1].is_today
    html = _client().get("/appointments/week/", {"date": "2026-12-03"}).content.decode()
    assert "23:30" in html and "?date=2026-11-23" in html and "?date=2026-12-07" in html


def test_the_day_view_has_hours_and_navigation(location, frozen):
    joerg = make_customer()
    early = make_appointment(location, joerg, dt.datetime(2026, 12, 1, 5, 0, tzinfo=UTC))  # 06:00 local
    day = service.calendar(location, dt.date(2026, 12, 1), 1, NOW).days[0]
    hours = day.hours()
    assert hours[0] == (6, [day.rows[0]]) and hours[-1][0] == 19 and day.rows[0].appointment == early
    html = _client(language="de").get("/appointments/day/").content.decode()
    assert "06:00" in html and "Nächster Tag" in html and "?date=2026-12-02" in html


def test_a_dst_day_has_local_times(location, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 28, 9, 0, tzinfo=UTC), tick=False)
    a = make_appointment(location, make_customer(), dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC))  # 03:30 CEST
    day = service.calendar(location, dt.date(2026, 3, 29), 1, dt.datetime(2026, 3, 28, 9, 0, tzinfo=UTC))
    assert [(r.appointment, r.local_start.hour) for r in day.days[0].rows] == [(a, 3)]


def test_the_detail_shows_reminders_per_channel_with_status_and_history(location, frozen):
    make_rule(Channel.SMS, name="SMS am Vortag")
    make_rule(Channel.EMAIL, offset_s=48 * 3600, name="E-Mail")
    appointment = make_appointment(location, make_customer(), NOW + dt.timedelta(days=3))
    plan(NOW)
    OutboundMessage.objects.filter(channel="email").update(
        status=MessageStatus.FAILED, user_message="Postfach voll"
    )
    html = _client().get(f"/appointments/{appointment.pk}/").content.decode()
    assert 'data-channel="sms"' in html and 'data-channel="email"' in html
    assert "SMS am Vortag" in html and "planned" in html and "failed" in html and "Postfach voll" in html
    assert "Cancel appointment" in html and "Mark as no-show" not in html  # not started yet
    assert _client().get("/appointments/999999/").status_code == 404


def test_creating_an_appointment_plans_its_reminders(location, frozen):
    make_rule(Channel.SMS)
    joerg = make_customer()
    client = _client()
    form = client.get("/appointments/new/", {"customer": joerg.pk})
    assert form.status_code == 200 and f'value="{joerg.pk}" selected' in form.content.decode()
    response = client.post(
        "/appointments/new/",
        {
            "location": location.pk,
            "customer": joerg.pk,
            "date": "2026-12-04",
            "start_time": "14:30",
            "end_time": "15:00",
            "summary": "Lymphdrainage",
        },
    )
    appointment = Appointment.objects.get(summary="Lymphdrainage")
    assert response.status_code == 302 and response["Location"] == f"/appointments/{appointment.pk}/"
    assert appointment.start_at == dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)  # 14:30 Berlin
    assert appointment.source == "manual"
    message = OutboundMessage.objects.get(appointment=appointment)
    assert message.status == MessageStatus.PLANNED and message.due_at == dt.datetime(
        2026, 12, 3, 13, 30, tzinfo=UTC
    )


def test_form_errors_name_the_field_and_the_fix(location, frozen):
    restricted = make_customer("3003", "Rita", "Restrict")
    restrict(restricted, "staff:1", RestrictionBasis.ACCURACY)
    html = (
        _client()
        .post(
            "/appointments/new/",
            {
                "location": location.pk,
                "customer": restricted.pk,
                "date": "2026-03-29",
                "start_time": "02:30",
                "end_time": "02:00",
            },
        )
        .content.decode()
    )
    assert "Please correct the following" in html
    assert "Customer: Processing of this person&#x27;s data is restricted: choose another customer." in html
    assert "02:30 does not exist on this day (the clocks go forward): choose an hour later." in html
    assert "The end time must be after the start time" in html
    missing = _client().post("/appointments/new/", {"location": location.pk, "date": ""}).content.decode()
    assert "Choose the customer: search for them above" in missing
    assert "Enter the date of the appointment, e.g. 01.12.2026." in missing
    assert not Appointment.objects.exists()


def test_the_customer_search_fills_the_select_with_and_without_javascript(location, frozen):
    joerg = make_customer()
    client = _client()
    partial = client.get("/appointments/customers/", {"customer_search": "bäck"}).content.decode()
    assert f'<option value="{joerg.pk}">Bäcker, Jörg (1001)</option>' in partial and "<html" not in partial
    page = client.post(
        "/appointments/new/", {"location": location.pk, "customer_search": "Jörg", "find_customer": "1"}
    ).content.decode()
    assert f'value="{joerg.pk}" selected' in page and "Please correct" not in page  # the one match chosen


def test_editing_moves_the_appointment_and_its_reminder(location, frozen):
    make_rule(Channel.SMS)
    joerg = make_customer()
    appointment = make_appointment(location, joerg, NOW + dt.timedelta(days=3))
    plan(NOW)
    client = _client()
    assert 'value="10:00"' in client.get(f"/appointments/{appointment.pk}/edit/").content.decode()
    client.post(
        f"/appointments/{appointment.pk}/edit/",
        {
            "location": location.pk,
            "customer": joerg.pk,
            "date": "2026-12-05",
            "start_time": "16:00",
            "end_time": "16:30",
            "summary": "verschoben",
        },
    )
    appointment.refresh_from_db()
    assert appointment.start_at == dt.datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    message = OutboundMessage.objects.get(appointment=appointment)
    assert message.occurrence_start_at == appointment.start_at and message.status == MessageStatus.PLANNED


def test_cancel_is_a_post_that_cancels_the_pending_reminders(location, frozen):
    make_rule(Channel.SMS)
    appointment = make_appointment(location, make_customer(), NOW + dt.timedelta(days=3))
    plan(NOW)
    client = _client()
    detail = client.get(f"/appointments/{appointment.pk}/").content.decode()
    assert f'<a class="button danger" href="/appointments/{appointment.pk}/cancel/">' in detail
    confirm = client.get(f"/appointments/{appointment.pk}/cancel/")  # a page that asks, changes nothing
    assert confirm.status_code == 200
    assert "1 pending reminder of this appointment will be cancelled" in confirm.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.SCHEDULED
    response = client.post(f"/appointments/{appointment.pk}/cancel/", follow=True)
    assert "Appointment cancelled; 1 reminder cancelled." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert OutboundMessage.objects.get(appointment=appointment).status == MessageStatus.CANCELLED
    again = client.post(f"/appointments/{appointment.pk}/cancel/", follow=True).content.decode()
    assert "already cancelled" in again


def test_no_show_once_started(location, frozen):
    appointment = make_appointment(location, make_customer(), NOW - dt.timedelta(minutes=20))
    client = _client()
    assert "Mark as no-show" in client.get(f"/appointments/{appointment.pk}/").content.decode()
    client.post(f"/appointments/{appointment.pk}/no-show/")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW
    future = make_appointment(location, make_customer("1009"), NOW + dt.timedelta(hours=1))
    html = client.post(f"/appointments/{future.pk}/no-show/", follow=True).content.decode()
    assert "Only a scheduled appointment that has begun" in html
    future.refresh_from_db()
    assert future.status == AppointmentStatus.SCHEDULED


def test_read_only_users_see_but_change_nothing(location, frozen):
    make_rule(Channel.SMS)
    appointment = make_appointment(location, make_customer(), NOW + dt.timedelta(days=3))
    plan(NOW)
    client = _client(Role.READONLY)
    for url in (
        "/appointments/",
        "/appointments/day/",
        "/appointments/week/",
        f"/appointments/{appointment.pk}/",
    ):
        assert client.get(url).status_code == 200, url
    assert "Cancel appointment" not in client.get(f"/appointments/{appointment.pk}/").content.decode()
    assert client.post(f"/appointments/{appointment.pk}/cancel/").status_code == 403
    assert client.post("/appointments/new/", {"location": location.pk}).status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.SCHEDULED
    assert Client().get("/appointments/").status_code == 302  # anonymous: to the sign-in page


def test_the_list_needs_a_fixed_number_of_queries(location, frozen, django_assert_max_num_queries):
    rule = make_rule(Channel.SMS)
    for index in range(30):
        customer = make_customer(str(5000 + index), mobile=f"+49151123{index:05d}")
        make_appointment(location, customer, NOW + dt.timedelta(hours=index + 1))
    plan(NOW)
    assert OutboundMessage.objects.filter(rule=rule).count() == 30
    client = _client()
    client.get("/appointments/")
    with django_assert_max_num_queries(12):
        assert client.get("/appointments/", {"q": "Bäcker"}).status_code == 200
    with django_assert_max_num_queries(12 + 6):  # the week: a count, one query per day with appointments
        assert client.get("/appointments/week/").status_code == 200


def test_a_cancelled_appointment_is_reactivated_with_its_reminders(location, frozen):
    make_rule(Channel.SMS)
    appointment = make_appointment(location, make_customer(), NOW + dt.timedelta(days=3))
    plan(NOW)
    client = _client()
    client.post(f"/appointments/{appointment.pk}/cancel/")
    reminder = OutboundMessage.objects.get(appointment=appointment)
    assert reminder.status == MessageStatus.CANCELLED
    detail = client.get(f"/appointments/{appointment.pk}/").content.decode()
    assert "Reactivate appointment" in detail and "/cancel/" not in detail
    assert client.get(f"/appointments/{appointment.pk}/cancel/", follow=True).status_code == 200

    html = client.post(f"/appointments/{appointment.pk}/reactivate/", follow=True).content.decode()
    assert "Appointment reactivated. Reminders: 1 planned again, 0 new." in html
    appointment.refresh_from_db()
    reminder.refresh_from_db()
    assert appointment.status == AppointmentStatus.SCHEDULED
    assert reminder.status == MessageStatus.PLANNED
    assert reminder.due_at == appointment.start_at - dt.timedelta(days=1)
    notes = list(reminder.events.order_by("at", "pk").values_list("status", "note"))
    assert notes[-2:] == [
        ("cancelled", "appointment cancelled by staff"),
        ("planned", "appointment reactivated by staff"),
    ]
    again = client.post(f"/appointments/{appointment.pk}/reactivate/", follow=True).content.decode()
    assert "Only a cancelled appointment can be reactivated." in again
    assert _client(Role.READONLY).post(f"/appointments/{appointment.pk}/reactivate/").status_code == 403


def test_reactivating_a_past_appointment_plans_no_reminder(location, frozen):
    make_rule(Channel.SMS)
    appointment = make_appointment(location, make_customer(), NOW - dt.timedelta(hours=3))
    client = _client()
    client.post(f"/appointments/{appointment.pk}/cancel/")
    html = client.post(f"/appointments/{appointment.pk}/reactivate/", follow=True).content.decode()
    assert "It lies in the past: no reminder will be sent." in html
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.SCHEDULED
    assert not OutboundMessage.objects.filter(appointment=appointment).exists()


def test_a_past_appointment_needs_a_confirmation_and_gets_no_reminder(location, frozen):
    make_rule(Channel.SMS)
    joerg = make_customer()
    client = _client()
    data = {
        "location": location.pk,
        "customer": joerg.pk,
        "date": "2026-11-20",
        "start_time": "09:00",
        "end_time": "09:30",
        "summary": "Nachtrag",
    }
    html = client.post("/appointments/new/", data).content.decode()
    assert "This appointment lies in the past." in html and "No reminder will be sent for it." in html
    assert 'name="confirm_past"' in html and not Appointment.objects.exists()
    response = client.post("/appointments/new/", data | {"confirm_past": "1"}, follow=True)
    assert "This appointment lies in the past: no reminder will be sent for it." in response.content.decode()
    appointment = Appointment.objects.get()
    assert appointment.status == AppointmentStatus.SCHEDULED
    assert not OutboundMessage.objects.filter(appointment=appointment).exists()
    # editing the title of a past visit asks nothing
    edit = client.post(f"/appointments/{appointment.pk}/edit/", data | {"summary": "Nachtrag 2"})
    assert edit.status_code == 302
    future = client.post("/appointments/new/", data | {"date": "2026-12-04"})
    assert future.status_code == 302  # an appointment ahead is saved at once


def test_forms_warn_before_unsaved_input_is_lost(location):
    html = _client().get("/appointments/new/").content.decode()
    assert "web/unsaved.js" in html and "data-warn-unsaved" in html
    assert "data-warn-unsaved" in _client().get("/customers/new/").content.decode()
