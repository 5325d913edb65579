"""Table-driven tests for alphasms.messaging.phone (framework-free; run with ``-p no:django``)."""

from __future__ import annotations

import ast
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from alphasms.messaging.phone import FLAG_MESSAGES, PhoneResult, redact, to_e164, to_msisdn

CASES = Path(__file__).resolve().parents[1] / "data" / "cases"
PHONE_CASES = ("20-phone-de-49-without-plus", "22-phone-plus49-with-trunk-zero", "24-phone-typed-formats-osm")


def _case_rows() -> list[Any]:
    params = []
    for name in PHONE_CASES:
        expected = json.loads((CASES / f"{name}.expected.json").read_bytes().decode("utf-8"))
        raw_csv = (CASES / expected["input"]).read_bytes().decode("utf-8")
        csv_rows = {row["id"]: row for row in csv.DictReader(io.StringIO(raw_csv, newline=""), delimiter=";")}
        assert len(csv_rows) == len(expected["expected_rows"]), name
        for row in expected["expected_rows"]:
            params.append(pytest.param(csv_rows[row["id"]], row, id=f"{name}#{row['id']}"))
    return params


@pytest.mark.parametrize(("csv_row", "row"), _case_rows())
def test_case_files(csv_row: dict[str, str], row: dict[str, Any]) -> None:
    assert csv_row["eingabe"] == row["input"]  # the json describes the csv row we read
    result = to_e164(csv_row["eingabe"], csv_row["land_kunde"] or None)
    expected = row["expected"]
    if "numbers" in expected:  # several numbers in one cell: the SMS target first, the others as alternatives
        target = next(n for n in expected["numbers"] if n["e164"] == expected["sms_target"])
        others = tuple(n["e164"] for n in expected["numbers"] if n is not target)
        assert (result.e164, result.type, result.sms_ok) == (target["e164"], target["type"], target["sms_ok"])
        assert result.alternatives == others
        assert "multiple_numbers" in result.flags
    else:
        assert (result.e164, result.type, result.sms_ok) == (
            expected["e164"],
            expected["type"],
            expected["sms_ok"],
        )
        assert result.alternatives == ()
    if row.get("library_agrees") is False and "numbers" not in expected:
        # where phonenumbers gets it wrong, we must not silently agree with it: the input is flagged
        library = row["phonenumbers_parse(input, 'DE')"]
        assert result.e164 != library["e164"]
        assert result.flags


def test_case_files_flag_the_bare_country_code() -> None:
    assert to_e164("4915112345678").flags == ("country_code_without_plus", "ambiguous_country_code")
    assert to_e164("0491 123456").flags == ("assumed_country_DE", "not_mobile")
    assert to_e164("+49 (0) 171 2345678").flags == ("trunk_zero_removed",)


