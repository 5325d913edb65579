"""Tests for alphasms.appointments.csvparse (framework-free; run with ``-p no:django``)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alphasms.appointments.csvparse import (
    CANONICAL_FIELDS,
    CsvFormatError,
    CsvRecord,
    CsvResult,
    read_csv,
)

CASES = Path(__file__).resolve().parents[1] / "data" / "cases"
CSV_CASES = sorted(
    p.name.removesuffix(".expected.json")
    for p in CASES.glob("*.expected.json")
    if json.loads(p.read_text(encoding="utf-8"))["kind"] == "csv"
)
# expected.json record key -> how to read it from a CsvRecord
EXPECTED_KEYS: dict[str, Callable[[CsvRecord], object]] = {
    "nachname": lambda r: r.family_name,
    "vorname": lambda r: r.given_name,
    "name": lambda r: " ".join(filter(None, (r.given_name, r.family_name))),
    "email": lambda r: r.email,
    "mobil_e164": lambda r: r.mobile.e164 if r.mobile else None,
    "start_utc": lambda r: iso_z(r.start_utc),
    "start_local": lambda r: (
        r.start_utc.astimezone(ZoneInfo("Europe/Berlin")).isoformat() if r.start_utc else None
    ),
}


def iso_z(value: datetime | None) -> str | None:
    if value is None:
        return None
    assert value.utcoffset() == timedelta(0)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def make(lines: list[str], encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    return (newline.join(lines) + newline).encode(encoding)


def only_record(result: CsvResult) -> CsvRecord:
    assert result.rejected == ()
    assert len(result.records) == 1
    return result.records[0]


# --- the stored cases -------------------------------------------------------------------------------


def test_csv_cases_found() -> None:
    assert CSV_CASES == [
        "26-csv-semicolon-with-name-comma",
        "28-csv-excel-utf8-bom-header",
        "30-csv-german-dates-times",
    ]


@pytest.mark.parametrize("case", CSV_CASES)
def test_case_matches_expected(case: str) -> None:
    spec = json.loads((CASES / f"{case}.expected.json").read_text(encoding="utf-8"))
    tz = spec.get("assumptions", {}).get("practice_timezone", "Europe/Berlin")
    result = read_csv((CASES / spec["input"]).read_bytes(), tz=tz)
    expected = spec["expected"]
    assert result.rejected == ()
    assert result.delimiter == expected.get("delimiter", ";")
    if "encoding" in expected:
        assert result.encoding == expected["encoding"]
    if "header" in expected:
        assert set(result.columns.values()) <= set(expected["header"])
    assert len(result.records) == len(expected["records"])
    for record, want in zip(result.records, expected["records"], strict=True):
        got = {key: EXPECTED_KEYS[key](record) for key in want}
        assert got == want


def test_case_26_name_comma_column_and_lines() -> None:
    result = read_csv((CASES / "26-csv-semicolon-with-name-comma.csv").read_bytes())
    assert result.encoding == "utf-8"
    assert result.columns["family_name"] == result.columns["given_name"] == "Name, Vorname"
    assert [r.line for r in result.records] == [2, 3, 4]
    assert result.records[0].mobile_raw == "0171 2345678"
    assert result.records[0].end_utc == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # default 30 min


def test_case_28_bom_not_in_first_header() -> None:
    result = read_csv((CASES / "28-csv-excel-utf8-bom-header.csv").read_bytes())
    assert result.columns["given_name"] == "Vorname"
    assert result.records[0].given_name == "Lena"


def test_case_30_date_and_time_spellings() -> None:
    result = read_csv((CASES / "30-csv-german-dates-times.csv").read_bytes())
    assert result.columns == {"family_name": "Name", "mobile": "Mobil", "date": "Datum", "time": "Zeit"}
    # a lone "Name" column is kept whole (no guessing which part is the given name)
    assert result.records[0].family_name == "Anna Berg"
    assert result.records[0].given_name == ""


# --- encodings, delimiters, quoting ---------------------------------------------------------------


def test_cp1252_umlauts_and_eszett() -> None:
    data = make(["Nachname;Vorname;Mobil", "Weiß;Jürgen;0171 2345678", "Bäcker;Änne;"], "cp1252")
    result = read_csv(data)
    assert (result.encoding, result.delimiter) == ("cp1252", ";")
    assert [(r.family_name, r.given_name) for r in result.records] == [("Weiß", "Jürgen"), ("Bäcker", "Änne")]
    assert result.records[1].mobile is None and result.records[1].mobile_raw == ""


def test_utf8_without_bom_is_utf8() -> None:
    assert read_csv(make(["Nachname;Vorname", "Groß;Jörg"])).encoding == "utf-8"


def test_quoted_newline_in_note_keeps_line_numbers() -> None:
    data = make([
        "Nachname;Notiz;Datum;Uhrzeit",
        'Abel;"erste Zeile',
        'zweite; Zeile mit ""Zitat""";03.11.2026;10:00',
        "Bauer;;03.11.2026;1O:00",  # letter O, not zero
        "Cramer;kurz;03.11.2026;11:00",
    ])  # fmt: skip
    result = read_csv(data)
    assert result.delimiter == ";"
    assert [r.line for r in result.records] == [2, 5]
    assert result.records[0].notes == 'erste Zeile\nzweite; Zeile mit "Zitat"'
    assert [(x.line, x.field, x.value) for x in result.rejected] == [(4, "time", "1O:00")]


