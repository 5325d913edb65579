"""Table-driven tests for alphasms.messaging.sender_id (framework-free)."""

from __future__ import annotations

import typing

import pytest

from alphasms.messaging.sender_id import (
    DEFAULT_POLICY,
    DESTINATION_RULES,
    AlphaRule,
    SenderDecision,
    SenderIdError,
    SenderKind,
    choose_sender,
    parse_sender_id,
)

ALPHA, NUMERIC = SenderKind.ALPHANUMERIC, SenderKind.NUMERIC
DE_MOBILE, AT_MOBILE, US_NUMBER, LU_MOBILE = (
    "+4915112345678",
    "+436641234567",
    "+16502530000",
    "+352621123456",
)
NUMBER = "+4915199999999"


class TestParseSenderId:
    # (input, kind, normalised)
    VALID = [
        ("Praxis", ALPHA, "Praxis"),
        ("Praxis Dr M", ALPHA, "Praxis Dr M"),  # 11 characters, the maximum
        ("ABC123", ALPHA, "ABC123"),
        ("  Praxis  ", ALPHA, "Praxis"),
        ("1A", ALPHA, "1A"),
        ("+4915112345678", NUMERIC, "+4915112345678"),
        ("4915112345678", NUMERIC, "+4915112345678"),
        ("+49 151 12345678", NUMERIC, "+4915112345678"),
        ("436641234567", NUMERIC, "+436641234567"),
        ("+491511234567890", NUMERIC, "+491511234567890"),  # 15 digits, the E.164 maximum
    ]

    @pytest.mark.parametrize(("value", "kind", "normalised"), VALID)
    def test_it_accepts_and_normalises(self, value: str, kind: SenderKind, normalised: str) -> None:
        assert parse_sender_id(value) == (kind, normalised)

    # (input, fragments of the German message, fragment of the English one)
    INVALID = [
        ("", ("fehlt", "höchstens 11 Zeichen", "+4915112345678"), "empty"),
        (" ", ("fehlt",), "empty"),
        ("Praxis Sonnenhof", ("16 Zeichen", "höchstens 11", "kürzen", "„Praxis Sonn“"), "at most 11"),
        ("Dr. Müller", ("nicht erlaubte Zeichen „.ü“", "ü → ue", "„Dr Mueller“"), "not allowed"),
        ("Praxis_1", ("nicht erlaubte Zeichen „_“", "nur A–Z, a–z, 0–9 und Leerzeichen"), "not allowed"),
        ("Praxis!", ("„!“",), "not allowed"),
        ("Straße", ("„ß“", "„Strasse“"), "not allowed"),
        ("+Praxis", ("„+“",), "not allowed"),
        ("12345678901234567", ("17 Ziffern", "höchstens 15", "+49…"), "at most 15"),
        ("+1234567890123456", ("16 Ziffern",), "at most 15"),
        ("015112345678", ("nur aus Ziffern", "+49…"), "use +49… for a numeric sender"),
        ("12345", ("+49…",), "use +49… for a numeric sender"),
        ("+0151123456", ("+49…",), "use +49… for a numeric sender"),
    ]

    @pytest.mark.parametrize(("value", "german", "english"), INVALID)
    def test_it_rejects_naming_the_field_and_the_fix(
        self, value: str, german: tuple[str, ...], english: str
    ) -> None:
        with pytest.raises(SenderIdError) as info:
            parse_sender_id(value)
        assert str(info.value).startswith("Absenderkennung")
        assert info.value.en.startswith("Sender ID")
        for fragment in german:
            assert fragment in str(info.value)
        assert english in info.value.en
        assert isinstance(info.value, ValueError)


