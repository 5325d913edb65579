"""The dashboard's unusable numbers: the people are found once (the week's appointments read once), listed
up to ``LIST_LIMIT`` by name and counted in full, each person once however many appointments they have."""

from __future__ import annotations

import datetime as dt

import pytest

from alphasms.web.services import dashboard
from tests.conftest import make_appointment, make_customer

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_people_with_unusable_numbers_are_listed_by_name_and_counted_once(location, monkeypatch):
    monkeypatch.setattr(dashboard, "LIST_LIMIT", 3)
    people = []
    for n in range(5):
        person = make_customer(f"L{n}", f"Land{n}", f"Linie{4 - n}", mobile="", email="")
        person.mobile_raw = f"030 12{n}4"  # landlines: no SMS
        person.save()
        people.append(person)
        for day in (1, 2):  # two appointments each this week
            make_appointment(location, person, NOW + dt.timedelta(days=day, hours=n))
    later = make_customer("L9", "Später", "Anders", mobile="", email="")
    later.mobile_raw = "030 999"
    later.save()
    make_appointment(location, later, NOW + dt.timedelta(days=dashboard.NUMBER_CHECK_DAYS + 1))
    numbers = dashboard.build(NOW).numbers
    assert numbers.total == 5
    assert numbers.items == [people[4], people[3], people[2]]  # by family name: Linie0, Linie1, Linie2