def test_comma_english_export_with_bom() -> None:
    data = b"\xef\xbb\xbf" + make([
        "Customer ID,First Name,Last Name,Mobile,Email,Date,Start,Duration,Type,Notes",
        'C-1,Mary,Smith,+44 7911 123456,mary@example.com,2026-07-01,2:30 PM,45,Check-up,"Allergic, latex"',
        "C-2,John,Doe,,,2026-07-01,09:00,,,",
    ])  # fmt: skip
    result = read_csv(data, tz="Europe/London", default_country="GB")
    assert (result.encoding, result.delimiter) == ("utf-8-sig", ",")
    assert result.columns["customer_number"] == "Customer ID"
    mary, john = result.records
    assert (mary.customer_number, mary.given_name, mary.family_name) == ("C-1", "Mary", "Smith")
    assert iso_z(mary.start_utc) == "2026-07-01T13:30:00Z"  # BST
    assert iso_z(mary.end_utc) == "2026-07-01T14:15:00Z"
    assert (mary.appointment_type, mary.notes) == ("Check-up", "Allergic, latex")
    assert mary.mobile is not None and mary.mobile.e164 == "+447911123456"
    assert iso_z(john.end_utc) == "2026-07-01T08:30:00Z"


def test_tab_delimited_utf16_excel_unicode_text() -> None:
    data = make(["Nachname\tVorname\tTermin", "Öz\tAli\t05.05.2026 08:15"], "utf-16")
    result = read_csv(data)
    assert (result.encoding, result.delimiter) == ("utf-16", "\t")
    assert iso_z(only_record(result).start_utc) == "2026-05-05T06:15:00Z"


def test_excel_sep_line_forces_delimiter_and_counts_as_line() -> None:
    data = make(["sep=,", "Name, Vorname,Datum", "Nur Name,"])
    result = read_csv(data)
    assert result.delimiter == ","
    assert result.columns == {"family_name": "Name", "given_name": "Vorname", "date": "Datum"}
    assert [(x.line, x.field) for x in result.rejected] == [(3, "row")]


def test_semicolon_preferred_on_tie_when_header_has_semicolon() -> None:
    # ',' and ';' both give 2 fields on every line and 1 known header each; the header contains ';'
    result = read_csv(make(["Nachname;Info, Notiz", "Meier;Eva, x", "Roth;Udo, y"]))
    assert result.delimiter == ";"
    assert [(r.family_name, r.notes) for r in result.records] == [("Meier", ""), ("Roth", "")]
    assert result.columns == {"family_name": "Nachname"}


def test_comma_kept_on_tie_without_semicolon_in_header() -> None:
    result = read_csv(make(["Nachname,Vorname", "Meier;Jung,Eva", "Roth,Udo;Ulf"]))
    assert result.delimiter == ","
    assert [(r.family_name, r.given_name) for r in result.records] == [
        ("Meier;Jung", "Eva"),
        ("Roth", "Udo;Ulf"),
    ]


def test_unquoted_semicolon_in_name_comma_file_does_not_switch_to_comma() -> None:
    # ',' splits every line into 2 fields (consistent), ';' fails on line 3 only
    data = make([
        "Name, Vorname;Termin;Uhrzeit;Notiz",
        "Meier, Eva;02.11.2026;08:30;",
        "Roth, Udo;02.11.2026;09:00;Zimmer 2; 1. Stock",
        "Sahin, Ela;02.11.2026;09:30;Rezept",
    ])  # fmt: skip
    result = read_csv(data)
    assert result.delimiter == ";"
    assert [(r.line, r.family_name, r.given_name, r.notes) for r in result.records] == [
        (2, "Meier", "Eva", ""),
        (4, "Sahin", "Ela", "Rezept"),
    ]
    assert [(x.line, x.field) for x in result.rejected] == [(3, "row")]


