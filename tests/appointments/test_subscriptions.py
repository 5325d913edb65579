"""Calendar URL subscriptions: conditional GET over a real socket, private-address guard."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from alphasms.appointments.models import Appointment, CalendarSubscription
from alphasms.appointments.services.subscriptions import refresh, refresh_due
from alphasms.messaging.gateways.http import BlockedAddress, check_public_url
from alphasms.testing.fake_http import CannedResponse

UTC = dt.UTC
ICS = (Path(__file__).resolve().parent.parent / "data" / "practice" / "praxis.ics").read_bytes()
NOW = dt.datetime(2026, 12, 5, 6, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_it_fetches_with_etag_and_imports_only_when_changed(alphasms_settings, location, fake_http):
    headers = {
        "Content-Type": "text/calendar",
        "ETag": '"v1"',
        "Last-Modified": "Sat, 05 Dec 2026 05:00:00 GMT",
    }
    fake_http.enqueue(CannedResponse(200, headers, ICS), CannedResponse(304, {"ETag": '"v1"'}))
    subscription = CalendarSubscription.objects.create(
        name="Praxis", url=f"{fake_http.url}/praxis.ics", location=location, refresh_interval_s=600
    )
    assert refresh(subscription, NOW).startswith("neu 6, geändert 0")
    assert Appointment.objects.count() == 6
    subscription.refresh_from_db()
    assert (subscription.etag, subscription.next_refresh_at) == ('"v1"', NOW + dt.timedelta(seconds=600))
    assert refresh_due(NOW + dt.timedelta(seconds=599)) == 0
    assert refresh_due(NOW + dt.timedelta(seconds=600)) == 1
    second = fake_http.requests[1]
    assert second.headers["if-none-match"] == '"v1"'
    assert second.headers["if-modified-since"] == "Sat, 05 Dec 2026 05:00:00 GMT"
    subscription.refresh_from_db()
    assert subscription.last_result == "unverändert (304)"


def test_a_failing_subscription_records_the_error_and_changes_nothing(alphasms_settings, location, fake_http):
    fake_http.enqueue(CannedResponse(200, {}, b"<html>not a calendar</html>"))
    subscription = CalendarSubscription.objects.create(
        name="x", url=f"{fake_http.url}/x.ics", location=location
    )
    assert refresh(subscription, NOW).startswith("Fehler:")
    assert Appointment.objects.count() == 0


def test_loopback_and_private_addresses_are_refused_unless_allowed(alphasms_settings, location):
    alphasms_settings["ALLOWED_PRIVATE_HOSTS"] = []
    for url in (
        "http://127.0.0.1:9/x.ics",
        "http://10.1.2.3/x.ics",
        "http://[::1]/x.ics",
        "file:///etc/passwd",
    ):
        with pytest.raises(BlockedAddress):
            check_public_url(url, [])
    check_public_url("http://127.0.0.1:9/x.ics", ["127.0.0.1"])  # an admin allowed it
    subscription = CalendarSubscription.objects.create(
        name="x", url="http://127.0.0.1:9/x.ics", location=location
    )
    assert "ALPHASMS_ALLOWED_PRIVATE_HOSTS" in refresh(subscription, NOW)
