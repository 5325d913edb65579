"""Day and week calendars draw a limited number of appointments per day; the others are counted and
linked to the list of that day (a thousand appointments a day would take half a second to draw)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from alphasms.testing.web import make_web_user, sign_in
from alphasms.web.roles import Role
from alphasms.web.services import appointments as service
from tests.conftest import make_appointment, make_customer

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Berlin


@pytest.fixture
def busy_tuesday(location, time_machine):
    """Six appointments on Tuesday 1 December (Berlin), the last at 23:30 local; one on Wednesday."""
    time_machine.move_to(NOW, tick=False)
    people = [make_customer(number=f"c{n}", given=f"Person{n}") for n in range(7)]
    starts = [dt.datetime(2026, 12, 1, 7 + n, 0, tzinfo=UTC) for n in range(5)]
    starts.append(dt.datetime(2026, 12, 1, 22, 30, tzinfo=UTC))  # 23:30 in Berlin: still Tuesday
    found = [make_appointment(location, p, s) for p, s in zip(people, starts, strict=False)]
    found.append(make_appointment(location, people[6], dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC)))
    return found


def _client(language: str = "en") -> Client:
    return sign_in(Client(headers={"accept-language": language}), make_web_user(Role.STAFF))


def test_the_day_view_draws_the_first_appointments_and_links_the_rest_to_the_list(
    busy_tuesday, location, monkeypatch
):
    monkeypatch.setattr(service, "DAY_LIMIT", 4)
    day = service.calendar(location, dt.date(2026, 12, 1), 1, NOW).days[0]
    assert [row.appointment for row in day.rows] == busy_tuesday[:4]
    assert day.more == 2
    html = _client().get("/appointments/day/", {"date": "2026-12-01"}).content.decode()
    link = re.search(r'<p class="more calendar-more"><a href="([^"]+)">([^<]+)</a>', html)
    assert link is not None
    assert link.group(2) == "2 more appointments – show the list"
    url = link.group(1).replace("&amp;", "&")
    assert url == f"/appointments/?start=2026-12-01&end=2026-12-01&location={location.pk}"
    listed = _client().get(url).content.decode()
    assert "Person4" in listed and "Person5" in listed and "Person6" not in listed  # that day only
    german = _client("de").get("/appointments/day/", {"date": "2026-12-01"}).content.decode()
    assert "2 weitere Termine – Liste zeigen" in german


def test_the_week_view_draws_a_few_per_day_with_counts(busy_tuesday, location, monkeypatch):
    monkeypatch.setattr(service, "WEEK_DAY_LIMIT", 1)
    week = service.calendar(location, service.week_start(dt.date(2026, 12, 1)), 7, NOW)
    assert [len(day.rows) for day in week.days] == [0, 1, 1, 0, 0, 0, 0]
    assert [day.more for day in week.days] == [0, 5, 0, 0, 0, 0, 0]
    assert week.truncated
    html = _client().get("/appointments/week/", {"date": "2026-12-03"}).content.decode()
    assert html.count('class="more calendar-more"') == 1
    assert "5 more appointments – show the list" in html
    assert "?start=2026-12-01&amp;end=2026-12-01" in html


def test_under_the_limit_every_appointment_is_drawn_and_nothing_is_linked(busy_tuesday, location):
    week = service.calendar(location, service.week_start(dt.date(2026, 12, 1)), 7, NOW)
    assert [len(day.rows) for day in week.days] == [0, 6, 1, 0, 0, 0, 0]
    assert not week.truncated
    assert "calendar-more" not in _client().get("/appointments/week/").content.decode()
    single = service.calendar(location, dt.date(2026, 12, 1), 1, NOW, limit=1).days[0]
    assert (len(single.rows), single.more) == (1, 5)
