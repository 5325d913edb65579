"""Sessions end after 30 minutes without a request and 12 hours after sign-in, however active."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from alphasms.testing.web import make_web_user
from alphasms.web.roles import Role

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)


def _signed_in_client() -> Client:
    staff = make_web_user(Role.STAFF)
    client = Client()
    client.post("/login/", {"username": staff.user.username, "password": staff.password})
    return client


def test_the_session_ends_after_thirty_idle_minutes_and_each_request_renews_it(time_machine):
    time_machine.move_to(START, tick=False)
    client = _signed_in_client()
    for _ in range(3):  # 3 × 29 minutes, each with a request: still signed in
        time_machine.shift(dt.timedelta(minutes=29))
        assert client.get("/").status_code == 200
    time_machine.shift(dt.timedelta(minutes=31))
    assert client.get("/").status_code == 302


def test_the_session_ends_twelve_hours_after_sign_in_however_active(time_machine):
    time_machine.move_to(START, tick=False)
    client = _signed_in_client()
    for _ in range(28):  # 28 × 25 minutes = 11 h 40 min
        time_machine.shift(dt.timedelta(minutes=25))
        assert client.get("/").status_code == 200
    time_machine.shift(dt.timedelta(minutes=25))  # 12 h 5 min after sign-in
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
