"""Calendar subscriptions in the web app: listing with masked URLs, adding behind the private-address
guard, changing the interval, removing and "refresh now" (a background task running the worker's own
``alphasms.appointments.services.subscriptions.refresh``).
"""

from __future__ import annotations

import logging
import re
import urllib.parse

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_tasks import task

from alphasms.appointments.models import CalendarSubscription, Location
from alphasms.appointments.services.subscriptions import ERROR_PREFIX, refresh
from alphasms.messaging.gateways.http import ELLIPSIS, redact_url, url_for_log

log = logging.getLogger("alphasms.web.subscriptions")

# A path segment that looks like a secret: Google's "private-<hex>", or 16+ characters of letters and
# digits mixed (Nextcloud and Outlook share tokens). Ordinary names ("basic.ics", "calendar") stay.
_TOKEN = re.compile(r"^(private-|public-)?(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}")


def mask_url(url: str) -> str:
    """``url`` as staff may see it on screen: no user name or password, every query value "…", and
    secret-looking path segments cut to their first four characters and "…".

    >>> mask_url("https://u:pw@calendar.google.com/calendar/ical/x%40group/private-0a1b2c3d4e5f6a7b8c9d/basic.ics?t=1")
    'https://calendar.google.com/calendar/ical/x%40group/priv…/basic.ics?t=…'
    """
    redacted = redact_url(url)
    try:
        parts = urllib.parse.urlsplit(redacted)
    except ValueError:
        return url_for_log(url)
    segments = [
        segment[:4] + ELLIPSIS if _TOKEN.match(segment) else segment for segment in parts.path.split("/")
    ]
    return urllib.parse.urlunsplit(parts._replace(path="/".join(segments)))


def failed(subscription: CalendarSubscription) -> bool:
    """True when the last refresh failed (its result starts with ``ERROR_PREFIX``)."""
    return subscription.last_result.startswith(ERROR_PREFIX)


def listing() -> list[CalendarSubscription]:
    """Every subscription with its location, by location and name."""
    return list(
        CalendarSubscription.objects.select_related("location").order_by("location__name", "name", "pk")
    )


def create(name: str, url: str, location: Location, interval_s: int) -> CalendarSubscription:
    """Add a subscription after the model's validation (interval ≥ 60 s, URL length, the private-address
    guard of DESIGN.md invariant 8); raises ValidationError (field → messages) and saves nothing then.
    The worker fetches it on its next pass (``next_refresh_at`` empty = due)."""
    subscription = CalendarSubscription(
        name=name.strip()[:200], url=url.strip(), location=location, refresh_interval_s=interval_s
    )
    if CalendarSubscription.objects.filter(url=subscription.url, location=location).exists():
        raise ValidationError({"url": _("This calendar is already subscribed for this location.")})
    subscription.full_clean()
    subscription.save()
    log.info("subscription %s added (%s)", subscription.pk, url_for_log(subscription.url))
    return subscription


def set_interval(subscription: CalendarSubscription, interval_s: int) -> None:
    """Change the refresh interval (seconds, validated like the model: at least 60); raises
    ValidationError. The next refresh is due at once, so the new interval counts from now."""
    subscription.refresh_interval_s = interval_s
    subscription.full_clean(exclude=["url"])  # the URL was checked when added; the worker checks each fetch
    subscription.next_refresh_at = None
    subscription.save(update_fields=["refresh_interval_s", "next_refresh_at"])


def remove(subscription: CalendarSubscription) -> None:
    """Delete the subscription. Its appointments stay (they are the practice's calendar entries)."""
    log.info("subscription %s removed", subscription.pk)
    subscription.delete()


@task()
def refresh_task(subscription_id: int) -> str:
    """Background task behind "refresh now": the worker's refresh of one subscription; returns its
    one-line result ("" when the subscription was removed meanwhile)."""
    subscription = CalendarSubscription.objects.select_related("location").filter(pk=subscription_id).first()
    if subscription is None:
        return ""
    return refresh(subscription)