class TestChooseSender:
    def test_it_uses_the_alphanumeric_id_in_germany(self) -> None:
        assert choose_sender(DE_MOBILE, "Praxis", NUMBER) == SenderDecision("Praxis", ALPHA, ())

    def test_it_falls_back_to_the_number_in_austria_when_unregistered(self) -> None:
        decision = choose_sender(AT_MOBILE, "Praxis", NUMBER)
        assert (decision.sender_id, decision.kind) == (NUMBER, NUMERIC)
        (warning,) = decision.warnings
        assert "Österreich (AT)" in warning and "„Praxis“" in warning
        assert "nur registrierte Namen" in warning and "RTR" in warning

    @pytest.mark.parametrize("registered", [frozenset({"AT"}), frozenset({"at", "CH"})])
    def test_it_uses_the_alphanumeric_id_in_austria_when_registered(self, registered: frozenset[str]) -> None:
        assert choose_sender(AT_MOBILE, "Praxis", NUMBER, registered) == SenderDecision("Praxis", ALPHA, ())

    def test_it_uses_only_the_number_in_the_us_even_when_registered(self) -> None:
        decision = choose_sender(US_NUMBER, "Praxis", NUMBER, frozenset({"US"}))
        assert (decision.sender_id, decision.kind) == (NUMBER, NUMERIC)
        assert "den USA (US)" in decision.warnings[0] and "keine Namen" in decision.warnings[0]

    def test_it_raises_naming_the_fix_without_a_number_for_the_us(self) -> None:
        with pytest.raises(SenderIdError) as info:
            choose_sender(US_NUMBER, "Praxis", None)
        assert "den USA (US)" in str(info.value)
        assert "Abhilfe: eine Absendernummer (z. B. +49…) einrichten" in str(info.value)
        assert "configure a numeric sender" in info.value.en

    def test_it_keeps_an_invalid_nanp_number_under_the_us_rule(self) -> None:
        assert choose_sender("+15550100000", "Praxis", NUMBER).kind is NUMERIC

    def test_it_uses_the_default_rule_with_a_warning_for_an_unlisted_country(self) -> None:
        decision = choose_sender(LU_MOBILE, "Praxis", NUMBER)
        assert (decision.sender_id, decision.kind) == ("Praxis", ALPHA)
        assert decision.warnings == (f"Empfänger in LU: {DEFAULT_POLICY.note}",)

    def test_it_uses_the_number_without_warning_when_no_name_is_configured(self) -> None:
        assert choose_sender(DE_MOBILE, None, "4915199999999") == SenderDecision(NUMBER, NUMERIC, ())
        assert choose_sender(DE_MOBILE, "  ", NUMBER) == SenderDecision(NUMBER, NUMERIC, ())

    def test_it_raises_when_nothing_is_configured(self) -> None:
        with pytest.raises(SenderIdError) as info:
            choose_sender(DE_MOBILE, None, "")
        assert "eine Absendernummer (z. B. +49…) einrichten oder einen Namen" in str(info.value)

    def test_it_names_registration_as_the_fix_for_austria_without_a_number(self) -> None:
        with pytest.raises(SenderIdError) as info:
            choose_sender(AT_MOBILE, "Praxis", None)
        assert "„Praxis“ für AT über den Anbieter registrieren" in str(info.value)
        assert "register 'Praxis' for AT" in info.value.en

    def test_it_raises_for_turkey_where_numbers_are_filtered(self) -> None:
        with pytest.raises(SenderIdError) as info:
            choose_sender("+905321234567", "Praxis", NUMBER)
        assert "der Türkei (TR)" in str(info.value) and "Nummern werden nicht zugestellt" in str(info.value)
        assert "Absendernummer" not in str(info.value).split("Abhilfe:")[1]  # a number can't fix it

    def test_it_rejects_a_sender_in_the_wrong_field(self) -> None:
        with pytest.raises(SenderIdError, match="passende Feld"):
            choose_sender(DE_MOBILE, "+4915112345678", None)
        with pytest.raises(SenderIdError, match="passende Feld"):
            choose_sender(DE_MOBILE, None, "Praxis")

    def test_it_rejects_an_invalid_configured_sender_even_when_unused(self) -> None:
        with pytest.raises(SenderIdError, match="Dr Mueller"):
            choose_sender(US_NUMBER, "Dr. Müller", NUMBER)

    def test_it_rejects_a_destination_that_is_not_e164(self) -> None:
        with pytest.raises(ValueError, match=r"E\.164"):
            choose_sender("015112345678", "Praxis", NUMBER)


class TestDestinationRules:
    REQUIRED = {"DE", "AT", "CH", "NL", "BE", "FR", "IT", "ES", "PL", "TR", "GB", "US", "CA", "DEFAULT"}
    GERMAN_WORDS = {
        "und",
        "nicht",
        "nur",
        "keine",
        "ohne",
        "werden",
        "für",
        "dort",
        "die",
        "der",
        "es",
        "gilt",
    }

    def test_it_covers_the_required_countries(self) -> None:
        assert self.REQUIRED <= DESTINATION_RULES.keys()
        assert DESTINATION_RULES["DEFAULT"] is DEFAULT_POLICY
        assert (DEFAULT_POLICY.alphanumeric, DEFAULT_POLICY.numeric_allowed) == ("allowed", True)

    @pytest.mark.parametrize("key", sorted(DESTINATION_RULES))
    def test_every_row_has_a_source_and_a_german_note(self, key: str) -> None:
        policy = DESTINATION_RULES[key]
        assert policy.country == (key if key != "DEFAULT" else "ZZ")
        assert policy.alphanumeric in typing.get_args(AlphaRule)
        assert policy.note.endswith(".") and len(policy.note) > 20
        words = {w.strip(".,;:()").lower() for w in policy.note.split()}
        assert words & self.GERMAN_WORDS, policy.note
        if key != "DEFAULT":
            assert "sms-providers.md" in policy.source or (
                "https://" in policy.source and "(read 2026-11-30)" in policy.source
            )

    @pytest.mark.parametrize(
        ("country", "alphanumeric", "numeric"),
        [("DE", "allowed", True), ("AT", "registered_only", True), ("CH", "allowed", True)],
    )
    def test_dach_rows_match_the_reference_file(self, country: str, alphanumeric: str, numeric: bool) -> None:
        policy = DESTINATION_RULES[country]
        assert (policy.alphanumeric, policy.numeric_allowed) == (alphanumeric, numeric)
        assert policy.source.startswith("shared/reference/sms-providers.md §3.3")

    def test_a_country_without_names_always_allows_numbers(self) -> None:
        # otherwise no sender could ever reach it and every send would fail
        for policy in DESTINATION_RULES.values():
            assert policy.alphanumeric != "not_supported" or policy.numeric_allowed