# (input, customer country, e164, type, sms_ok, flags that must be present)
EXTRA = [
    # foreign mobiles written the national way, customer country known
    ("0664 1234567", "AT", "+436641234567", "MOBILE", True, ()),
    ("079 123 45 67", "CH", "+41791234567", "MOBILE", True, ()),
    ("0532 123 45 67", "TR", "+905321234567", "MOBILE", True, ()),
    ("501 234 567", "PL", "+48501234567", "MOBILE", True, ()),
    ("06-12345678", "NL", "+31612345678", "MOBILE", True, ()),
    ("06 12345678", "nl", "+31612345678", "MOBILE", True, ()),
    ("347 123 4567", "IT", "+393471234567", "MOBILE", True, ()),
    # foreign numbers in international form, no customer country
    ("0043 (0)664 1234567", None, "+436641234567", "MOBILE", True, ("trunk_zero_removed",)),
    ("+43 664 1234567", None, "+436641234567", "MOBILE", True, ()),
    ("0041 79 123 45 67", None, "+41791234567", "MOBILE", True, ()),
    ("+90 532 123 45 67", None, "+905321234567", "MOBILE", True, ()),
    ("+48 501-234-567", None, "+48501234567", "MOBILE", True, ()),
    ("+31 (0)6 12345678", None, "+31612345678", "MOBILE", True, ("trunk_zero_removed",)),
    ("+1 650 253 0000", None, "+16502530000", "FIXED_LINE_OR_MOBILE", False, ("fixed_line_or_mobile",)),
    ("+800 1234 5678", None, "+80012345678", "TOLL_FREE", False, ("not_mobile",)),
    # labels, URIs, separators
    ("Tel. 0171-1234567", None, "+491711234567", "MOBILE", True, ("assumed_country_DE",)),
    ("mobil: 0151 12345678", None, "+4915112345678", "MOBILE", True, ()),
    ("privat 0171 2345678", None, "+491712345678", "MOBILE", True, ()),
    ("tel:+49-171-2345678", None, "+491712345678", "MOBILE", True, ()),
    ("0171\u00a02345678", None, "+491712345678", "MOBILE", True, ()),
    ("0171 \u2014 234 \u2011 5678", None, "+491712345678", "MOBILE", True, ()),
    ("\uff10\uff11\uff17\uff11\u30002345678", None, "+491712345678", "MOBILE", True, ()),
    ("(+49) 171/234 56 78", None, "+491712345678", "MOBILE", True, ()),
    ("0171 2345678 (Mutter)", None, "+491712345678", "MOBILE", True, ("text_ignored",)),
    # extensions: DIN 5008 "-0"/"-12" is part of the number, an explicit extension is dropped
    ("+49 30 123456-0", None, "+49301234560", "FIXED_LINE", False, ("not_mobile",)),
    ("030 1234567 App. 12", None, "+49301234567", "FIXED_LINE", False, ("extension_dropped", "not_mobile")),
    ("030 1234567 Durchwahl 12", None, "+49301234567", "FIXED_LINE", False, ("extension_dropped",)),
    ("tel:+49-30-1234567;ext=12", None, "+49301234567", "FIXED_LINE", False, ("extension_dropped",)),
    # two numbers in one cell: both kept, the mobile one is the SMS target
    ("+49 171 1234567 / 030 1234567", None, "+491711234567", "MOBILE", True, ("multiple_numbers",)),
    ("030 1234567, 0171 2345678", None, "+491712345678", "MOBILE", True, ("multiple_numbers",)),
    ("030 1234567 oder 0171 2345678", None, "+491712345678", "MOBILE", True, ("multiple_numbers",)),
    ("+49 171 2345678 +43 664 1234567", None, "+491712345678", "MOBILE", True, ("multiple_numbers",)),
    (
        "030 1234567 / 040 1234567",
        None,
        "+49301234567",
        "FIXED_LINE",
        False,
        ("multiple_numbers", "not_mobile"),
    ),
    # bare country codes and missing trunk zeros
    ("4930123456", None, "+4930123456", "FIXED_LINE", False, ("country_code_without_plus", "not_mobile")),
    ("49 (0)171 2345678", None, "+491712345678", "MOBILE", True, ("country_code_without_plus",)),
    ("43 664 1234567", "AT", "+436641234567", "MOBILE", True, ("country_code_without_plus",)),
    ("4915112345678", "AT", "+4915112345678", "MOBILE", True, ("country_code_without_plus",)),
    (
        "44 7911 123456",
        None,
        "+447911123456",
        "MOBILE",
        True,
        ("country_code_without_plus", "ambiguous_country_code"),
    ),
    ("1712345678", None, "+491712345678", "MOBILE", True, ("missing_trunk_zero",)),
    # German landlines are not SMS targets
    ("030 1234567", None, "+49301234567", "FIXED_LINE", False, ("not_mobile", "assumed_country_DE")),
    ("030 1234567", "DE", "+49301234567", "FIXED_LINE", False, ("not_mobile",)),
    ("0800 1234567", None, "+498001234567", "TOLL_FREE", False, ("not_mobile",)),
    # customer country vs location country
    (
        "0171 2345678",
        "AT",
        "+431712345678",
        "FIXED_LINE",
        False,
        ("mobile_in_location_country", "not_mobile"),
    ),
    ("0171 2345678", "XX", "+491712345678", "MOBILE", True, ("unknown_country", "assumed_country_DE")),
    # an Austrian mobile of a Swiss customer: invalid in CH, a landline in DE -> flagged, no SMS
    ("0664 1234567", "CH", "+496641234567", "FIXED_LINE", False, ("location_country_used", "not_mobile")),
    # nothing usable
    ("", None, None, "INVALID", False, ("empty",)),
    ("   ", None, None, "INVALID", False, ("empty",)),
    ("keine Angabe", None, None, "INVALID", False, ("no_digits", "invalid", "text_ignored")),
    ("123", None, None, "INVALID", False, ("invalid", "too_short")),
    ("0171 23", None, None, "INVALID", False, ("invalid",)),
    ("0151 1234567890123", None, None, "INVALID", False, ("invalid", "too_long")),
    ("0171 2345678 ab 18 Uhr", None, None, "INVALID", False, ("invalid", "text_ignored")),
    ("+49", None, None, "INVALID", False, ("invalid",)),
]


