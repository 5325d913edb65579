"""Exact SMS money: amounts are integers in *micros*, millionths of the currency unit.

SMS prices are often fractions of a cent (seven.io 0.075 €, Twilio $0.0797 per part), so prices, message
costs, monthly spend and budgets are stored and summed as integers in micros (1 € = 1,000,000 micros;
0.075 € = 75,000) — the unit the Google Ads API calls ``*_micros``. Integers keep sums exact on SQLite
too, whose decimal columns are floating point. The unit does not depend on the currency's minor unit
(EUR 2 digits, JPY 0, KWD 3; ISO 4217), and 6 decimals cover every provider price we know.

Rounding happens only when an amount is shown:

- ``format_price``: a price or a single message's cost with its full precision, never fewer digits than
  the currency's minor unit ("0,075 €", "0,225 €", "0,08 €", "25,00 €");
- ``format_total``: a sum (a run's cost, a month's spend) rounded half up to the currency's minor unit
  ("0,23 €" for 0.225 €).

Framework-free (babel only, for the locale's number format).
"""

from __future__ import annotations

import decimal

from babel.numbers import format_currency, get_currency_precision

MICROS_PER_UNIT = 1_000_000
MICRO_DIGITS = 6  # decimals of the currency unit a micros amount holds


def to_micros(amount: decimal.Decimal | int | str) -> int:
    """``amount`` in currency units (e.g. Decimal("0.075")) as micros (75000). Exact: raises
    ValueError when the amount has more than 6 decimals or is not a finite number."""
    try:
        value = decimal.Decimal(amount)
    except decimal.InvalidOperation as exc:
        raise ValueError(f"{amount!r} is not a number") from exc
    if not value.is_finite():
        raise ValueError(f"{amount!r} is not a finite number")
    micros = value.scaleb(MICRO_DIGITS)
    if micros != micros.to_integral_value():
        raise ValueError(f"{amount} has more than {MICRO_DIGITS} decimals")
    return int(micros)


def from_micros(micros: int) -> decimal.Decimal:
    """``micros`` as an exact Decimal of currency units with 6 decimals (75000 → Decimal("0.075000"))."""
    return decimal.Decimal(micros).scaleb(-MICRO_DIGITS)


def currency_digits(currency: str) -> int:
    """Digits of the currency's minor unit (EUR 2, JPY 0, KWD 3; ISO 4217 via babel; 2 if unknown)."""
    return int(get_currency_precision(currency or "EUR"))


def exact_amount(micros: int, currency: str) -> decimal.Decimal:
    """``micros`` as currency units without trailing zeros beyond the currency's minor unit
    (75000 EUR → 0.075, 80000 EUR → 0.08, 25000000 EUR → 25.00)."""
    value = from_micros(micros)
    for scale in range(currency_digits(currency), MICRO_DIGITS):
        shorter = value.quantize(decimal.Decimal(1).scaleb(-scale))
        if shorter == value:
            return shorter
    return value


def rounded_amount(micros: int, currency: str) -> decimal.Decimal:
    """``micros`` rounded half up to the currency's minor unit (225000 EUR → 0.23)."""
    step = decimal.Decimal(1).scaleb(-currency_digits(currency))
    return from_micros(micros).quantize(step, rounding=decimal.ROUND_HALF_UP)


def amount_text(micros: int, currency: str) -> str:
    """The exact amount as a plain decimal string for machine output (225000 EUR → "0.225")."""
    return str(exact_amount(micros, currency))


def format_price(micros: int, currency: str, locale: str = "de") -> str:
    """A price or one message's cost with full precision for ``locale`` (babel locale id, e.g. "de",
    "en"): 75000 EUR → "0,075 €"; 80000 EUR → "0,08 €"."""
    return str(
        format_currency(exact_amount(micros, currency), currency, locale=locale, decimal_quantization=False)
    )


def format_total(micros: int, currency: str, locale: str = "de") -> str:
    """A sum rounded half up to the currency's minor unit for ``locale``: 225000 EUR → "0,23 €"."""
    return str(format_currency(rounded_amount(micros, currency), currency, locale=locale))
