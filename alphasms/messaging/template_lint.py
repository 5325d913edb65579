"""Lint for SMS reminder templates: does the text reveal why the customer comes, and what does it cost?

An SMS preview shows on the lock screen, where anyone near the phone can read it. That a person attends
a physiotherapy, psychotherapy or vaccination appointment is health data (GDPR Art. 9(1)); for
practitioners bound by professional secrecy, disclosing it is an offence (§ 203 StGB). So a template
whose literal text names the treatment gets a ``reveals_reason`` warning; the fix is neutral wording
("Ihr Termin"). The lint also renders the template with long but realistic values and reports encoding,
parts and cost (3GPP TS 23.038 alphabet, TS 23.040 concatenation, via :mod:`.encoding`).

Framework-free: no Django imports. Placeholders and their Babel rendering come from :mod:`.templates`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from alphasms.messaging.encoding import Replacement, analyse, smart_replace
from alphasms.messaging.money import format_price
from alphasms.messaging.templates import ReminderContext, placeholder_values, render, validate_template

__all__ = ["LintResult", "LintWarning", "Rendering", "lint_sms_template"]

# Matched anywhere inside a word, because German builds compounds (Physiotherapie, Impftermin,
# Befundbesprechung). Lower case; matching ignores case.
_REASON_STEMS = (
    *("therap", "behandlung", "untersuchung", "impf", "zahnreinigung", "krankengymnastik", "befund"),
    *("lymphdrainage", "vorsorge", "blutabnahme", "diagnos", "massage", "röntgen", "physio", "psycho"),
    *("logopäd", "chirurg", "treatment", "examination", "vaccin", "check-up", "checkup", "screening"),
    "blood test",
)
# Matched as whole words only: "operation" inside "Kooperation" is not medical.
_REASON_WORDS = ("operation", "operationen", "op", "mrt", "mri", "x-ray")
# The stems alone, without ``\w*`` around them: ``\w*(?:stem)\w*`` backtracks quadratically on a long
# word without a stem (20,800 × "x" took 75 s). _stem_matches widens each hit to its word in one pass.
_STEM_RE = re.compile("|".join(map(re.escape, _REASON_STEMS)), re.IGNORECASE)
_WORD_CHAR = re.compile(r"\w")
_WORD_RE = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, _REASON_WORDS)) + r")(?!\w)", re.IGNORECASE)
_PLACEHOLDER_RE = re.compile(r"\{[^{}]*\}")
# A type called "Termin" must not flag the neutral wording the warning itself recommends.
_NEUTRAL_TYPE_NAMES = frozenset({"termin", "appointment"})

# Long but realistic values. Names do not depend on the message language; the per-language default only
# keeps the English preview plausible. _UCS2_NAME shows the cost of a name outside GSM-7 (ş, ś): it is
# rendered and warned about, but not a candidate for ``longest`` (that would put every template with a
# name into UCS-2 pricing).
_LONG_NAMES = {
    "de": ("Maximiliane-Charlotte", "Müller-Lüdenscheidt"),
    "en": ("Christopher-Alexander", "Worthington-Fitzgerald"),
}
_UCS2_NAME = ("Ayşegül", "Öztürk-Wiśniewska")
_LONG_LOCATION = "Standort Frankfurt-Sachsenhausen, Schweizer Straße 112"
_LONG_PRACTICE = "Gemeinschaftspraxis Dr. Schneider-Hoffmann & Kollegen"
_LONG_PHONE = "+49 69 12345678-90"
_SAMPLE_YEAR = 2026
# Two-digit hour in 24 h and 12 h clocks: "22:45 Uhr", "10:45 PM".
_SAMPLE_TIME = time(22, 45, tzinfo=UTC)

_WHERE = (
    ("in den Praxisangaben", "in the practice's details"),
    ("in Vorlagentext und Praxisangaben", "in the template text and the practice's details"),
    ("im Vorlagentext", "in the template text"),
)
# Staff-facing texts, filled by _warn; a (de, en) pair as a value is split by language.
_MESSAGES = {
    "reveals_reason": (
        "{kind}„{word}“ verrät den Anlass des Termins. Die SMS erscheint auf dem Sperrbildschirm; "
        "Gesundheitsdaten gehören nicht hinein (Art. 9 DSGVO, § 203 StGB). Bitte neutral formulieren: "
        "„Ihr Termin“.",
        "{kind}“{word}” reveals the reason for the appointment. The SMS shows on the lock screen; health "
        "data must not appear there (GDPR Art. 9, § 203 StGB). Use neutral wording: “your appointment”.",
    ),
    "typographic": (
        "Smart Encoding würde {chars} ersetzen; sie erzwingen UCS-2 (70 statt 160 Zeichen je SMS). Smart "
        "Encoding für diese Regel einschalten.",
        "Smart encoding would replace {chars}; they force UCS-2 (70 instead of 160 characters per SMS). "
        "Switch on smart encoding for this rule.",
    ),
    "ucs2": (
        "Die SMS geht als UCS-2 (70 statt 160 Zeichen je SMS) wegen {chars} {where}.",
        "The SMS goes UCS-2 (70 instead of 160 characters per SMS) because of {chars} {where}.",
    ),
    "ucs2_from_name": (
        "Der Name „{name}“ enthält {chars}. Namen werden nie transliteriert: die SMS geht als UCS-2 und hat "
        "{n} statt {m} Teile ({language}){cost}.",
        "The name “{name}” contains {chars}. Names are never transliterated: the SMS goes UCS-2 and has {n} "
        "instead of {m} parts ({language}){cost}.",
    ),
    "multipart": (
        "Die längste realistische SMS ({r.language}, {r.encoding}, {r.units} {unit}) hat {r.segments} Teile; "
        "jeder Teil wird berechnet{cost}.",
        "The longest realistic SMS ({r.language}, {r.encoding}, {r.units} {unit}) has {r.segments} parts; "
        "each part is billed{cost}.",
    ),
}


@dataclass(frozen=True)
class LintWarning:
    """One finding. ``code`` is one of:

    - ``reveals_reason``: the literal text names an appointment type or a medical/treatment word;
    - ``typographic``: smart encoding is off and characters it would replace force UCS-2;
    - ``ucs2``: the message goes UCS-2 because of the template text or the practice's values;
    - ``ucs2_from_name``: a customer name forces UCS-2 (names are never transliterated);
    - ``multipart``: the longest realistic rendering needs more than one SMS part.

    ``message_de``/``message_en`` are for staff. ``excerpt`` is what the warning is about: the matched
    word as written in the template, the offending characters joined, the name, or for ``multipart`` the
    text that lands in parts 2 and later.
    """

    code: str
    message_de: str
    message_en: str
    excerpt: str


@dataclass(frozen=True)
class Rendering:
    """One sample rendering. ``language`` as passed in; ``text`` after smart encoding when it is on;
    ``encoding`` "GSM-7" or "UCS-2"; ``segments`` billed parts; ``units`` GSM-7 septets or UTF-16 code
    units over all parts; ``replacements`` made by smart encoding (positions index the rendered text
    before replacement; empty when off); ``non_gsm_chars`` the characters forcing UCS-2;
    ``cost_micros`` segments × price per part in millionths of the currency (exact, see
    :mod:`.money`), None without a price."""

    language: str
    text: str
    encoding: str
    segments: int
    units: int
    replacements: tuple[Replacement, ...]
    non_gsm_chars: tuple[str, ...]
    cost_micros: int | None


@dataclass(frozen=True)
class LintResult:
    """``warnings`` in the order reveals_reason (by position), typographic, ucs2, ucs2_from_name,
    multipart. ``longest`` is the rendering with most segments, then units, among the sample names and
    the built-in long name (not the built-in UCS-2 name). ``renderings`` holds every distinct rendering,
    per language: sample names, built-in long name, built-in UCS-2 name. ``currency`` is the price's
    (ISO 4217) for the renderings' ``cost_micros``."""

    warnings: tuple[LintWarning, ...]
    longest: Rendering
    renderings: tuple[Rendering, ...]
    currency: str = "EUR"


