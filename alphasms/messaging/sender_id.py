"""Sender IDs: validate the configured sender and pick the one a destination country delivers.

Framework-free (no Django).  A sender ID is what the handset shows as the sender (STYLE.md §3):

* **alphanumeric**: 1–11 characters from ``A–Z a–z 0–9`` and space, not digits only.  TP-OA with TON 5
  packs at most 11 GSM 7-bit characters into 10 octets (3GPP TS 23.040 §9.1.2.5).  The character set is
  the issue's and the one Twilio and Telnyx document (https://www.twilio.com/docs/glossary/what-alphanumeric-sender-id,
  https://developers.telnyx.com/docs/messaging/messages/alphanumeric-sender-id, both read 2026-11-30).  It
  is narrower than the rule in shared/reference/sms-providers.md §3.2, which also allows ``. - _ & +``.
  Umlauts and ``ß`` are rejected because many routes mangle them (§3.2).  Recipients cannot reply (§3.1).
* **numeric**: an E.164 number: ``+`` and at most 15 digits (ITU-T E.164).

:data:`DESTINATION_RULES` says, per destination country, whether an alphanumeric ID is delivered and
whether our numeric sender is.  Our numeric sender is the practice's own long number, usually a DACH
one, so it is a *foreign* number everywhere else.  The DE, AT and CH rows come from the reference file
(§3.3, where the aggregator sources are marked unverified).  The other rows come from the provider pages
cited in each row, read through the search index on 2026-11-30.  Where the sources disagree or are thin,
a row is conservative (``registered_only`` and/or no numeric sender), and its note says so.  Confirm each
row with the provider in use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import phonenumbers

__all__ = ["DEFAULT_POLICY", "DESTINATION_RULES", "AlphaRule", "DestinationPolicy", "SenderDecision",
           "SenderIdError", "SenderKind", "choose_sender", "parse_sender_id"]  # fmt: skip

MAX_ALPHANUMERIC_CHARS = 11  # TS 23.040 §9.1.2.5: 10 octets of packed GSM 7-bit
MAX_E164_DIGITS = 15  # ITU-T E.164
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9 ]+")
_NUMBER = re.compile(r"\+?[0-9]+")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


class SenderKind(StrEnum):
    """``alphanumeric``: a name, one-way.  ``numeric``: an E.164 number that recipients can reply to."""

    ALPHANUMERIC = "alphanumeric"
    NUMERIC = "numeric"


class SenderIdError(ValueError):
    """A sender ID that is invalid or can't be used for a destination.  Permanent: retrying can't help.

    ``str(error)`` is a German sentence for staff that names the field (Absenderkennung) and the fix.
    ``error.en`` gives the same in English.
    """

    def __init__(self, message: str, en: str) -> None:
        super().__init__(message)
        self.en = en


def _hint(value: str) -> str:
    """' (z. B. „Dr Mueller“)': a valid spelling of ``value`` with umlauts written out, or ''."""
    kept = "".join(c for c in value.translate(_UMLAUTS) if _ALPHANUMERIC.fullmatch(c))
    cleaned = " ".join(kept.split())[:MAX_ALPHANUMERIC_CHARS].strip()
    return f" (z. B. „{cleaned}“)" if cleaned and not cleaned.isdigit() else ""


def _parse_number(value: str, digits: str) -> str:
    if len(digits) > MAX_E164_DIGITS:
        raise SenderIdError(
            f"Absenderkennung „{value}“ hat {len(digits)} Ziffern, eine internationale Nummer (E.164)"
            f" höchstens {MAX_E164_DIGITS} – bitte die Nummer prüfen und als +49… eintragen.",
            f"Sender ID {value!r} has {len(digits)} digits; an E.164 number has at most {MAX_E164_DIGITS}"
            " - check the number and enter it as +49….",
        )
    try:
        possible = phonenumbers.is_possible_number(phonenumbers.parse("+" + digits))
    except phonenumbers.NumberParseException:
        possible = False
    if not possible:
        raise SenderIdError(
            f"Absenderkennung „{value}“ besteht nur aus Ziffern, ist aber keine internationale Nummer –"
            " für eine Absendernummer bitte +49… mit Ländervorwahl verwenden (z. B. +4915112345678).",
            f"Sender ID {value!r} is digits only but not a valid E.164 number - use +49… for a numeric"
            " sender (e.g. +4915112345678).",
        )
    return "+" + digits


def parse_sender_id(value: str) -> tuple[SenderKind, str]:
    """Validate one configured sender ID; return ``(kind, normalised)``.

    Digits only, optionally with ``+`` and spaces, is numeric and is returned as E.164 with ``+``
    ("4915112345678" → "+4915112345678").  Anything else is alphanumeric and is returned stripped.
    Raises :class:`SenderIdError` for: an empty or blank value; more than 11 alphanumeric characters;
    characters outside ``A–Z a–z 0–9`` and space (umlauts, punctuation, ``_``); digits that aren't a
    possible E.164 number (phonenumbers' length check per country code, so a national "0151…" fails);
    more than 15 digits.
    """
    text = value.strip()
    if not text:
        raise SenderIdError(
            "Absenderkennung fehlt – bitte einen Namen (höchstens 11 Zeichen: A–Z, a–z, 0–9, Leerzeichen)"
            " oder eine Nummer wie +4915112345678 eintragen.",
            "Sender ID is empty - enter a name (at most 11 characters: A-Z, a-z, 0-9, space) or a number"
            " such as +4915112345678.",
        )
    compact = text.replace(" ", "")
    if _NUMBER.fullmatch(compact):
        return SenderKind.NUMERIC, _parse_number(text, compact.lstrip("+"))
    if not _ALPHANUMERIC.fullmatch(text):
        bad = "".join(sorted({c for c in text if not _ALPHANUMERIC.fullmatch(c)}))
        raise SenderIdError(
            f"Absenderkennung „{text}“ enthält nicht erlaubte Zeichen „{bad}“ – erlaubt sind nur A–Z, a–z,"
            f" 0–9 und Leerzeichen; Umlaute bitte ausschreiben (ü → ue), Satzzeichen weglassen{_hint(text)}.",
            f"Sender ID {text!r} contains characters that are not allowed ({bad!r}) - use only A-Z, a-z,"
            " 0-9 and space; write umlauts out (ü -> ue) and drop punctuation.",
        )
    if len(text) > MAX_ALPHANUMERIC_CHARS:
        raise SenderIdError(
            f"Absenderkennung „{text}“ hat {len(text)} Zeichen, erlaubt sind höchstens"
            f" {MAX_ALPHANUMERIC_CHARS} – bitte kürzen{_hint(text)}.",
            f"Sender ID {text!r} has {len(text)} characters; at most {MAX_ALPHANUMERIC_CHARS} are allowed"
            " - shorten it.",
        )
    return SenderKind.ALPHANUMERIC, text


AlphaRule = Literal["allowed", "registered_only", "not_supported"]


@dataclass(frozen=True)
class DestinationPolicy:
    """Sender rules for recipients in one country.

    ``country`` is ISO 3166 alpha-2 ("ZZ", phonenumbers' unknown region, for :data:`DEFAULT_POLICY`).
    ``alphanumeric`` is "allowed" (delivered without registration), "registered_only" (delivered only
    when the tenant registered the ID for this country) or "not_supported".  ``numeric_allowed`` says
    whether our foreign numeric sender is delivered.  ``note`` is one German sentence for staff.
    ``source`` says where the row's facts come from.
    """

    country: str
    alphanumeric: AlphaRule
    numeric_allowed: bool
    note: str
    source: str


_REF = "shared/reference/sms-providers.md §3.3 (marked unverified there): "
_READ = " (read 2026-11-30)"
_NANP_SOURCE = (
    "https://developers.telnyx.com/docs/messaging/messages/alphanumeric-sender-id; "
    "https://docs.aws.amazon.com/sms-voice/latest/userguide/sender-id.html" + _READ
)
_NANP_NOTE = "Keine Namen als Absender; die Absendernummer muss dort registriert sein (10DLC/Toll-free)."
_CM = "https://knowledgecenter.cm.com/knowledge-center/communications-platform/sms/is-it-possible-to-use-a-custom-sender-name-sender-"

DEFAULT_POLICY = DestinationPolicy(
    "ZZ", "allowed", True, "Für dieses Land ist keine geprüfte Regel hinterlegt; es gilt die Standardregel.",
    "AlphaSMS assumption, no country source: outside North America most countries accept both kinds",
)  # fmt: skip

#: ISO 3166 alpha-2 → policy; "DEFAULT" holds :data:`DEFAULT_POLICY`, used for every country not listed.
DESTINATION_RULES: dict[str, DestinationPolicy] = {"DEFAULT": DEFAULT_POLICY} | {p.country: p for p in (
    DestinationPolicy("DE", "allowed", True, "Namen ohne Registrierung, aber keine generischen (INFO, SMS);"
        " die Absendernummer muss der Praxis gehören.", _REF + "SureSMS country page DE"),
    DestinationPolicy("AT", "registered_only", True, "Seit 01.10.2026 werden nur beim RTR (eRTR) registrierte"
        " Namen zugestellt; Nummern sind nicht betroffen.", _REF + "Infobip 'Austria sender registration'"),
    DestinationPolicy("CH", "allowed", True, "Namen erlaubt, generische blockiert; Nummern vor allem für"
        " Antworten.", _REF + "SureSMS country page CH"),
    DestinationPolicy("NL", "allowed", True, "Namen und Nummern ohne Registrierung; Nummern laut SureSMS nur"
        " für Zwei-Wege-Verkehr.", f"{_CM}; https://suresms.com/en/resources/country-specific-rules-and-"
        "restrictions/netherlands/" + _READ),
    DestinationPolicy("BE", "allowed", False, "Betreiber ersetzen Namen oft durch eine Nummer, stellen aber"
        " zu; ausländische Nummern werden gefiltert.", "https://www.openmarket.com/docs/Content/globalcoverage/"
        "country/belgium.htm; https://help.salesforce.com/s/articleView?id=000380716&type=1" + _READ),
    DestinationPolicy("FR", "registered_only", False, "Quellen uneins, ob Namen registriert sein müssen"
        " (vorsichtig: ja); Nummern blockieren die Betreiber.", f"{_CM} (no registration) vs https://"
        "developers.telnyx.com/docs/messaging/messages/international-sms-compliance (OACP); https://"
        "help.withallo.com/en/api-reference/sms/send-sms-france (ARCEP: numbers blocked)" + _READ),
    DestinationPolicy("IT", "registered_only", False, "Namen nur nach AGCOM-Registrierung (Alias-Register);"
        " ausländische Nummern nicht unterstützt.", "https://www.twilio.com/en/guidelines/it/sms (AGCOM"
        " 42/13/CIR); https://help.salesforce.com/s/articleView?id=mktg.um_channel_sms_italy.htm" + _READ),
    DestinationPolicy("ES", "registered_only", True, "Seit 15.09.2026 nur im CNMC-Alias-Register eingetragene"
        " Namen; Nummern sind nicht betroffen.", "https://docs.aws.amazon.com/end-user-messaging/latest/"
        "userguide/nx-country-reg-es.html" + _READ),
    DestinationPolicy("PL", "allowed", True, "Namen ohne Registrierung; Nummern laut SureSMS nur für"
        " Zwei-Wege-Verkehr (nur Sekundärquellen).", "https://suresms.com/en/reglas-por-pais/poland/;"
        " https://www.sent.dm/resources/poland-sms-guide" + _READ),
    DestinationPolicy("TR", "registered_only", False, "Betreiber filtern Nummern und nicht registrierte"
        " Namen.", "https://www.twilio.com/en/guidelines/tr/sms" + _READ),
    DestinationPolicy("GB", "allowed", False, "Markennamen erlaubt (Registrierung empfohlen); Nummern außer"
        " +44 werden seit 2023 blockiert.", "https://www.clickatell.com/sms-country-regulations/united-"
        "kingdom/; https://support.messagemedia.com/hc/en-us/articles/7060182992271" + _READ),
    DestinationPolicy("US", "not_supported", True, _NANP_NOTE, _NANP_SOURCE),
    DestinationPolicy("CA", "not_supported", True, _NANP_NOTE, _NANP_SOURCE),
    DestinationPolicy("PR", "not_supported", True, _NANP_NOTE, _NANP_SOURCE),
)}  # fmt: skip

_IN_COUNTRY = {"DE": "Deutschland", "AT": "Österreich", "CH": "der Schweiz", "NL": "den Niederlanden",
    "BE": "Belgien", "FR": "Frankreich", "IT": "Italien", "ES": "Spanien", "PL": "Polen", "TR": "der Türkei",
    "GB": "Großbritannien", "US": "den USA", "CA": "Kanada", "PR": "Puerto Rico"}  # fmt: skip


@dataclass(frozen=True)
class SenderDecision:
    """The sender to use: ``sender_id`` (normalised as by :func:`parse_sender_id`), its ``kind``, and
    ``warnings``: German sentences for staff, empty when nothing needs attention."""

    sender_id: str
    kind: SenderKind
    warnings: tuple[str, ...]


def _configured(value: str | None, kind: SenderKind) -> str | None:
    if value is None or not value.strip():
        return None  # None or "" (a blank form field) means "not configured"
    parsed_kind, normalised = parse_sender_id(value)
    if parsed_kind is not kind:
        field = "Name" if kind is SenderKind.ALPHANUMERIC else "Absendernummer"
        raise SenderIdError(
            f"Absenderkennung „{value.strip()}“ steht im Feld „{field}“ – bitte ins passende Feld eintragen.",
            f"Sender ID {value.strip()!r} is in the {kind} field - move it to the matching field.",
        )
    return normalised


def _destination_country(destination_e164: str) -> str:
    try:
        number = phonenumbers.parse(destination_e164)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"destination_e164 must be an E.164 number, got {destination_e164!r}") from exc
    # None for a number invalid in its region (+1 555…): its code's main region keeps it out of the default
    region = phonenumbers.region_code_for_number(number)
    return region or phonenumbers.region_code_for_country_code(number.country_code or 0)


def _fixes(policy: DestinationPolicy, alpha: str | None, country: str) -> tuple[list[str], list[str]]:
    fixes_de, fixes_en = [], []
    if policy.numeric_allowed:
        fixes_de.append("eine Absendernummer (z. B. +49…) einrichten")
        fixes_en.append("configure a numeric sender (e.g. +49…)")
    if policy.alphanumeric == "registered_only":
        name_de, name_en = (f"„{alpha}“", repr(alpha)) if alpha else ("einen Namen", "an alphanumeric ID")
        fixes_de.append(f"{name_de} für {country} über den Anbieter registrieren und hier eintragen")
        fixes_en.append(f"register {name_en} for {country} (through the provider) and mark it as registered")
    elif policy.alphanumeric == "allowed" and alpha is None:
        fixes_de.append("einen Namen als Absenderkennung einrichten")
        fixes_en.append("configure an alphanumeric sender ID")
    return fixes_de, fixes_en


def choose_sender(
    destination_e164: str,
    alphanumeric: str | None,
    numeric: str | None,
    registered_countries: frozenset[str] = frozenset(),
) -> SenderDecision:
    """Pick the sender for one recipient.  No side effects.

    ``destination_e164`` is the recipient ("+43664…"); phonenumbers gives its country.  ``alphanumeric``
    and ``numeric`` are the tenant's configured senders (None or blank: not configured).
    ``registered_countries`` holds ISO codes where the tenant registered its alphanumeric ID.
    The alphanumeric ID is used where :data:`DESTINATION_RULES` allows it, or where it's registered.
    Otherwise the numeric sender is used; if an alphanumeric ID was configured, a warning names the
    country and the reason.  A country missing from the table gets :data:`DEFAULT_POLICY` and a warning.
    Raises :class:`SenderIdError` (permanent) when a configured sender is invalid or in the wrong field,
    or when neither is usable for the country.  The message names the fix: configure a numeric sender,
    or register the ID.  Raises ``ValueError`` when ``destination_e164`` can't be parsed.
    """
    country = _destination_country(destination_e164)
    policy = DESTINATION_RULES.get(country, DEFAULT_POLICY)
    alpha = _configured(alphanumeric, SenderKind.ALPHANUMERIC)
    number = _configured(numeric, SenderKind.NUMERIC)
    where = f"{_IN_COUNTRY[country]} ({country})" if country in _IN_COUNTRY else country
    warnings = [f"Empfänger in {where}: {policy.note}"] if policy is DEFAULT_POLICY else []
    registered = country in {code.upper() for code in registered_countries}
    if policy.alphanumeric == "not_supported":
        why_de, why_en = "dort werden keine Namen als Absender zugestellt", "is not supported there"
    elif policy.alphanumeric == "registered_only" and not registered:
        why_de = (
            f"dort werden nur registrierte Namen zugestellt, {country} ist nicht als registriert eingetragen"
        )
        why_en = f"is delivered only when registered, and {country} is not marked as registered"
    elif alpha is not None:
        return SenderDecision(alpha, SenderKind.ALPHANUMERIC, tuple(warnings))
    else:
        why_de, why_en = "kein Name als Absenderkennung eingerichtet", "is not configured"
    if number is not None and policy.numeric_allowed:
        if alpha is not None:
            warnings.append(
                f"Empfänger in {where}: Absender {number} statt „{alpha}“ ({why_de}). {policy.note}"
            )
        return SenderDecision(number, SenderKind.NUMERIC, tuple(warnings))
    fixes_de, fixes_en = _fixes(policy, alpha, country)
    numeric_de, numeric_en = ("keine Nummer eingerichtet", "not configured") if policy.numeric_allowed else (
        "Nummern werden nicht zugestellt", "not delivered")  # fmt: skip
    raise SenderIdError(
        f"Keine nutzbare Absenderkennung für Empfänger in {where}: {why_de}; {numeric_de}. Abhilfe:"
        f" {' oder '.join(fixes_de) or 'keine, SMS dorthin sind nicht möglich'}. {policy.note}",
        f"No usable sender ID for recipients in {country}: an alphanumeric ID {why_en}; a numeric sender is"
        f" {numeric_en}. Fix: {' or '.join(fixes_en) or 'none, SMS cannot be sent there'}.",
    )
