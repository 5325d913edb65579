"""Form fields for exact SMS money: an amount typed in currency units, stored in micros.

Used by the admin (SMS prices, location budgets) and the web app's Settings → General, so both accept
the same input (up to 6 decimals, e.g. 0.075 or 0,0797 with a German locale) and both refuse what cannot
be stored exactly instead of rounding it (``messaging/money.py``).
"""

from __future__ import annotations

import decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from alphasms.messaging.money import MICRO_DIGITS, exact_amount, to_micros


class AmountField(forms.DecimalField):
    """A non-negative amount in currency units with at most 6 decimals; ``to_micros(value)`` gives the
    stored integer. Django's DecimalField messages name the limit ("no more than 6 decimal places")."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("decimal_places", MICRO_DIGITS)
        kwargs.setdefault("max_digits", 15)  # up to 999,999,999 currency units
        super().__init__(**kwargs)


def micros_or_none(value: decimal.Decimal | None) -> int | None:
    """The cleaned AmountField ``value`` as micros (None stays None)."""
    return None if value is None else to_micros(value)


def initial_amount(micros: int | None, currency: str) -> decimal.Decimal | None:
    """A stored micros amount as the form's initial value, without needless zeros (75000 → 0.075)."""
    return None if micros is None else exact_amount(micros, currency)


def clean_country_code(value: str, *, allow_any: bool = False) -> str:
    """``value`` upper-cased and checked: an ISO 3166-1 alpha-2 code phonenumbers knows, or "*" when
    ``allow_any``. Raises ValidationError naming the value and the fix."""
    from alphasms.appointments.models import validate_country

    code = value.strip().upper()
    if allow_any and code == "*":
        return code
    try:
        validate_country(code)
    except ValidationError:
        message = (
            _(
                "“%(value)s” is not a country code: use two letters as in ISO 3166-1, e.g. DE, AT or "
                "CH, or * for all other countries."
            )
            if allow_any
            else _("“%(value)s” is not a country code: use two letters as in ISO 3166-1, e.g. DE, AT or CH.")
        )
        raise ValidationError(message, params={"value": code}, code="invalid_country") from None
    return code