def test_inconsistent_field_count_rejects_only_the_broken_row() -> None:
    data = make(["Nachname;Vorname;Notiz", "Abel;Ana;ok", "Bode;Ben;a;b", "Cem;Can;"])
    result = read_csv(data)
    assert result.delimiter == ";"
    assert [r.family_name for r in result.records] == ["Abel", "Cem"]
    (rej,) = result.rejected
    assert (rej.line, rej.field, rej.value) == (3, "row", "Bode;Ben;a;b")
    assert "4" in rej.reason_de and "3" in rej.reason_en


def test_blank_and_delimiter_only_lines_are_skipped_but_counted() -> None:
    data = make(["Nachname;Vorname", "", ";", "Abel;Ana"], newline="\n")
    assert only_record(read_csv(data)).line == 4


def test_bare_cr_line_endings() -> None:
    assert only_record(read_csv(make(["Nachname;Vorname", "Abel;Ana"], newline="\r"))).line == 2


def test_excel_text_formula_keeps_leading_zero() -> None:
    record = only_record(read_csv(make(["Nachname;Mobil", 'Abel;="0171 2345678"'])))
    assert record.mobile_raw == "0171 2345678"
    assert record.mobile is not None and record.mobile.e164 == "+491712345678"


# --- headers and mapping ---------------------------------------------------------------------------


def test_headers_are_case_space_and_umlaut_tolerant() -> None:
    header = (
        " KUNDEN-NR. ;Familienname;VORNAME;Mobiltelefon;Tel.;e-mail ;Sprache;Termin;Beginn;Ende;Art;Bemerkung"
    )
    result = read_csv(make([header, "7;Abel;Ana;;030 1234567;;de;01.06.2026;10:00;10:20;Kontrolle;x"]))
    assert result.columns == {
        "customer_number": "KUNDEN-NR.",
        "family_name": "Familienname",
        "given_name": "VORNAME",
        "mobile": "Mobiltelefon",
        "phone": "Tel.",
        "email": "e-mail",
        "language": "Sprache",
        "date": "Termin",
        "time": "Beginn",
        "end_time": "Ende",
        "appointment_type": "Art",
        "notes": "Bemerkung",
    }
    record = only_record(result)
    assert (record.customer_number, record.phone_raw, record.language, record.email) == (
        "7",
        "030 1234567",
        "de",
        None,
    )
    assert iso_z(record.end_utc) == "2026-06-01T08:20:00Z"


def test_mapping_is_umlaut_tolerant() -> None:
    data = make(["Nachname;Hinweise fuer Praxis", "Abel;Rollstuhl"])
    result = read_csv(data, mapping={"notes": "Hinweise für Praxis"})
    assert result.columns["notes"] == "Hinweise fuer Praxis"
    assert only_record(result).notes == "Rollstuhl"


def test_duration_header_with_unit() -> None:
    result = read_csv(make(["Nachname;Dauer (Min.);Datum;Uhrzeit", "Abel;45;01.06.2026;10:00"]))
    assert result.columns["duration_min"] == "Dauer (Min.)"
    assert iso_z(only_record(result).end_utc) == "2026-06-01T08:45:00Z"


def test_explicit_mapping() -> None:
    data = make(["Patient;Handynr;Tag;Um;Kasse", "Abel, Ana;0171 2345678;01.06.2026;10:00;AOK"])
    mapping = {
        "family_name": "patient",
        "given_name": "Patient",
        "mobile": "HandyNr",
        "date": "Tag",
        "time": "um",
    }
    result = read_csv(data, mapping=mapping)
    assert result.columns == {
        "family_name": "Patient",
        "given_name": "Patient",
        "mobile": "Handynr",
        "date": "Tag",
        "time": "Um",
    }
    record = only_record(result)
    assert (record.family_name, record.given_name) == ("Abel", "Ana")
    assert iso_z(record.start_utc) == "2026-06-01T08:00:00Z"


def test_mapping_overrides_auto_detection() -> None:
    result = read_csv(make(["Name;Notiz", "Abel;Info"]), mapping={"notes": "Name", "family_name": "Notiz"})
    record = only_record(result)
    assert (record.family_name, record.notes) == ("Info", "Abel")