def _locale(language: str) -> str:
    return "en" if language.lower().startswith("en") else "de"


def _show(chars: Iterable[str]) -> str:
    return ", ".join(f"{c} ({' '.join(f'U+{ord(x):04X}' for x in c)})" for c in dict.fromkeys(chars))


def _cost(micros: int | None, currency: str, instead_of: int | None = None) -> tuple[str, str]:
    """The cost clause of a warning in German and English, exact ("; Kosten 0,225 € statt 0,075 €")."""
    if micros is None:
        return "", ""
    de, en = format_price(micros, currency, "de"), format_price(micros, currency, "en")
    if instead_of is not None:
        de += f" statt {format_price(instead_of, currency, 'de')}"
        en += f" instead of {format_price(instead_of, currency, 'en')}"
    return f"; Kosten {de}", f"; cost {en}"


def _warn(code: str, excerpt: str, **values: object) -> LintWarning:
    de, en = (
        text.format(**{k: v[i] if isinstance(v, tuple) else v for k, v in values.items()})
        for i, text in enumerate(_MESSAGES[code])
    )
    return LintWarning(code, de, en, excerpt)


@lru_cache(maxsize=8)
def _day_texts(locale: str) -> tuple[tuple[date, int, int], ...]:
    """Every day of the sample year with the units of its {date} and {weekday} text."""
    out: list[tuple[date, int, int]] = []
    day = date(_SAMPLE_YEAR, 1, 1)
    while day.year == _SAMPLE_YEAR:
        values = placeholder_values(
            ReminderContext("", "", "", "", "", locale, datetime.combine(day, _SAMPLE_TIME))
        )
        out.append((day, analyse(values["date"]).units, analyse(values["weekday"]).units))
        day += timedelta(days=1)
    return tuple(out)