@pytest.mark.parametrize(
    ("raw", "country", "e164", "kind", "sms_ok", "flags"), EXTRA, ids=[e[0] or "<empty>" for e in EXTRA]
)
def test_extra_inputs(
    raw: str, country: str | None, e164: str | None, kind: str, sms_ok: bool, flags: tuple[str, ...]
) -> None:
    result = to_e164(raw, country)
    assert (result.e164, result.type, result.sms_ok) == (e164, kind, sms_ok)
    assert set(flags) <= set(result.flags)
    assert result.input == raw
    assert all(flag in FLAG_MESSAGES for flag in result.flags)
    if e164 is None:
        assert result.region is None and result.alternatives == ()
    else:
        assert result.region is None or len(result.region) == 2
    if sms_ok:
        assert "not_mobile" not in result.flags


def test_result_shape() -> None:
    result = to_e164("0171 2345678 / 0551 123456")
    assert result == PhoneResult(
        input="0171 2345678 / 0551 123456",
        e164="+491712345678",
        type="MOBILE",
        sms_ok=True,
        flags=("assumed_country_DE", "multiple_numbers"),
        alternatives=("+49551123456",),
        region="DE",
    )
    assert to_e164("+41 79 123 45 67").region == "CH"
    assert to_e164("0664 1234567", country="AT", default_country="CH").e164 == "+436641234567"
    assert to_e164("079 123 45 67", default_country="CH").flags == ("assumed_country_CH",)


def test_same_number_twice_is_not_multiple() -> None:
    result = to_e164("0171 2345678 / 0171-2345678")
    assert (result.e164, result.alternatives) == ("+491712345678", ())
    assert "multiple_numbers" not in result.flags


def test_invalid_in_customer_country_falls_back_to_location_with_flag() -> None:
    result = to_e164("0151 12345678", country="CH")
    assert (result.e164, result.type, result.sms_ok) == ("+4915112345678", "MOBILE", True)
    assert "location_country_used" in result.flags


def test_unknown_default_country_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="default_country"):
        to_e164("0171 2345678", default_country="Deutschland")


def test_flag_messages_have_german_and_english_sentences() -> None:
    for slug in (
        "empty",
        "invalid",
        "not_mobile",
        "multiple_numbers",
        "assumed_country_DE",
        "trunk_zero_removed",
    ):
        german, english = FLAG_MESSAGES[slug]
        assert german.endswith(".") and english.endswith(".")
        assert german != english


@pytest.mark.parametrize(
    ("e164", "msisdn"), [("+4915112345678", "4915112345678"), ("+436641234567", "436641234567")]
)
def test_to_msisdn(e164: str, msisdn: str) -> None:
    assert to_msisdn(e164) == msisdn


@pytest.mark.parametrize("bad", ["4915112345678", "+49 151 12345678", "+0151", "+1234567890123456", "", "+"])
def test_to_msisdn_rejects_non_e164(bad: str) -> None:
    with pytest.raises(ValueError, match=r"not an E\.164 number"):
        to_msisdn(bad)


@pytest.mark.parametrize(
    ("e164", "redacted"),
    [
        ("+4915112345678", "+49•••••••5678"),
        ("+436641234567", "+43••••••4567"),
        ("+16502530000", "+1••••••0000"),
        ("4915112345678", "•••••••••5678"),
        ("1234", "••••"),
        ("", ""),
    ],
)
def test_redact(e164: str, redacted: str) -> None:
    assert redact(e164) == redacted


def test_module_is_framework_free() -> None:
    source = (Path(__file__).resolve().parents[2] / "alphasms" / "messaging" / "phone.py").read_text("utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "phonenumbers" in imported
    assert "django" not in imported
