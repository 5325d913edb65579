"""Consent decisions used by planning and dispatch (GDPR Art. 6(1)(a), Art. 7; STYLE.md §9).

Opt-in is checked in the service layer before a message is planned, and again by the worker before it
is sent. Withdrawal takes effect at once and cancels the person's pending messages on that channel.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from alphasms.appointments.models import Customer
from alphasms.privacy.models import Consent, ConsentSource


def has_consent(customer: Customer, channel: str) -> bool:
    """True when ``customer`` has an opt-in for ``channel`` ("sms"/"email") that is not withdrawn."""
    return Consent.objects.filter(customer=customer, channel=channel, opted_out_at__isnull=True).exists()


def record_opt_in(
    customer: Customer,
    channel: str,
    *,
    source: ConsentSource,
    wording_version: str,
    recorded_by: str,
    at: datetime | None = None,
) -> Consent:
    """Record an opt-in (a new ledger row; earlier rows stay). Returns the existing active row instead
    when one already holds, so repeated imports do not grow the ledger."""
    active = Consent.objects.filter(customer=customer, channel=channel, opted_out_at__isnull=True).first()
    if active is not None:
        return active
    consent = Consent.objects.create(
        customer=customer,
        channel=channel,
        opted_in_at=at or timezone.now(),
        source=source,
        wording_version=wording_version,
        recorded_by=recorded_by,
    )
    # The planner re-checks people whose row changed (appointments.services.planning_scope).
    Customer.objects.filter(pk=customer.pk).update(updated_at=timezone.now())
    return consent


def withdraw(customer: Customer, channel: str, *, source: str, at: datetime | None = None) -> int:
    """Withdraw ``channel`` consent and cancel the person's pending messages on it, in one transaction.

    Returns the number of cancelled messages. Side effects: updates Consent rows, cancels messages.
    """
    from alphasms.messaging.models import OutboundMessage
    from alphasms.messaging.services.lifecycle import cancel_pending

    at = at or timezone.now()
    with transaction.atomic():
        Consent.objects.filter(customer=customer, channel=channel, opted_out_at__isnull=True).update(
            opted_out_at=at, opted_out_source=source
        )
        pending = OutboundMessage.objects.filter(customer=customer, channel=channel)
        return cancel_pending(pending, note=f"consent withdrawn ({source})")
