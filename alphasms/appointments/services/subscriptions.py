"""Refresh iCalendar URL subscriptions with conditional GET (RFC 9110 §13.1: If-None-Match,
If-Modified-Since). Run by the worker; a 304 changes nothing, a 200 is imported whole.

A failed refresh (blocked or unreachable host, HTTP error, oversized or slow answer, unreadable
calendar) is stored for staff in ``last_result`` and backs off: the wait doubles with each failure in
a row, from twice the interval up to 24 hours, and is the plain interval again after a success. The
number of failures in a row is not stored: it follows from the previous wait (``next_refresh_at`` minus
``last_sync_at``) of a result that was an error.

Subscription URLs often carry a secret (a token in the query or path): logs name the subscription id
and the host only (``http.url_for_log``), never the URL.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from alphasms.appointments.ical import CalendarError
from alphasms.appointments.models import MIN_REFRESH_INTERVAL_S, CalendarSubscription
from alphasms.appointments.services.ics_import import import_ics
from alphasms.conf import app_settings
from alphasms.messaging.gateways import http
from alphasms.messaging.gateways.errors import GatewayError

log = logging.getLogger("alphasms.subscriptions")

#: Longest wait after failures in a row (unless the interval itself is longer).
MAX_BACKOFF = dt.timedelta(hours=24)
#: ``last_result`` of a failed refresh starts with this (staff read it; the backoff relies on it).
ERROR_PREFIX = "Fehler: "


def fetch_calendar(url: str, *, etag: str = "", last_modified: str = "") -> http.HttpResponse:
    """GET ``url`` behind the private-address guard (DESIGN.md invariant 8), connecting to the address
    that passed the guard, at most ``http.MAX_DOWNLOAD_BYTES`` within ``http.DOWNLOAD_DEADLINE_S``;
    conditional when ``etag``/``last_modified`` are given. Raises BlockedAddress or GatewayError."""
    headers = {"Accept": "text/calendar, */*;q=0.5", "User-Agent": "AlphaSMS calendar sync"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return http.get(
        url,
        headers=headers,
        timeout_s=float(app_settings.HTTP_TIMEOUT_S),
        allowed_hosts=app_settings.ALLOWED_PRIVATE_HOSTS,
    )


def next_wait(subscription: CalendarSubscription, failed: bool) -> dt.timedelta:
    """How long until the next refresh, given the subscription's state *before* this refresh.

    Success: the interval (at least ``MIN_REFRESH_INTERVAL_S``). Failure: twice the previous wait when
    the previous refresh failed too, else twice the interval; never more than ``MAX_BACKOFF``.
    """
    interval = dt.timedelta(seconds=max(subscription.refresh_interval_s or 0, MIN_REFRESH_INTERVAL_S))
    if not failed:
        return interval
    previous = interval
    last_failed = subscription.last_result.startswith(ERROR_PREFIX)
    if last_failed and subscription.last_sync_at and subscription.next_refresh_at:
        previous = max(interval, subscription.next_refresh_at - subscription.last_sync_at)
    return min(previous * 2, max(MAX_BACKOFF, interval))


def refresh(subscription: CalendarSubscription, now: dt.datetime | None = None) -> str:
    """Fetch and import one subscription; store and return a one-line result for staff.

    Never raises for a bad subscription: the worker refreshes every subscription in the same loop
    that sends messages, so one broken calendar must not stop the others or the sending.
    """
    now = now or timezone.now()
    where = http.url_for_log(subscription.url)
    failed = True
    try:
        response = fetch_calendar(
            subscription.url, etag=subscription.etag, last_modified=subscription.last_modified
        )
        if response.status == 304:
            result, failed = "unverändert (304)", False
        elif response.status != 200:
            result = f"{ERROR_PREFIX}HTTP {response.status}"
        else:
            report = import_ics(response.body, subscription.location, subscription.url, now=now)
            subscription.etag = response.headers.get("etag", "")
            subscription.last_modified = response.headers.get("last-modified", "")
            result, failed = (
                (
                    f"neu {report.created}, geändert {report.updated}, abgesagt {report.cancelled}, "
                    f"ohne Kunde {len(report.unmatched)}"
                ),
                False,
            )
    except http.BlockedAddress as exc:
        result = f"{ERROR_PREFIX}{exc.user_message}"
    except CalendarError as exc:
        result = f"{ERROR_PREFIX}{exc.german}"  # the stored sync result is German, as the rest of it
    except GatewayError as exc:
        result = f"{ERROR_PREFIX}{exc}"
    except Exception as exc:  # a bug must not stop the worker; logged with its traceback, backs off
        log.exception("subscription %s (%s): refresh failed", subscription.pk, where)
        result = f"{ERROR_PREFIX}interner Fehler ({type(exc).__name__}) – siehe Protokoll"
    wait = next_wait(subscription, failed)
    subscription.last_sync_at = now
    subscription.next_refresh_at = now + wait
    if failed:
        local = subscription.next_refresh_at.astimezone(subscription.location.tz)
        result += f" – nächster Versuch {local:%d.%m.%Y %H:%M}"
    subscription.last_result = result[:2000]
    subscription.save()
    if failed:
        log.warning("subscription %s (%s): %s; next try in %s", subscription.pk, where, result, wait)
    else:
        log.info("subscription %s (%s) refreshed: %s", subscription.pk, where, result)
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
