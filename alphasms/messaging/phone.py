"""Phone numbers as customers type them -> E.164 numbers an SMS gateway can use.

Framework-free (no Django): ``to_e164`` turns one cell of a customer record or an import
("Handy: 0171-2345678", "4915112345678", "+49 (0) 171 2345678", "0171 2345678 / 0551 123456") into a
:class:`PhoneResult` with the E.164 number (ITU-T E.164: "+", country code, national significant number, at
most 15 digits), its libphonenumber type and whether an SMS can reach it.  Anything guessed, ambiguous or
suspicious is reported as a stable slug in ``PhoneResult.flags`` (explained to staff by
:data:`FLAG_MESSAGES`); the input is never silently turned into a different valid number.

Rules (test vectors: ``tests/data/cases/20-*``, ``22-*``, ``24-*``):

* National numbers are read with the customer's country, else with the location's (``default_country``).
* Separators (space, NBSP, ``/ - . ( ) ,``, Unicode dashes) carry no digits; full-width digits are digits;
  letters are labels ("Tel.", "Handy", "mobil", "privat"), never vanity digits (phonenumbers would turn
  "(mobil)" into 66245).  A hyphenated DIN 5008 direct-dial suffix ("07736/9219-0") is part of the number;
  an explicit extension ("App. 12", "Durchwahl 12", "x12", ";ext=12") is dropped and flagged.
* A trunk prefix after the country code ("+49 (0)171 …", ITU-T E.123) is removed and flagged.
* A bare country code ("49 170 …", "4915…"): libphonenumber keeps it as part of a German area code 049x and
  returns a *valid* landline (google/libphonenumber#705, daviddrysdale/python-phonenumbers#238, "working as
  intended").  Digits without "+", "00" or trunk "0" are read as a country code when that is the only valid
  reading, when the code is the reading country's own and that country writes national numbers with a trunk
  prefix, or when it yields a MOBILE number where the national reading does not.
* Several numbers in one cell (confusedbuffalo/phone-report#53) are all kept; the first mobile one is the
  SMS target.
* ``sms_ok`` is True for MOBILE only (the cases' ``sms_only_to``); FIXED_LINE_OR_MOBILE (US/CA) is flagged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType, ValidationResult

__all__ = ["FLAG_MESSAGES", "TYPE_LABELS", "PhoneResult", "redact", "to_e164", "to_msisdn"]

#: ``PhoneResult.type`` (a phonenumbers ``PhoneNumberType`` name, or INVALID) -> (German, English) for people.
TYPE_LABELS: dict[str, tuple[str, str]] = {
    "MOBILE": ("Mobilnummer", "mobile number"),
    "FIXED_LINE": ("Festnetznummer", "landline number"),
    "FIXED_LINE_OR_MOBILE": ("Festnetz- oder Mobilnummer", "landline or mobile number"),
    "TOLL_FREE": ("gebührenfreie Nummer", "toll-free number"),
    "PREMIUM_RATE": ("Mehrwertdienstnummer", "premium-rate number"),
    "SHARED_COST": ("Servicenummer (geteilte Kosten)", "shared-cost number"),
    "VOIP": ("Internettelefonie-Nummer (VoIP)", "VoIP number"),
    "PERSONAL_NUMBER": ("persönliche Rufnummer", "personal number"),
    "PAGER": ("Pager-Nummer", "pager number"),
    "UAN": ("Unternehmensrufnummer", "company number (UAN)"),
    "VOICEMAIL": ("Mailbox-Nummer", "voicemail number"),
    "UNKNOWN": ("Nummernart unbekannt", "unknown kind of number"),
    "INVALID": ("keine gültige Nummer", "not a valid number"),
}

#: Reason codes in ``PhoneResult.flags``: slug -> (German sentence for staff, English sentence).
FLAG_MESSAGES: dict[str, tuple[str, str]] = {
    "empty": ("Keine Telefonnummer eingetragen.", "No phone number was entered."),
    "no_digits": ("Das Feld enthält keine Ziffern.", "The field contains no digits."),
    "invalid": (
        "Keine gültige Telefonnummer erkannt – bitte beim Kunden nachfragen.",
        "No valid phone number recognised – please check with the customer.",
    ),
    "too_short": ("Die Nummer ist zu kurz.", "The number is too short."),
    "too_long": ("Die Nummer ist zu lang.", "The number is too long."),
    "not_mobile": (
        "Keine Mobilnummer – an diese Nummer wird keine SMS geschickt.",
        "Not a mobile number – no SMS is sent to this number.",
    ),
    "fixed_line_or_mobile": (
        "Im Land der Nummer ist nicht erkennbar, ob es eine Mobilnummer ist (z. B. USA/Kanada).",
        "The number's country does not show whether it is a mobile number (e.g. US/Canada).",
    ),
    "country_code_without_plus": (
        "Ländervorwahl ohne + oder 00 geschrieben; als internationale Nummer gelesen – bitte prüfen.",
        "Country code written without + or 00; read as an international number – please check.",
    ),
    "ambiguous_country_code": (
        "Die Ziffern ergeben auch ohne Ländervorwahl eine gültige Nummer – bitte prüfen.",
        "The digits also form a valid number without the country code – please check.",
    ),
    "missing_trunk_zero": (
        "Die führende 0 der Vorwahl fehlt; ergänzt – bitte prüfen.",
        "The leading 0 of the area code is missing; added – please check.",
    ),
    "trunk_zero_removed": (
        "Die (0) nach der Ländervorwahl wurde entfernt.",
        "The trunk prefix (0) after the country code was removed.",
    ),
    "extension_dropped": (
        "Eine Durchwahl/Nebenstelle wurde weggelassen.",
        "An extension was dropped.",
    ),
    "text_ignored": (
        "Text im Feld wurde ignoriert – bitte prüfen, ob er etwas bedeutet.",
        "Text in the field was ignored – please check whether it matters.",
    ),
    "multiple_numbers": (
        "Mehrere Nummern im Feld; die erste Mobilnummer wird für SMS genutzt.",
        "Several numbers in the field; the first mobile number is used for SMS.",
    ),
    "unknown_country": (
        "Das Land des Kunden ist unbekannt; das Land des Standorts wurde verwendet.",
        "The customer's country is not recognised; the location's country was used.",
    ),
    "location_country_used": (
        "Im Land des Kunden ungültig; mit dem Land des Standorts gelesen – bitte prüfen.",
        "Invalid in the customer's country; read with the location's country – please check.",
    ),
    "mobile_in_location_country": (
        "Im Land des Kunden keine Mobilnummer, im Land des Standorts wäre es eine – bitte prüfen.",
        "Not a mobile number in the customer's country, but one in the location's – please check.",
    ),
} | {
    f"assumed_country_{region}": (
        f"Land des Kunden unbekannt; Nummer als Nummer aus {region} gelesen.",
        f"Customer country unknown; the number was read as a number from {region}.",
    )
    for region in sorted(phonenumbers.SUPPORTED_REGIONS)
}

# Flags that mark a guess; a cell is split into several numbers only when no part needed one.
_GUESS_FLAGS = frozenset(
    {"country_code_without_plus", "ambiguous_country_code", "missing_trunk_zero", "location_country_used"}
)
_KNOWN_WORDS = frozenset(
    "tel telefon telephone fon phone nr no nummer handy mobil mobile mobilnummer mobiltelefon cell privat "
    "priv home gesch geschäftlich dienstlich büro buero arbeit work festnetz oder und or and bzw u".split()
)
_EXTENSION = re.compile(
    r";\s*ext=(\d+)|(?<![^\W\d_])(?:ext|extension|durchwahl|dw|app|apparat|nebenstelle|nst|x)(?![^\W\d_])"
    r"\.?\s*:?\s*(\d+)",
    re.IGNORECASE,
)
_STRONG_SEPARATORS = frozenset("/,;|\n+")
_MAX_TOKENS = 24
_MSISDN = re.compile(r"\+[1-9]\d{1,14}")


@dataclass(frozen=True)
class PhoneResult:
    """What ``to_e164`` made of one input.

    ``e164`` is ``"+4915112345678"`` or None when no valid number could be made; ``type`` is a phonenumbers
    ``PhoneNumberType`` name ("MOBILE", "FIXED_LINE", ...) or "INVALID" when ``e164`` is None; ``sms_ok`` is
    True only for MOBILE; ``flags`` are slugs from :data:`FLAG_MESSAGES`; ``alternatives`` are further E.164
    numbers in the same cell; ``region`` is the number's ISO 3166 alpha-2 code (None if none/non-geographic).
    """

    input: str
    e164: str | None
    type: str
    sms_ok: bool
    flags: tuple[str, ...]
    alternatives: tuple[str, ...] = ()
    region: str | None = None


@dataclass(frozen=True)
class _Reading:
    number: PhoneNumber | None  # None or a number that failed validation -> invalid reading
    flags: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.number is not None and phonenumbers.is_valid_number(self.number)

    @property
    def mobile(self) -> bool:
        number = self.number
        return self.valid and number is not None and _type(number) == PhoneNumberType.MOBILE


def to_e164(raw: str, country: str | None = None, default_country: str = "DE") -> PhoneResult:
    """Normalise one typed phone-number cell to E.164.

    ``country`` is the customer's ISO 3166 alpha-2 country (None/"" = unknown; an unknown code is flagged
    ``unknown_country``), ``default_country`` the location's, used when the customer's is unknown.
    Never raises for bad input (the result says ``invalid``/``empty`` instead); raises ``ValueError`` only
    when ``default_country`` is not a region phonenumbers knows (a programming error).
    """
    default = default_country.upper()
    if default not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown default_country {default_country!r}")
    flags: list[str] = []
    customer = (country or "").strip().upper() or None
    if customer is not None and customer not in phonenumbers.SUPPORTED_REGIONS:
        flags.append("unknown_country")
        customer = None
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return PhoneResult(raw, None, "INVALID", False, ("empty",))
    text, n_ext = _EXTENSION.subn(" ", text)
    if n_ext:
        flags.append("extension_dropped")
    tokens, words = _tokenize(text)
    if words - _KNOWN_WORDS:
        flags.append("text_ignored")
    if not tokens:
        return PhoneResult(raw, None, "INVALID", False, (*flags, "no_digits", "invalid"))
    region = customer or default
    fallback = default if customer is not None and customer != default else None

    @cache
    def read(i: int, j: int) -> _Reading:
        plus = "+" in tokens[i][0]
        digits = "".join(d for _, d in tokens[i:j])
        return _read_with_fallback(plus, digits, region, fallback, customer is None)

    whole = read(0, len(tokens))
    parts = [whole] if whole.valid or len(tokens) > _MAX_TOKENS else _split(tokens, read)
    if parts is None:
        parts = [whole]
    for part in parts:
        flags.extend(part.flags)
    parts.sort(key=lambda p: not p.mobile)  # stable: the first mobile number becomes the SMS target
    primary = parts[0]
    if not primary.valid or primary.number is None:
        reason = _invalid_reason(primary.number)
        return PhoneResult(raw, None, "INVALID", False, _dedupe([*flags, "invalid", *reason]))
    alternatives = tuple(dict.fromkeys(_format(p.number) for p in parts if p.number is not None))[1:]
    if alternatives:
        flags.append("multiple_numbers")
    kind = _type(primary.number)
    if kind != PhoneNumberType.MOBILE:
        flags.append("not_mobile")
    if kind == PhoneNumberType.FIXED_LINE_OR_MOBILE:
        flags.append("fixed_line_or_mobile")
    region_code = phonenumbers.region_code_for_number(primary.number)
    return PhoneResult(
        input=raw,
        e164=_format(primary.number),
        type=PhoneNumberType.to_string(kind),
        sms_ok=kind == PhoneNumberType.MOBILE,
        flags=_dedupe(flags),
        alternatives=alternatives,
        region=region_code if region_code and region_code.isalpha() and region_code != "ZZ" else None,
    )


def to_msisdn(e164: str) -> str:
    """``"+4915112345678"`` -> ``"4915112345678"`` (E.164 digits without "+", as SMPP/gateways want them).

    Raises ``ValueError`` unless ``e164`` is "+" followed by 2-15 digits, the first not 0 (ITU-T E.164).
    """
    if not _MSISDN.fullmatch(e164):
        raise ValueError(f"not an E.164 number: {redact(e164)!r}")
    return e164[1:]


def redact(e164: str) -> str:
    """For logs: ``"+4915112345678"`` -> ``"+49•••••••5678"`` (country code and last 4 digits kept).

    Never raises: anything that is not a parseable E.164 number keeps only its last 4 digits.
    """
    digits = "".join(ch for ch in e164 if ch.isdigit())
    cc = ""
    try:
        cc = str(phonenumbers.parse(e164).country_code) if e164.startswith("+") else ""
    except NumberParseException:
        pass
    rest = digits[len(cc) :] if digits.startswith(cc) else digits
    shown = rest[-4:] if len(rest) > 4 else ""
    return ("+" + cc if cc else "") + "•" * (len(rest) - len(shown)) + shown


def _tokenize(text: str) -> tuple[list[tuple[str, str]], set[str]]:
    """Split into ``(separator_before, digit_run)`` pairs; words become a strong separator ``|``."""
    tokens: list[tuple[str, str]] = []
    words: set[str] = set()
    sep, digits, word = "", "", ""
    for ch in text + " ":
        value = unicodedata.decimal(ch, None)
        if ch.isalpha():
            word += ch
            continue
        if word:
            words.add(word.lower())
            sep, word = sep + "|", ""
        if value is not None:
            digits += str(value)
            continue
        if digits:
            tokens.append((sep, digits))
            sep, digits = "", ""
        sep += ch
    return tokens, words


def _split(tokens: list[tuple[str, str]], read: Callable[[int, int], _Reading]) -> list[_Reading] | None:
    """Cut the digit runs into the fewest valid numbers (preferring strong separators), or None."""
    n = len(tokens)
    best: dict[int, tuple[tuple[int, int], list[_Reading]] | None] = {n: ((0, 0), [])}
    for i in range(n - 1, -1, -1):
        best[i] = None
        for j in range(i + 1, n + 1):
            if any("+" in tokens[k][0] for k in range(i + 1, j)):
                break  # a "+" always starts a new number
            rest = best[j]
            reading = read(i, j)
            if rest is None or not reading.valid or _GUESS_FLAGS.intersection(reading.flags):
                continue
            weak = 0 if j == n or _STRONG_SEPARATORS.intersection(tokens[j][0]) else 1
            cost = (rest[0][0] + 1, rest[0][1] + weak)
            current = best[i]
            if current is None or cost < current[0]:
                best[i] = (cost, [reading, *rest[1]])
    result = best[0]
    return result[1] if result is not None and len(result[1]) > 1 else None


def _read_with_fallback(
    plus: bool, digits: str, region: str, fallback: str | None, assumed: bool
) -> _Reading:
    """Read with the customer's/assumed country; compare with the location's country where it matters."""
    reading = _read(plus, digits, region)
    national = not plus and not digits.startswith("00")
    if assumed and national and "country_code_without_plus" not in reading.flags:
        reading = _Reading(reading.number, (*reading.flags, f"assumed_country_{region}"))
    if fallback is None or not national:
        return reading
    other = _read(plus, digits, fallback)
    if not reading.valid and other.valid:
        return _Reading(other.number, (*other.flags, "location_country_used"))
    if reading.valid and not reading.mobile and other.mobile:
        return _Reading(reading.number, (*reading.flags, "mobile_in_location_country"))
    return reading


def _read(plus: bool, digits: str, region: str) -> _Reading:
    """One digit string, written with "+" / "00" / trunk "0" / nothing in front, read in ``region``."""
    if plus:
        return _parse_international(digits)
    if digits.startswith("0"):
        if digits.startswith("00"):
            reading = _parse_international(digits[2:])
            if reading.valid:
                return reading
        return _Reading(_parse(digits, region))
    # No prefix at all: national number without trunk prefix, or a country code without "+".
    national = _Reading(PhoneNumber(country_code=_country_code(region), national_number=int(digits)))
    intl = _parse_international(digits)
    own_code = intl.number is not None and intl.number.country_code == _country_code(region)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    trunk_country = metadata is not None and bool(metadata.national_prefix)
    prefer_intl = not national.valid or (own_code and trunk_country) or (intl.mobile and not national.mobile)
    if intl.valid and prefer_intl:
        extra = ("ambiguous_country_code",) if national.valid else ()
        return _Reading(intl.number, ("country_code_without_plus", *extra, *intl.flags))
    flags = ("ambiguous_country_code",) if intl.mobile and national.valid else ()
    if trunk_country and national.valid:
        flags = ("missing_trunk_zero", *flags)
    return _Reading(national.number, flags)


def _parse_international(digits: str) -> _Reading:
    """``digits`` after "+"; flags a trunk prefix that followed the country code ("+49 (0)171 ...")."""
    number = _parse("+" + digits, None)
    if number is None:
        return _Reading(None)
    rest = digits[len(str(number.country_code)) :]
    nsn = phonenumbers.national_significant_number(number)
    trunk = rest != nsn and rest.endswith(nsn) and phonenumbers.is_valid_number(number)
    return _Reading(number, ("trunk_zero_removed",) if trunk else ())


def _parse(text: str, region: str | None) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException:
        return None


def _invalid_reason(number: PhoneNumber | None) -> tuple[str, ...]:
    if number is None:
        return ()
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return ("too_short",)
    if reason == ValidationResult.TOO_LONG:
        return ("too_long",)
    return ()


def _type(number: PhoneNumber) -> int:
    return phonenumbers.number_type(number)


def _country_code(region: str) -> int:
    return phonenumbers.country_code_for_region(region)


def _format(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _dedupe(flags: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(flags))
