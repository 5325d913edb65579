"""Form fields for exact SMS money: an amount typed in currency units, stored in micros.

Used by the admin (SMS prices, location budgets) and the web app's Settings → General, so both accept
the same input (up to 6 decimals, e.g. 0.075 or 0,075 — a decimal comma in every UI language) and
both refuse what cannot be stored exactly instead of rounding it (``messaging/money.py``).
"""

from __future__ import annotations

import decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
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

    def to_python(self, value: Any) -> decimal.Decimal | None:  # type: ignore[override]
        """Accept a decimal comma as well as a decimal point in every UI language ("0,075" and "0.075").

        A single comma with no point is the decimal separator — except, in English, a comma followed by
        exactly three digits after a non-zero whole part ("1,000"), where it may group thousands: that
        is refused with an error saying how to write it instead of guessing. Anything with both signs
        ("1.000,5") is refused as before (Django's "Enter a number")."""
        if isinstance(value, str):
            text = value.strip().replace(" ", "")
            if text.count(",") == 1 and "." not in text:
                whole, _sep, fraction = text.partition(",")
                english = (get_language() or "").startswith("en")
                if english and len(fraction) == 3 and whole.lstrip("+-").strip("0"):
                    raise ValidationError(
                        _(
                            "“%(value)s” is ambiguous: write the amount without thousands separators and "
                            "with a decimal point or comma, e.g. 1000 or 1.5."
                        ),
                        params={"value": value.strip()},
                        code="ambiguous",
                    )
                text = f"{whole}.{fraction}"
            value = text
        result: decimal.Decimal | None = super().to_python(value)
        return result


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