def test_mapping_errors() -> None:
    with pytest.raises(ValueError, match="unknown canonical field"):
        read_csv(make(["Name;X", "a;b"]), mapping={"surname": "X"})
    with pytest.raises(CsvFormatError, match="'Y'") as info:
        read_csv(make(["Name;X", "a;b"]), mapping={"notes": "Y"})
    assert "Name" in info.value.reason_de and "X" in info.value.reason_en


def test_unrecognised_header_names_found_and_expected() -> None:
    with pytest.raises(CsvFormatError) as info:
        read_csv(make(["Foo;Bar", "1;2"]))
    assert "'Foo'" in str(info.value) and "'Bar'" in str(info.value)
    assert "Nachname" in info.value.reason_en and "Kopfzeile" in info.value.reason_de


def test_customer_number_without_name_is_enough() -> None:
    record = only_record(read_csv(make(["Kundennummer;E-Mail", "4711;a@example.org"])))
    assert (record.customer_number, record.family_name, record.start_utc) == ("4711", "", None)


def test_canonical_fields() -> None:
    assert CANONICAL_FIELDS[0] == "customer_number" and len(CANONICAL_FIELDS) == 13


# --- dates and times --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date_value", "time_value", "expected"),
    [
        ("02.11.26", "14:30", "2026-11-02T13:30:00Z"),  # two-digit year -> 20yy
        ("2.1.27", "9:05", "2027-01-02T08:05:00Z"),
        ("02.11.2026", "14.30 Uhr", "2026-11-02T13:30:00Z"),
        ("02.11.2026", "8 Uhr", "2026-11-02T07:00:00Z"),
        ("02.11.2026", "14:30:15", "2026-11-02T13:30:15Z"),
        ("2026-11-02", "12:00 PM", "2026-11-02T11:00:00Z"),
        ("2026-11-02", "12:15 am", "2026-11-01T23:15:00Z"),
        ("02.11.2026 07:45", "", "2026-11-02T06:45:00Z"),  # date and time in one field
        ("2026-11-02T07:45:00", "", "2026-11-02T06:45:00Z"),
        ("02.11.2026 07:45", "08:00", "2026-11-02T07:00:00Z"),  # the time column wins
        ("25.10.2026", "02:30", "2026-10-25T00:30:00Z"),  # ambiguous -> first occurrence (CEST)
    ],
)
def test_date_time_spellings(date_value: str, time_value: str, expected: str) -> None:
    record = only_record(read_csv(make(["Nachname;Datum;Uhrzeit", f"Abel;{date_value};{time_value}"])))
    assert iso_z(record.start_utc) == expected


@pytest.mark.parametrize(
    ("date_value", "time_value", "field", "needle"),
    [
        ("31.02.2026", "10:00", "date", "dd.mm.yyyy"),
        ("02/11/2026", "10:00", "date", "dd.mm.yyyy"),
        ("11-02-2026", "10:00", "date", "dd.mm.yyyy"),
        ("02.11.2026", "25:00", "time", "HH:MM"),
        ("02.11.2026", "14", "time", "HH:MM"),  # bare number: hours? minutes? -> rejected
        ("02.11.2026", "02.11.26", "time", "HH:MM"),  # a date in the time column is no time
        ("02.11.2026", "13:00 PM", "time", "HH:MM"),
    ],
)
def test_bad_date_or_time_names_value_and_format(
    date_value: str, time_value: str, field: str, needle: str
) -> None:
    result = read_csv(make(["Nachname;Datum;Uhrzeit", f"Abel;{date_value};{time_value}"]))
    assert result.records == ()
    (rej,) = result.rejected
    value = date_value if field == "date" else time_value
    assert (rej.line, rej.field, rej.value) == (2, field, value)
    assert needle in rej.reason_en and value in rej.reason_en and value in rej.reason_de


