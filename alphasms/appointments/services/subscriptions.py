"""Refresh iCalendar URL subscriptions with conditional GET (RFC 9110 §13.1: If-None-Match,
If-Modified-Since). Run by the worker; a 304 changes nothing, a 200 is imported whole."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from alphasms.appointments.ical import CalendarError
from alphasms.appointments.models import CalendarSubscription
from alphasms.appointments.services.ics_import import import_ics
from alphasms.conf import app_settings
from alphasms.messaging.gateways import http
from alphasms.messaging.gateways.errors import GatewayError

log = logging.getLogger("alphasms.subscriptions")


def fetch_calendar(url: str, *, etag: str = "", last_modified: str = "") -> http.HttpResponse:
    """GET ``url`` after the private-address guard (DESIGN.md invariant 8); conditional when
    ``etag``/``last_modified`` are given. Raises BlockedAddress or GatewayError."""
    http.check_public_url(url, app_settings.ALLOWED_PRIVATE_HOSTS)
    headers = {"Accept": "text/calendar, */*;q=0.5", "User-Agent": "AlphaSMS calendar sync"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return http.get(url, headers=headers, timeout_s=float(app_settings.HTTP_TIMEOUT_S))


def refresh(subscription: CalendarSubscription, now: dt.datetime | None = None) -> str:
    """Fetch and import one subscription; store and return a one-line result for staff."""
    now = now or timezone.now()
    try:
        response = fetch_calendar(
            subscription.url, etag=subscription.etag, last_modified=subscription.last_modified
        )
        if response.status == 304:
            result = "unverändert (304)"
        elif response.status != 200:
            result = f"Fehler: HTTP {response.status}"
        else:
            report = import_ics(response.body, subscription.location, subscription.url, now=now)
            subscription.etag = response.headers.get("etag", "")
            subscription.last_modified = response.headers.get("last-modified", "")
            result = (
                f"neu {report.created}, geändert {report.updated}, abgesagt {report.cancelled}, "
                f"ohne Kunde {len(report.unmatched)}"
            )
    except (GatewayError, http.BlockedAddress, CalendarError) as exc:
        result = f"Fehler: {exc}"
    subscription.last_sync_at = now
    subscription.last_result = result[:2000]
    subscription.next_refresh_at = now + dt.timedelta(seconds=subscription.refresh_interval_s)
    subscription.save()
    log.info("subscription %s refreshed: %s", subscription.pk, result)
    return result


def refresh_due(now: dt.datetime | None = None) -> int:
    """Refresh every active subscription whose time has come; returns how many were fetched."""
    now = now or timezone.now()
    due = CalendarSubscription.objects.filter(active=True).exclude(next_refresh_at__gt=now)
    count = 0
    for subscription in due.select_related("location"):
        refresh(subscription, now)
        count += 1
    return count