def _longest_day(template: str, language: str) -> date:
    """The day whose date and weekday texts make this template longest (e.g. "Do., 10. Sept. 2026")."""
    n_date, n_weekday = template.count("{date}"), template.count("{weekday}")
    return max(_day_texts(_locale(language)), key=lambda t: n_date * t[1] + n_weekday * t[2])[0]


@dataclass(frozen=True)
class _Job:
    template: str
    location: str
    practice_name: str
    practice_phone: str
    smart: bool
    price: int | None

    def render(self, language: str, name: tuple[str, str]) -> Rendering:
        start = datetime.combine(_longest_day(self.template, language), _SAMPLE_TIME)
        ctx = ReminderContext(*name, self.location, self.practice_name, self.practice_phone, language, start)
        text = render(self.template, ctx)
        replacements: tuple[Replacement, ...] = ()
        if self.smart:
            text, replacements = smart_replace(text, normalize_nfc=True)
        info = analyse(text)
        cost = None if self.price is None else info.segments * self.price
        enc, segments, units = info.encoding.value, info.segments, info.units
        return Rendering(language, text, enc, segments, units, replacements, info.non_gsm_chars, cost)


def _stem_matches(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of word characters around a reason stem (``Physiotherapie``,
    ``Check-up-Termin``), left to right, not overlapping. Linear in ``len(text)``: each character is
    looked at a bounded number of times (the search resumes after the widened match)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (m := _STEM_RE.search(text, pos)) is not None:
        start, end = m.start(), m.end()
        while start > pos and _WORD_CHAR.match(text, start - 1):
            start -= 1
        while end < len(text) and _WORD_CHAR.match(text, end):
            end += 1
        spans.append((start, end))
        pos = end
    return spans


def _reason_warnings(template: str, type_names: Sequence[str]) -> list[LintWarning]:
    literal = _PLACEHOLDER_RE.sub(lambda m: " " * len(m.group()), template)  # keeps positions
    found: list[tuple[int, int, bool]] = []  # (start, end, is_type_name)
    for name in type_names:
        if name.strip() and name.strip().lower() not in _NEUTRAL_TYPE_NAMES:
            pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, name.split())) + r"(?!\w)"
            found += [(m.start(), m.end(), True) for m in re.finditer(pattern, literal, re.IGNORECASE)]
    found += [(start, end, False) for start, end in _stem_matches(literal)]
    found += [(m.start(), m.end(), False) for m in _WORD_RE.finditer(literal)]
    warnings: list[LintWarning] = []
    covered_until, seen = -1, set()
    # By position; at the same start a type name wins over a built-in word, a longer match over a shorter.
    for start, end, is_type in sorted(found, key=lambda f: (f[0], not f[2], -f[1])):
        word = literal[start:end]
        if start < covered_until or word.lower() in seen:
            continue
        covered_until = max(covered_until, end)
        seen.add(word.lower())
        kind = ("Name der Terminart ", "appointment type name ") if is_type else ""
        warnings.append(_warn("reveals_reason", word, word=word, kind=kind))
    return warnings


def _typographic_warning(renderings: Iterable[Rendering]) -> list[LintWarning]:
    originals = dict.fromkeys(r.original for x in renderings for r in smart_replace(x.text, True)[1])
    return [_warn("typographic", "".join(originals), chars=_show(originals))] if originals else []


def _ucs2_warning(template: str, baselines: Iterable[Rendering], smart: bool) -> list[LintWarning]:
    chars = dict.fromkeys(c for r in baselines for c in r.non_gsm_chars)
    if not chars:
        return []
    literal = smart_replace(template, True)[0] if smart else template
    own = sum(c in literal for c in chars)
    where = _WHERE[(own > 0) + (own == len(chars))]  # none, some, all from the template text
    return [_warn("ucs2", "".join(chars), chars=_show(chars), where=where)]