def test_three_bad_rows_reported_with_line_numbers_good_rows_pass() -> None:
    data = make([
        "Nachname;Vorname;Datum;Uhrzeit;Mobil",
        "Abel;Ana;01.06.2026;10:00;0171 2345678",
        "Bode;Ben;32.06.2026;10:00;",  # bad date
        'Cem;"Can',
        'Deniz";01.06.2026;10:00;',  # good, spans lines 4-5
        "Dorn;Dana;01.06.2026;10:77;",  # bad time
        ";Eli;01.06.2026;11:00;",  # missing name
        "Falk;Fritz;01.06.2026;11:30;",
    ])  # fmt: skip
    result = read_csv(data)
    assert [(r.line, r.family_name) for r in result.records] == [(2, "Abel"), (4, "Cem"), (8, "Falk")]
    assert result.records[1].given_name == "Can\nDeniz"
    assert [(x.line, x.field, x.value) for x in result.rejected] == [
        (3, "date", "32.06.2026"),
        (6, "time", "10:77"),
        (7, "family_name", ""),
    ]
    assert result.rejected[2].reason_de == "Name fehlt"
    assert result.rejected[2].reason_en == "name missing"


def test_all_problems_of_one_row_are_reported() -> None:
    result = read_csv(make(["Nachname;E-Mail;Datum;Uhrzeit", ";kein-at;x;y"]))
    assert [x.field for x in result.rejected] == ["family_name", "email", "date", "time"]


def test_a_bad_date_does_not_hide_a_bad_duration_or_mobile_number() -> None:
    """A new user's row: date 31.02.2026, Dauer abc, Mobil 12345 – all three are reported at once."""
    result = read_csv(
        make(["Nachname;Vorname;Mobil;Datum;Uhrzeit;Dauer", "Meier;Anna;12345;31.02.2026;09:00;abc"])
    )
    assert result.records == ()
    assert [(x.line, x.field, x.value) for x in result.rejected] == [
        (2, "date", "31.02.2026"),
        (2, "duration_min", "abc"),
        (2, "mobile", "12345"),
    ]
    assert result.rejected[2].reason_de == (
        "Mobilnummer „12345“: Keine gültige Telefonnummer erkannt – bitte beim Kunden nachfragen. "
        "Keine SMS möglich."
    )


def test_a_bad_time_does_not_hide_a_bad_end() -> None:
    result = read_csv(make(["Nachname;Datum;Uhrzeit;Ende", "Abel;01.12.2026;25:99;halb zehn"]))
    assert [(x.field, x.value) for x in result.rejected] == [("time", "25:99"), ("end_time", "halb zehn")]


def test_a_rejected_row_names_no_mobile_problem_when_the_phone_column_has_a_mobile_number() -> None:
    result = read_csv(make(["Nachname;Mobil;Telefon;Datum;Uhrzeit", "Abel;12345;0151 23456789;x;09:00"]))
    assert [x.field for x in result.rejected] == ["date"]


def test_a_customer_only_row_ignores_duration_and_end_as_before() -> None:
    result = read_csv(make(["Nachname;Mobil;Datum;Uhrzeit;Dauer", "Abel;0151 23456789;;;abc"]))
    assert result.rejected == () and result.records[0].start_utc is None


def test_dst_gap_time_is_rejected() -> None:
    result = read_csv(make(["Nachname;Datum;Uhrzeit", "Abel;29.03.2026;02:30", "Bode;29.03.2026;03:00"]))
    assert [iso_z(r.start_utc) for r in result.records] == ["2026-03-29T01:00:00Z"]
    (rej,) = result.rejected
    assert (rej.line, rej.field, rej.value) == (2, "time", "29.03.2026 02:30")
    assert "Zeitumstellung" in rej.reason_de and "Europe/Berlin" in rej.reason_en


def test_other_time_zone() -> None:
    record = only_record(
        read_csv(make(["Nachname;Datum;Uhrzeit", "Abel;02.11.2026;09:00"]), tz="America/New_York")
    )
    assert iso_z(record.start_utc) == "2026-11-02T14:00:00Z"


def test_date_without_time_is_rejected_when_file_has_time_column() -> None:
    result = read_csv(make(["Nachname;Datum;Uhrzeit", "Abel;02.11.2026;", "Bode;;", "Cem;;10:00"]))
    assert [(r.family_name, r.start_utc) for r in result.records] == [("Bode", None)]
    assert [(x.line, x.field, x.reason_de) for x in result.rejected] == [
        (2, "time", "Uhrzeit fehlt"),
        (4, "date", "Datum fehlt"),
    ]


def test_date_only_file_without_time_column_is_customer_import() -> None:
    record = only_record(read_csv(make(["Nachname;Datum", "Abel;02.11.2026"])))
    assert (record.start_utc, record.end_utc) == (None, None)


def test_customers_only_file() -> None:
    result = read_csv(make(["Nachname;Vorname;Handy;Sprache", "Abel;Ana;0171 2345678;en"]))
    record = only_record(result)
    assert (record.start_utc, record.end_utc, record.language) == (None, None, "en")
    assert record.mobile is not None and record.mobile.e164 == "+491712345678"


