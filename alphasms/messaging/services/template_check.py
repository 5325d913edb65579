"""Lint a reminder rule's SMS template with the practice's own data (type names, longest names, price)."""

from __future__ import annotations

from django.db.models.functions import Length

from alphasms.appointments.models import AppointmentType, Channel, Customer, Location, ReminderRule
from alphasms.messaging.models import SmsPrice
from alphasms.messaging.template_lint import LintResult, lint_sms_template


def check_rule(rule: ReminderRule) -> LintResult | None:
    """The lint of ``rule``'s body for SMS rules (None for e-mail rules).

    Uses the names of all appointment types, the five longest customer names, the first location and
    the German price (else the "*" price). Raises TemplateError for unknown placeholders.
    """
    if rule.channel != Channel.SMS:
        return None
    longest = Customer.objects.annotate(n=Length("given_name") + Length("family_name")).order_by("-n")[:5]
    location = Location.objects.first()
    price = SmsPrice.objects.filter(country__in=["DE", "*"]).order_by("country").last()
    return lint_sms_template(
        rule.body_template,
        appointment_type_names=list(AppointmentType.objects.values_list("name", flat=True)),
        sample_names=[(c.given_name, c.family_name) for c in longest],
        location=location.name if location else "",
        practice_name=location.name if location else "",
        practice_phone=location.phone if location else "",
        smart_encoding=rule.smart_encoding,
        price_per_part_micros=price.price_per_part_micros if price else None,
        price_currency=price.currency if price else "EUR",
    )