def _name_warnings(named: Sequence[tuple[str, Rendering, Rendering]], currency: str) -> list[LintWarning]:
    """``named`` holds (full name, rendering with it, baseline rendering in the same language)."""
    worst: dict[str, tuple[Rendering, Rendering]] = {}
    for name, rendering, baseline in named:
        if rendering.encoding == "UCS-2" and baseline.encoding == "GSM-7":
            if name not in worst or rendering.segments > worst[name][0].segments:
                worst[name] = (rendering, baseline)
    warnings = []
    for name, (r, base) in worst.items():
        forms = name + unicodedata.normalize("NFC", name)
        chars = _show(c for c in r.non_gsm_chars if c in forms)
        cost = _cost(r.cost_micros, currency, base.cost_micros)
        n, m = r.segments, base.segments
        warnings.append(
            _warn("ucs2_from_name", name, name=name, chars=chars, n=n, m=m, language=r.language, cost=cost)
        )
    return warnings


def _multipart_warning(longest: Rendering, currency: str) -> list[LintWarning]:
    if longest.segments <= 1:
        return []
    unit = ("Septets", "septets") if longest.encoding == "GSM-7" else ("UTF-16-Einheiten", "UTF-16 units")
    overflow = "".join(analyse(longest.text).parts[1:])
    return [_warn("multipart", overflow, r=longest, unit=unit, cost=_cost(longest.cost_micros, currency))]


def lint_sms_template(
    template: str,
    *,
    appointment_type_names: Sequence[str] = (),
    sample_names: Sequence[tuple[str, str]] = (),
    location: str = "",
    practice_name: str = "",
    practice_phone: str = "",
    languages: Sequence[str] = ("de", "en"),
    smart_encoding: bool = False,
    price_per_part_micros: int | None = None,
    price_currency: str = "EUR",
) -> LintResult:
    """Lint an SMS ``template`` and render it with long but realistic values.

    - ``appointment_type_names``: the practice's type names; any in the literal text (case-insensitive,
      whole words) is a ``reveals_reason`` warning, as is a built-in German/English medical word.
    - ``sample_names``: (given, family) pairs, e.g. the practice's longest customer names; rendered in
      every language next to a built-in long GSM-7 name and the built-in UCS-2 name "Ayşegül
      Öztürk-Wiśniewska".
    - ``location``/``practice_name``/``practice_phone``: the practice's values; empty means a long
      built-in sample.
    - Dates: for each language the day of 2026 whose {date}/{weekday} texts are longest for this
      template; time 22:45 ("22:45 Uhr", "10:45 PM").
    - ``smart_encoding``: apply :func:`.encoding.smart_replace` (NFC on) to each rendering, as sending
      does when the rule has it switched on.
    - ``price_per_part_micros``: price of one SMS part in millionths of ``price_currency`` (0.075 € =
      75000, :mod:`.money`); costs are segments × price, exact, None without a price.

    Raises TemplateError for an unknown placeholder or stray brace (from ``validate_template``), and
    ValueError if ``languages`` is empty. No side effects.
    """
    validate_template(template)
    if not languages:
        raise ValueError("languages must not be empty")
    values = (location or _LONG_LOCATION, practice_name or _LONG_PRACTICE, practice_phone or _LONG_PHONE)
    job = _Job(template, *values, smart_encoding, price_per_part_micros)
    candidates: list[Rendering] = []
    everything: list[Rendering] = []
    baselines: list[Rendering] = []
    named: list[tuple[str, Rendering, Rendering]] = []
    for language in languages:
        baseline = job.render(language, _LONG_NAMES[_locale(language)])
        samples = [(f"{g} {f}".strip(), job.render(language, (g, f))) for g, f in sample_names]
        demo = job.render(language, _UCS2_NAME)
        candidates += [r for _, r in samples] + [baseline]
        everything += [r for _, r in samples] + [baseline, demo]
        baselines.append(baseline)
        named += [(n, r, baseline) for n, r in [*samples, (" ".join(_UCS2_NAME), demo)]]
    longest = max(candidates, key=lambda r: (r.segments, r.units))
    warnings = [
        *_reason_warnings(template, appointment_type_names),
        *([] if smart_encoding else _typographic_warning(everything)),
        *_ucs2_warning(template, baselines, smart_encoding),
        *_name_warnings(named, price_currency),
        *_multipart_warning(longest, price_currency),
    ]
    unique: dict[tuple[str, str], Rendering] = {}
    for rendering in everything:
        unique.setdefault((rendering.language, rendering.text), rendering)
    return LintResult(tuple(warnings), longest, tuple(unique.values()), price_currency)