# --- duration and end ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra_header", "extra_value", "end"),
    [
        ("Dauer", "45", "2026-06-01T08:45:00Z"),
        ("Dauer", "90 Min.", "2026-06-01T09:30:00Z"),
        ("Ende", "10:20", "2026-06-01T08:20:00Z"),
        ("Ende", "02.06.2026 09:00", "2026-06-02T07:00:00Z"),
        ("Notiz", "", "2026-06-01T08:15:00Z"),  # default_duration_min=15
    ],
)
def test_end_from_duration_end_or_default(extra_header: str, extra_value: str, end: str) -> None:
    data = make([f"Nachname;Datum;Uhrzeit;{extra_header}", f"Abel;01.06.2026;10:00;{extra_value}"])
    assert iso_z(only_record(read_csv(data, default_duration_min=15)).end_utc) == end


def test_duration_is_elapsed_time_across_dst() -> None:
    record = only_record(read_csv(make(["Nachname;Datum;Uhrzeit;Dauer", "Abel;29.03.2026;01:30;60"])))
    assert (iso_z(record.start_utc), iso_z(record.end_utc)) == (
        "2026-03-29T00:30:00Z",
        "2026-03-29T01:30:00Z",
    )


@pytest.mark.parametrize(
    ("extra_header", "extra_value", "field"),
    [("Dauer", "0", "duration_min"), ("Dauer", "eine Stunde", "duration_min"), ("Ende", "09:00", "end_time")],
)
def test_bad_duration_or_end_rejected(extra_header: str, extra_value: str, field: str) -> None:
    data = make([f"Nachname;Datum;Uhrzeit;{extra_header}", f"Abel;01.06.2026;10:00;{extra_value}"])
    result = read_csv(data)
    assert [(x.line, x.field, x.value) for x in result.rejected] == [(2, field, extra_value)]


# --- e-mail and phone -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email", ["kein-at.example.org", "a@b", "a@@example.org", "a b@example.org", "a@x.de, b@y.de"]
)
def test_invalid_email_rejected(email: str) -> None:
    result = read_csv(make(["Nachname;E-Mail", f'Abel;"{email}"']))
    assert [(x.line, x.field, x.value) for x in result.rejected] == [(2, "email", email)]


@pytest.mark.parametrize("email", ["jörg.müller@example.org", "a+tag@sub.example.co.uk", "x@bücher.de"])
def test_plausible_email_accepted(email: str) -> None:
    assert only_record(read_csv(make(["Nachname;E-Mail", f"Abel;{email}"]))).email == email


def test_unusable_mobile_does_not_reject_row() -> None:
    record = only_record(read_csv(make(["Nachname;Mobil;Telefon", "Abel;12;030 1234567"])))
    assert record.mobile_raw == "12" and record.phone_raw == "030 1234567"
    assert record.mobile is not None
    assert record.mobile.sms_ok is False
    assert isinstance(record.mobile.flags, tuple)


# --- whole-file problems and arguments ----------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b" ;;\r\n"])
def test_empty_file(data: bytes) -> None:
    with pytest.raises(CsvFormatError, match="empty") as info:
        read_csv(data)
    assert info.value.reason_de == "Die Datei ist leer"


@pytest.mark.parametrize(
    "data", [b"Nachname;Vorname\r\nA\x81;B\r\n", b"\xef\xbb\xbfNachname;Vorname\r\n\xe4;b\r\n"]
)
def test_undecodable_file(data: bytes) -> None:
    with pytest.raises(CsvFormatError, match="encoding"):
        read_csv(data)


def test_single_column_file() -> None:
    with pytest.raises(CsvFormatError, match="delimiter"):
        read_csv(make(["Nachname", "Abel"]))


def test_header_only_file_gives_no_records() -> None:
    result = read_csv(make(["Nachname;Vorname"]))
    assert (result.records, result.rejected) == ((), ())


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="time zone"):
        read_csv(make(["Nachname;Vorname", "a;b"]), tz="Mars/Olympus")
    with pytest.raises(ValueError, match="default_duration_min"):
        read_csv(make(["Nachname;Vorname", "a;b"]), default_duration_min=0)


def test_module_does_not_import_django() -> None:
    code = (
        "import sys, alphasms.appointments.csvparse; print(any(n.startswith('django') for n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
