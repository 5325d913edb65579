"""What a CSV import reports and how it finds the customer a row means.

Customers and consent count as changes (exit 0 / 3), re-imports are idempotent (same rows, same
``updated_at``), rows without a key match one namesake and never merge two people, and bad or doubtful
data is rejected or warned about with line, field and reason.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from alphasms.appointments.models import Appointment, AppointmentStatus, Customer
from alphasms.appointments.services.csv_import import import_csv
from alphasms.appointments.services.planning import plan
from alphasms.cli import translate
from alphasms.messaging.models import OutboundMessage
from alphasms.messaging.phone import FLAG_MESSAGES
from alphasms.privacy.models import Consent
from alphasms.privacy.services import withdraw
from tests.conftest import make_customer, make_rule

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
KUNDEN = Path(__file__).resolve().parent.parent / "data" / "practice" / "kunden.csv"

pytestmark = pytest.mark.django_db


def csv(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def snapshot() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    customers = Customer.objects.order_by("pk").values_list(
        "pk",
        "customer_number",
        "given_name",
        "family_name",
        "mobile_raw",
        "mobile_e164",
        "email",
        "updated_at",
    )
    appointments = Appointment.objects.order_by("pk").values_list(
        "pk", "customer_id", "start_at", "end_at", "status", "summary", "updated_at"
    )
    return list(customers), list(appointments), Consent.objects.count()


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(*translate(list(args)), stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


# --- 1. customers and consent are changes --------------------------------------------------------------


def test_a_customers_only_file_counts_customers_and_consents(alphasms_settings, location):
    report = import_csv(
        KUNDEN.read_bytes(), location, "kunden.csv", consent_channels=("sms",), consent_wording="v1", now=NOW
    )
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    assert (report.customers_created, report.customers_updated, report.customers_unchanged) == (3, 0, 0)
    assert report.consents_recorded == 3
    assert report.changed is True
    data = report.as_dict()
    assert data["customers"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert data["consents_recorded"] == 3
    before = snapshot()

    again = import_csv(
        KUNDEN.read_bytes(), location, "kunden.csv", consent_channels=("sms",), consent_wording="v1", now=NOW
    )
    assert (again.customers_created, again.customers_updated, again.customers_unchanged) == (0, 0, 3)
    assert (again.consents_recorded, again.changed) == (0, False)
    assert snapshot() == before  # not even updated_at moved


def test_a_changed_mobile_number_is_an_update_of_that_customer_only(alphasms_settings, location):
    import_csv(KUNDEN.read_bytes(), location, "kunden.csv", now=NOW)
    others = {c.pk: c.updated_at for c in Customer.objects.exclude(customer_number="1002")}
    changed = KUNDEN.read_bytes().replace(b"0160 9876543", b"0160 1112223")
    report = import_csv(changed, location, "kunden.csv", now=NOW)
    assert (report.customers_created, report.customers_updated, report.customers_unchanged) == (0, 1, 2)
    assert Customer.objects.get(customer_number="1002").mobile_e164 == "+491601112223"
    assert {c.pk: c.updated_at for c in Customer.objects.exclude(customer_number="1002")} == others


def test_the_command_exits_0_for_new_or_changed_customers_and_3_when_nothing_changed(
    alphasms_settings, location, tmp_path, monkeypatch
):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "de")
    path = tmp_path / "kunden.csv"
    path.write_bytes(KUNDEN.read_bytes())
    code, out = run_cli("import", "csv", str(path))
    assert code == 0
    assert "Kunden – neu: 3, geändert: 0, unverändert: 0; Einwilligungen erfasst: 0" in out
    assert run_cli("import", "csv", str(path))[0] == 3
    path.write_bytes(KUNDEN.read_bytes().replace(b"0160 9876543", b"0160 1112223"))
    code, out = run_cli("import", "csv", str(path))
    assert code == 0
    assert "Kunden – neu: 0, geändert: 1, unverändert: 2" in out
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    code, out = run_cli("import", "csv", str(path), "--json")
    assert code == 3
    data = json.loads(out)
    assert data["customers"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert (data["consents_recorded"], data["changed"]) == (0, False)


def test_recorded_consent_alone_is_a_change(alphasms_settings, location, tmp_path):
    path = tmp_path / "kunden.csv"
    path.write_bytes(KUNDEN.read_bytes())
    assert run_cli("import", "csv", str(path))[0] == 0
    code, out = run_cli("import", "csv", str(path), "--consent", "email", "--wording", "2026-01", "--json")
    assert code == 0
    assert json.loads(out)["consents_recorded"] == 3


def test_a_withdrawn_consent_is_not_recorded_again_by_an_old_export(alphasms_settings, location):
    import_csv(
        KUNDEN.read_bytes(), location, "k.csv", consent_channels=("sms",), consent_wording="v1", now=NOW
    )
    joerg = Customer.objects.get(customer_number="1001")
    withdraw(joerg, "sms", source="sms_stop")
    report = import_csv(
        KUNDEN.read_bytes(), location, "k.csv", consent_channels=("sms",), consent_wording="v1", now=NOW
    )
    assert report.consents_recorded == 0
    assert not Consent.objects.filter(customer=joerg, opted_out_at__isnull=True).exists()
    assert [(w.line, w.field) for w in report.warnings] == [(2, "consent")]
    assert "widerrufen – nicht erneut erfasst" in report.warnings[0].reason


# --- 2. rows without a key, namesakes ------------------------------------------------------------------


def test_a_row_without_number_mobile_or_email_matches_its_one_namesake_on_every_import(
    alphasms_settings, location
):
    data = csv("Nachname;Vorname;Mobil;E-Mail;Datum;Uhrzeit", "Leer;;;;10.12.2026;15:00")
    first = import_csv(data, location, "t.csv", now=NOW)
    assert (first.customers_created, first.created, first.rejected) == (1, 1, [])
    after_first = snapshot()
    for _ in range(2):
        again = import_csv(data, location, "t.csv", now=NOW)
        assert (again.customers_created, again.customers_unchanged, again.created, again.unchanged) == (
            0,
            1,
            0,
            1,
        )
        assert again.changed is False
    assert snapshot() == after_first
    assert Customer.objects.get().family_name == "Leer"


def test_names_match_after_unicode_normalisation_and_case_folding(alphasms_settings, location):
    make_customer(number="", given="Jörg", family="Bäcker", mobile="", email="")
    decomposed = "Jo\u0308rg"  # "Jörg" with a combining diaeresis, as macOS writes it
    report = import_csv(csv("Nachname;Vorname", f"  BÄCKER ;{decomposed}"), location, "t.csv", now=NOW)
    assert (report.customers_created, report.customers_unchanged) == (0, 1)
    assert Customer.objects.get().given_name == "Jörg"  # names equal after normalisation stay as stored


def test_importing_without_and_then_with_a_column_mapping_keeps_one_customer(alphasms_settings, location):
    data = csv("Nachname;Vorname;Tel. mobil", "Weiß;Anna;0171 2345678")
    plain = import_csv(data, location, "t.csv", now=NOW)
    assert plain.customers_created == 1
    assert plain.ignored_columns == [
        (
            "Tel. mobil",
            'Spalte „Tel. mobil“ wurde ignoriert – mit --map mobile="Tel. mobil" zuordnen',
            "column 'Tel. mobil' was ignored – map it with --map mobile=\"Tel. mobil\"",
        )
    ]
    mapped = import_csv(data, location, "t.csv", mapping={"mobile": "Tel. mobil"}, now=NOW)
    assert (mapped.customers_created, mapped.customers_updated, mapped.ignored_columns) == (0, 1, [])
    anna = Customer.objects.get()
    assert (anna.mobile_e164, anna.mobile_sms_ok) == ("+491712345678", True)
    before = snapshot()
    assert import_csv(data, location, "t.csv", mapping={"mobile": "Tel. mobil"}, now=NOW).changed is False
    assert import_csv(data, location, "t.csv", now=NOW).changed is False  # a missing column erases nothing
    assert snapshot() == before


def test_a_customer_number_is_given_to_the_one_namesake_without_one(alphasms_settings, location):
    make_customer(number="", given="Anna", family="Weiß", mobile="", email="")
    report = import_csv(csv("Kundennummer;Nachname;Vorname", "K-7;Weiß;Anna"), location, "t.csv", now=NOW)
    assert (report.customers_created, report.customers_updated) == (0, 1)
    assert Customer.objects.get().customer_number == "K-7"


def test_several_namesakes_reject_a_row_without_key_and_name_the_fix(alphasms_settings, location):
    make_customer(number="1", given="Anna", family="Weiß", mobile="+491711111111", email="")
    make_customer(number="2", given="Anna", family="Weiß", mobile="+491722222222", email="")
    data = csv("Nachname;Vorname;Datum;Uhrzeit", "Weiß;Anna;10.12.2026;15:00", "Klein;Cem;10.12.2026;16:00")
    report = import_csv(data, location, "t.csv", now=NOW)
    assert [(r.line, r.field) for r in report.rejected] == [(2, "row")]
    assert "2 Kunden heißen „Anna Weiß“" in report.rejected[0].reason
    assert "Kundennummer" in report.rejected[0].reason
    assert "customer number (Kundennummer) column" in report.rejected[0].reason_en
    assert (report.created, report.customers_created) == (1, 1)  # the rest applies
    assert Customer.objects.filter(family_name="Weiß").count() == 2


def test_a_row_with_a_known_mobile_number_picks_that_namesake(alphasms_settings, location):
    make_customer(number="1", given="Anna", family="Weiß", mobile="+491711111111", email="")
    second = make_customer(number="2", given="Anna", family="Weiß", mobile="+491722222222", email="")
    data = csv("Nachname;Vorname;Mobil;Datum;Uhrzeit", "Weiß;Anna;0172 2222222;10.12.2026;15:00")
    report = import_csv(data, location, "t.csv", now=NOW)
    assert (report.rejected, report.customers_unchanged) == ([], 1)
    assert Appointment.objects.get().customer == second


def test_a_namesake_with_another_mobile_number_is_never_merged_silently(alphasms_settings, location):
    anna = make_customer(number="", given="Anna", family="Weiß", mobile="+491711111111", email="")
    data = csv("Nachname;Vorname;Mobil", "Weiß;Anna;0172 2222222")
    report = import_csv(data, location, "t.csv", now=NOW)
    assert [(r.line, r.field) for r in report.rejected] == [(2, "row")]
    assert "mit anderer Mobilnummer oder E-Mail-Adresse gespeichert" in report.rejected[0].reason
    assert Customer.objects.get() == anna
    assert Customer.objects.get().mobile_e164 == "+491711111111"
    # with a customer number the row is a person of its own, and staff are told about the namesake
    numbered = import_csv(
        csv("Kundennummer;Nachname;Vorname;Mobil", "55;Weiß;Anna;0172 2222222"), location, "t", now=NOW
    )
    assert (numbered.customers_created, numbered.rejected) == (1, [])
    assert [(w.line, w.field) for w in numbered.warnings] == [(2, "row")]
    assert f"(#{anna.pk}) wurden nicht mit Kundennummer 55 zusammengeführt" in numbered.warnings[0].reason
    assert Customer.objects.get(pk=anna.pk).mobile_e164 == "+491711111111"


def test_a_customer_with_a_different_number_is_another_person(alphasms_settings, location):
    make_customer(number="1", given="Anna", family="Weiß", mobile="", email="")
    report = import_csv(csv("Kundennummer;Nachname;Vorname", "2;Weiß;Anna"), location, "t.csv", now=NOW)
    assert (report.customers_created, report.warnings) == (1, [])
    assert sorted(Customer.objects.values_list("customer_number", flat=True)) == ["1", "2"]


def test_a_mixed_appointment_file_imported_three_times_gives_the_same_rows(alphasms_settings, location):
    data = csv(
        "Kundennummer;Nachname;Vorname;Mobil;E-Mail;Datum;Uhrzeit;Terminart;Notiz",
        "1001;Bäcker;Jörg;0151 12345678;joerg@example.org;10.12.2026;09:00;Massage;erste",
        "1001;Bäcker;Jörg;0151 12345678;joerg@example.org;17.12.2026;09:00;Massage;zweite",
        ";Leer;;;;10.12.2026;15:00;;",
        ";Leer;;;;11.12.2026;15:00;;",
        ";Weiß;Anna;0171 2345678;;12.12.2026;10:00;;",
        ";Weiß;Anna;;anna@example.org;13.12.2026;10:00;;",
        ";Klein;Cem;12;;14.12.2026;10:00;;",
    )
    first = import_csv(data, location, "t.csv", now=NOW)
    assert (first.created, first.customers_created, first.rejected) == (7, 4, [])
    state = snapshot()
    for _ in range(2):
        again = import_csv(data, location, "t.csv", now=NOW)
        assert (again.created, again.updated, again.unchanged) == (0, 0, 7)
        assert (again.customers_created, again.customers_updated, again.customers_unchanged) == (0, 0, 4)
        assert snapshot() == state
    assert Customer.objects.get(customer_number="1001").notes == "erste"  # the first row's values count


def test_a_restricted_customer_is_not_touched(alphasms_settings, location):
    joerg = make_customer(number="1001", mobile="+4915112345678")
    Customer.objects.filter(pk=joerg.pk).update(restricted_at=NOW)
    data = csv(
        "Kundennummer;Nachname;Vorname;Mobil;Datum;Uhrzeit", "1001;Bäcker;Jörg;0160 1112223;10.12.2026;09:00"
    )
    report = import_csv(data, location, "t.csv", now=NOW)
    assert (report.created, report.customers_updated, report.customers_unchanged) == (0, 0, 1)
    assert "Verarbeitung eingeschränkt" in report.warnings[0].reason
    assert Customer.objects.get().mobile_e164 == "+4915112345678"
    assert not Appointment.objects.exists()


# --- 3. warnings and rejections for bad values ---------------------------------------------------------


def test_an_invalid_or_landline_mobile_number_is_stored_with_a_warning(alphasms_settings, location):
    data = csv("Nachname;Vorname;Mobil", "Weiß;Anna;12", "Groß;Ben;030 1234567", "Klein;Cem;0171 2345678")
    report = import_csv(data, location, "t.csv", now=NOW)
    assert report.customers_created == 3 and report.rejected == []
    assert [(w.line, w.field) for w in report.warnings] == [(2, "mobile"), (3, "mobile")]
    invalid, landline = report.warnings
    assert (
        invalid.reason
        == f"„12“: {FLAG_MESSAGES['invalid'][0]} {FLAG_MESSAGES['too_short'][0]} Keine SMS möglich."
    )
    assert (
        invalid.reason_en
        == f"'12': {FLAG_MESSAGES['invalid'][1]} {FLAG_MESSAGES['too_short'][1]} No SMS possible."
    )
    assert landline.reason == f"„030 1234567“: {FLAG_MESSAGES['not_mobile'][0]}"
    assert landline.reason_en == f"'030 1234567': {FLAG_MESSAGES['not_mobile'][1]}"
    stored = {c.given_name: (c.mobile_raw, c.mobile_e164, c.mobile_sms_ok) for c in Customer.objects.all()}
    assert stored == {
        "Anna": ("12", "", False),
        "Ben": ("030 1234567", "+49301234567", False),
        "Cem": ("0171 2345678", "+491712345678", True),
    }


def test_a_landline_in_the_phone_column_beside_a_good_mobile_is_no_warning(alphasms_settings, location):
    data = csv("Nachname;Vorname;Mobil;Telefon", "Weiß;Anna;0171 2345678;030 1234567")
    assert import_csv(data, location, "t.csv", now=NOW).warnings == []


def test_a_value_longer_than_its_column_rejects_the_row_before_anything_is_written(
    alphasms_settings, location
):
    long_name = "X" * 131_072
    data = csv(
        "Kundennummer;Nachname;Vorname;Sprache;Datum;Uhrzeit",
        "1;Weiß;Anna;de;10.12.2026;09:00",
        f"2;{long_name};Ben;de;10.12.2026;10:00",
        "3;Klein;Cem;Französisch;10.12.2026;11:00",
        "4;Nul\x00l;Dora;de;10.12.2026;12:00",
    )
    report = import_csv(data, location, "t.csv", now=NOW)
    assert [(r.line, r.field) for r in report.rejected] == [
        (3, "family_name"),
        (4, "language"),
        (5, "family_name"),
    ]
    assert (
        report.rejected[0].reason
        == "Nachname ist 131072 Zeichen lang, höchstens 200 sind möglich – Wert kürzen"
    )
    assert report.rejected[0].reason_en == (
        "family name is 131072 characters long, at most 200 are possible – shorten it"
    )
    assert "Nullzeichen" in report.rejected[2].reason
    assert list(Customer.objects.values_list("customer_number", flat=True)) == ["1"]
    assert Appointment.objects.count() == 1
    assert max(len(r.reason) for r in report.rejected) < 200  # the value itself is not repeated


def test_a_date_outside_the_representable_range_is_rejected_not_a_crash(alphasms_settings, location):
    data = csv("Nachname;Datum;Uhrzeit", "Weiß;01.01.0001;00:10", "Groß;31.12.9999;23:50")
    report = import_csv(data, location, "t.csv", now=NOW)
    assert [(r.line, r.field) for r in report.rejected] == [(2, "date"), (3, "date")]
    assert not Customer.objects.exists()


# --- 4. past appointments ------------------------------------------------------------------------------


def test_a_past_appointment_is_imported_as_history_with_a_warning_and_no_reminder(
    alphasms_settings, location
):
    make_rule()
    data = csv("Nachname;Vorname;Mobil;Datum;Uhrzeit", "Weiß;Anna;0171 2345678;01.12.2026;09:00",
               "Groß;Ben;0171 3456789;08.12.2026;09:00")  # fmt: skip
    report = import_csv(data, location, "t.csv", consent_channels=("sms",), consent_wording="v1", now=NOW)
    assert report.created == 2
    assert [(w.line, w.field, w.reason, w.reason_en) for w in report.warnings] == [
        (
            2,
            "date",
            "Termin am 01.12.2026 09:00 liegt in der Vergangenheit – keine Erinnerung",
            "appointment on 2026-12-01 09:00 is in the past – no reminder",
        )
    ]
    past = Appointment.objects.get(customer__given_name="Anna")
    assert past.status == AppointmentStatus.SCHEDULED
    plan(NOW)
    assert not OutboundMessage.objects.filter(appointment=past).exists()
    assert OutboundMessage.objects.filter(appointment__customer__given_name="Ben").count() == 1


# --- the printed report --------------------------------------------------------------------------------


def test_the_printed_report_lists_columns_rejections_and_warnings_in_the_users_language(
    alphasms_settings, location, tmp_path, monkeypatch
):
    path = tmp_path / "t.csv"
    path.write_bytes(csv("Nachname;Vorname;Mobil;Geburtstag", "Weiß;Anna;12;1.1.1990", f"{'X' * 300};Ben;;"))
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "de")
    code, out = run_cli("import", "csv", str(path))
    assert code == 1  # a row was rejected; the rest applied
    lines = out.splitlines()
    assert lines[0] == (
        "Termine – neu: 0, geändert: 0, unverändert: 0, abgesagt: 0, ohne Kunde: 0; "
        "abgelehnte Zeilen: 1, Hinweise: 1"
    )
    assert lines[1] == "Kunden – neu: 1, geändert: 0, unverändert: 0; Einwilligungen erfasst: 0"
    assert lines[2] == (
        "  Spalte „Geburtstag“ wurde ignoriert – falls sie gebraucht wird, "
        'mit --map FELD="Geburtstag" zuordnen'
    )
    assert lines[3] == (
        "  abgelehnt: Zeile 3, Feld family_name: Nachname ist 300 Zeichen lang, höchstens 200 sind möglich "
        "– Wert kürzen"
    )
    assert lines[4].startswith("  Hinweis: Zeile 2, Feld mobile: „12“: Keine gültige Telefonnummer erkannt")
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    code, out = run_cli("import", "csv", str(path))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("appointments – created: 0")
    assert lines[1] == "customers – created: 0, updated: 0, unchanged: 1; consents recorded: 0"
    assert lines[3].startswith("  rejected: line 3, field family_name: family name is 300 characters long")
    assert lines[4].startswith("  warning: line 2, field mobile: '12': No valid phone number recognised")


def test_a_later_row_with_another_mobile_number_for_the_same_customer_is_a_warning(
    alphasms_settings, location
):
    make_customer(number="1001", mobile="+4915112345678")
    data = csv(
        "Kundennummer;Nachname;Vorname;Mobil;Datum;Uhrzeit",
        "1001;Bäcker;Jörg;+49 151 12345678;10.12.2026;09:00",  # the stored number, written differently
        "1001;Bäcker;Jörg;0160 1112223;17.12.2026;09:00",
    )
    report = import_csv(data, location, "t.csv", now=NOW)
    assert (report.customers_updated, report.customers_unchanged) == (0, 1)
    assert [(w.line, w.field) for w in report.warnings] == [(3, "mobile")]
    assert "die frühere gilt" in report.warnings[0].reason
    state = snapshot()
    assert Customer.objects.get().mobile_raw == "+4915112345678"  # the same number is not rewritten
    assert import_csv(data, location, "t.csv", now=NOW).changed is False
    assert snapshot() == state
