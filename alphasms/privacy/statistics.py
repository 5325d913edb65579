"""Anonymised statistics: counts per location, month and channel — off unless switched on.

Switched on globally with ALPHASMS_STATISTICS (default off, GDPR Art. 25(2)); a person who objected
(GDPR Art. 21, ``StatisticsObjection``) is never counted. Counts are incremented as messages reach a
final state and never recomputed, so erasing a person leaves them unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import F

from alphasms.conf import app_settings
from alphasms.privacy.models import MonthlyStatistic, StatisticsObjection

if TYPE_CHECKING:
    from alphasms.messaging.models import OutboundMessage

# Message status → the counter it increments.
COUNTERS = {
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "expired": "failed",
    "cancelled": "cancelled",
}


def count_status(message: OutboundMessage, status: str) -> bool:
    """Increment the month's counter for ``status`` unless statistics are off or the person objected.
    Returns whether it counted. Side effect: one upsert of MonthlyStatistic."""
    counter = COUNTERS.get(status)
    if counter is None or not app_settings.STATISTICS:
        return False
    if StatisticsObjection.objects.filter(customer_id=message.customer_id).exists():
        return False
    location = message.appointment.location
    month = message.due_at.astimezone(location.tz).date().replace(day=1)
    row, _ = MonthlyStatistic.objects.get_or_create(
        location_id=location.pk, month=month, channel=message.channel
    )
    MonthlyStatistic.objects.filter(pk=row.pk).update(**{counter: F(counter) + 1})
    return True
