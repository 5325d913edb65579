"""Tests for alphasms.messaging.template_lint (no database needed).

Expected lengths are computed here independently: SMS limits typed from 3GPP TS 23.038/23.040
(160/153 septets, 70/67 UTF-16 units) and dates from Babel directly, not from the module under test.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from babel.dates import format_date

from alphasms.messaging.template_lint import LintResult, LintWarning, lint_sms_template
from alphasms.messaging.templates import TemplateError


def codes(result: LintResult, code: str) -> list[LintWarning]:
    return [w for w in result.warnings if w.code == code]


def spec_segments(units: int, single: int, concat: int) -> int:
    return 1 if units <= single else -(-units // concat)


def longest_german_date_2026() -> int:
    day, best = date(2026, 1, 1), 0
    while day.year == 2026:
        best = max(best, len(format_date(day, "EEE, d. MMM y", locale="de")))
        day += timedelta(days=1)
    return best


# --- reveals_reason -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "word"),
    [
        ("Ihre Physiotherapie am {date} um {time}.", "Physiotherapie"),
        ("Erinnerung an Ihren Impftermin am {date}.", "Impftermin"),
        ("Ihre BEHANDLUNG am {date}.", "BEHANDLUNG"),
        ("Zahnreinigung am {date} bei {practice_name}.", "Zahnreinigung"),
        ("Befundbesprechung am {date}.", "Befundbesprechung"),
        ("Ihre OP am {date}.", "OP"),
        ("Your therapy session on {date}.", "therapy"),
        ("Reminder: vaccination on {date}.", "vaccination"),
        ("Your check-up on {date}.", "check-up"),
    ],
)
def test_reason_words_are_found_with_excerpt(template: str, word: str) -> None:
    result = lint_sms_template(template)
    [warning] = codes(result, "reveals_reason")
    assert warning.excerpt == word
    assert f"„{word}“" in warning.message_de
    assert "Ihr Termin" in warning.message_de
    assert "Art. 9" in warning.message_de and "§ 203 StGB" in warning.message_en


def test_appointment_type_names_match_case_insensitively_on_word_boundaries() -> None:
    result = lint_sms_template(
        "Ihre rückenschule und Ihr MANUELLE  therapie-Termin am {date}; Rückenschulen gibt es auch.",
        appointment_type_names=["Rückenschule", "Manuelle Therapie", "Termin", "  "],
    )
    found = codes(result, "reveals_reason")
    assert [w.excerpt for w in found] == ["rückenschule", "MANUELLE  therapie"]
    assert all("Terminart" in w.message_de and "appointment type" in w.message_en for w in found)


@pytest.mark.parametrize(
    "template",
    [
        "{salutation}, Ihr Termin am {date} um {time} in {location}. {confirm_hint}",
        "Termin beim {practice_name}: {weekday}, {time}. Kooperation mit {location}. Tel. {practice_phone}",
        "Hello {given_name}, your appointment is on {date} at {time}. {confirm_hint}",
    ],
)
def test_neutral_templates_do_not_reveal_the_reason(template: str) -> None:
    assert (
        codes(lint_sms_template(template, appointment_type_names=["Massage 30 min"]), "reveals_reason") == []
    )


# --- typographic characters and smart encoding ----------------------------------------------------


def test_typographic_characters_without_smart_encoding_force_ucs2() -> None:
    result = lint_sms_template("Ihr Termin am {date} – bitte „pünktlich“ kommen.", languages=("de",))
    [typographic] = codes(result, "typographic")
    assert typographic.excerpt == "–„“"
    assert "U+2013" in typographic.message_de and "einschalten" in typographic.message_de
    [ucs2] = codes(result, "ucs2")
    assert "im Vorlagentext" in ucs2.message_de
    assert result.longest.encoding == "UCS-2"
    assert result.longest.non_gsm_chars == ("–", "„", "“")
    assert result.longest.replacements == ()


def test_smart_encoding_gives_gsm7_and_lists_the_replacements() -> None:
    template = "Ihr Termin am {date} – bitte „pünktlich“ kommen."
    result = lint_sms_template(template, languages=("de",), smart_encoding=True)
    assert result.longest.encoding == "GSM-7"
    assert [(r.original, r.replacement) for r in result.longest.replacements] == [
        ("–", "-"),
        ("„", '"'),
        ("“", '"'),
    ]
    assert '- bitte "pünktlich" kommen.' in result.longest.text
    assert codes(result, "typographic") == [] and codes(result, "ucs2") == []


def test_non_gsm_characters_in_the_practice_details_are_named() -> None:
    result = lint_sms_template("Ihr Termin bei {practice_name} am {date}.", practice_name="Praxis Doğan")
    [ucs2] = codes(result, "ucs2")
    assert ucs2.excerpt == "ğ" and "Praxisangaben" in ucs2.message_de
    assert codes(result, "typographic") == []


# --- names are never transliterated ---------------------------------------------------------------

NAME_TEMPLATE = "Guten Tag {given_name} {family_name}, Ihr Termin ist am {date}."


def test_polish_sample_name_goes_ucs2_with_its_parts_count() -> None:
    result = lint_sms_template(
        NAME_TEMPLATE, sample_names=[("Zofia", "Wiśniewska-Błaszczykowska")], languages=("de",)
    )
    text = "Guten Tag Zofia Wiśniewska-Błaszczykowska, Ihr Termin ist am Do., 10. Sept. 2026."
    expected_parts = spec_segments(len(text), 70, 67)  # all BMP: one UTF-16 unit per character
    assert expected_parts == 2
    warnings = {w.excerpt: w for w in codes(result, "ucs2_from_name")}
    polish = warnings["Zofia Wiśniewska-Błaszczykowska"]
    assert f"{expected_parts} statt 1 Teile" in polish.message_de
    assert "ś (U+015B)" in polish.message_de and "ł (U+0142)" in polish.message_de
    assert "never transliterated" in polish.message_en
    # The sample name is a real customer name, so it is also the longest realistic rendering.
    assert result.longest.text == text
    assert (result.longest.encoding, result.longest.segments, result.longest.units) == ("UCS-2", 2, len(text))


def test_builtin_turkish_name_is_shown_separately_and_costed() -> None:
    result = lint_sms_template(
        NAME_TEMPLATE, languages=("de",), smart_encoding=True, price_per_part_micros=75_000
    )
    [warning] = codes(result, "ucs2_from_name")
    assert warning.excerpt == "Ayşegül Öztürk-Wiśniewska"
    turkish = next(r for r in result.renderings if "Ayşegül" in r.text)
    assert "Öztürk-Wiśniewska" in turkish.text  # smart encoding does not transliterate letters
    assert turkish.encoding == "UCS-2" and turkish.non_gsm_chars == ("ş", "ś")
    assert (turkish.segments, turkish.cost_micros) == (2, 150_000)  # 2 × 0.075 €, exact
    assert "Kosten 0,15\xa0€ statt 0,075\xa0€" in warning.message_de
    assert "cost €0.15 instead of €0.075" in warning.message_en
    # Not a candidate for the longest rendering: the practice's GSM-7 pricing stays visible.
    assert result.longest.encoding == "GSM-7" and "Maximiliane-Charlotte" in result.longest.text


def test_no_name_warning_without_name_placeholders() -> None:
    result = lint_sms_template("Ihr Termin am {date}.", sample_names=[("Zofia", "Wiśniewska")])
    assert codes(result, "ucs2_from_name") == []
    assert {r.encoding for r in result.renderings} == {"GSM-7"}
    assert len(result.renderings) == 2  # one per language: identical texts are not repeated


# --- longest realistic rendering, parts and cost ------------------------------------------------------


def test_longest_rendering_segments_units_and_cost_are_exact() -> None:
    template = "{salutation}, Ihr Termin am {date} um {time} in {location}. {confirm_hint} {practice_name}"
    result = lint_sms_template(
        template,
        sample_names=[("Jo", "Li")],
        location="Praxis Mitte",
        practice_name="Praxis Dr. Schmidt",
        languages=("de",),
        price_per_part_micros=79_700,
        price_currency="USD",
    )
    date_text = "Do., 10. Sept. 2026"
    assert len(date_text) == longest_german_date_2026() == 19
    text = (
        f"Guten Tag Maximiliane-Charlotte Müller-Lüdenscheidt, Ihr Termin am {date_text} um 22:45 Uhr in "
        "Praxis Mitte. Bitte antworten Sie JA zum Bestätigen oder NEIN zum Absagen. Praxis Dr. Schmidt"
    )
    units = len(text)  # ASCII plus ü and ä: one GSM-7 septet each (TS 23.038 basic table)
    segments = spec_segments(units, 160, 153)
    longest = result.longest
    assert longest.text == text
    assert (longest.encoding, longest.units, longest.segments) == ("GSM-7", units, segments)
    assert segments == 2
    assert longest.cost_micros == segments * 79_700
    [multipart] = codes(result, "multipart")
    assert f"{units} Septets" in multipart.message_de and "Kosten 0,1594\xa0$" in multipart.message_de
    assert text.endswith(multipart.excerpt) and multipart.excerpt


def test_longest_prefers_more_segments_then_units_across_languages() -> None:
    result = lint_sms_template("{salutation}. {confirm_hint}", sample_names=[("Anna", "Schmidt")])
    assert result.longest.language == "de"  # the German confirm hint is longer
    assert result.longest.units == max(r.units for r in result.renderings if r.encoding == "GSM-7")
    assert codes(result, "multipart") == []
    assert result.longest.cost_micros is None


def test_weekday_and_date_come_from_the_same_longest_day() -> None:
    result = lint_sms_template("{weekday}, {date}", languages=("de", "en"))
    texts = {r.language: r.text for r in result.renderings}
    assert texts["de"] == "Donnerstag, Do., 10. Sept. 2026"
    assert len(texts["en"]) == len("Wednesday, Wed, Sep 30, 2026")


# --- errors ---------------------------------------------------------------------------------------


def test_unknown_placeholder_raises_template_error() -> None:
    with pytest.raises(TemplateError, match=r"\{reason\}"):
        lint_sms_template("Ihr Termin ({reason}) am {date}.")


def test_no_languages_is_an_error() -> None:
    with pytest.raises(ValueError, match="languages"):
        lint_sms_template("Ihr Termin am {date}.", languages=())
