"""The `alphasms` command line: word mapping, JSON output, exit codes."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from alphasms.cli import main, translate
from tests.conftest import make_rule

DATA = Path(__file__).resolve().parent / "data"
UTC = dt.UTC


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(*translate(list(args)), stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_two_word_commands_map_to_management_commands():
    assert translate(["import", "ics", "x.ics"]) == ["import_ics", "x.ics"]
    assert translate(["calendar", "occurrences", "f"]) == ["calendar_occurrences", "f"]
    assert translate(["migrate"]) == ["migrate"]


def test_calendar_occurrences_prints_the_exchange_series_as_json():
    code, out = run(
        "calendar",
        "occurrences",
        str(DATA / "calendars" / "exchange-cdo-weekday-series.ics"),
        "--from",
        "2015-07-01T00:00Z",
        "--to",
        "2015-08-01T00:00Z",
        "--json",
    )
    items = json.loads(out)
    assert code == 0
    assert len(items) == 14
    assert items[0]["start_utc"] == "2015-07-03T08:00:00Z"
    assert items[-1]["start_utc"] == "2015-07-22T08:00:00Z"
    assert set(items[0]) >= {"uid", "recurrence_id", "summary", "status", "start_utc", "end_utc"}


def test_calendar_occurrences_gives_dates_for_all_day_entries():
    _, out = run(
        "calendar",
        "occurrences",
        str(DATA / "calendars" / "outlook12-germany-holidays.ics"),
        "--from",
        "2019-12-01T00:00Z",
        "--to",
        "2020-01-01T00:00Z",
        "--json",
    )
    items = json.loads(out)
    # 1 January starts at local midnight, 2019-12-31T23:00Z, inside the window
    assert [(i["date"], i["end_date"]) for i in items] == [
        ("2019-12-25", "2019-12-26"),
        ("2019-12-26", "2019-12-27"),
        ("2020-01-01", "2020-01-02"),
    ]
    assert all("start_utc" not in i for i in items)


def test_a_bad_instant_is_a_usage_error_naming_the_option(capsys):
    code = main(["calendar", "occurrences", "x.ics", "--from", "gestern", "--to", "2015-08-01"])
    assert code == 2
    assert "--from" in capsys.readouterr().err


@pytest.mark.django_db
def test_import_preview_and_reimport_exit_codes(alphasms_settings, location):
    make_rule(offset_s=24 * 3600)
    with time_machine.travel(dt.datetime(2026, 12, 5, 6, 0, tzinfo=UTC), tick=False):
        code, out = run(
            "import", "csv", str(DATA / "practice" / "kunden.csv"), "--consent", "sms", "--wording", "v1"
        )
        assert code == 0  # customers only: no appointment, but three customers and their consent
        assert "Kunden – neu: 3, geändert: 0, unverändert: 0; Einwilligungen erfasst: 3" in out
        code, out = run(
            "import", "csv", str(DATA / "practice" / "kunden.csv"), "--consent", "sms", "--wording", "v1"
        )
        assert code == 3  # the same file again: nothing changed
        assert "Kunden – neu: 0, geändert: 0, unverändert: 3; Einwilligungen erfasst: 0" in out
        code, out = run("import", "ics", str(DATA / "practice" / "praxis.ics"), "--json")
        assert code == 0
        assert json.loads(out)["created"] == 6
        code, out = run("import", "ics", str(DATA / "practice" / "praxis.ics"))
        assert code == 3
        assert "unverändert: 6" in out
        from alphasms.messaging.models import OutboundMessage

        before = list(OutboundMessage.objects.values_list("id", "status"))
        code, out = run("preview", "--until", "2026-12-09T00:00Z", "--json")
        assert list(OutboundMessage.objects.values_list("id", "status")) == before  # preview changes nothing
    items = json.loads(out)
    assert [(i["due_at"], i["recipient"], i["segments"]) for i in items] == [
        ("2026-12-07T09:00:00Z", "+4915112345678", 1),
        ("2026-12-08T13:00:00Z", "+491609876543", 1),
    ]
    assert items[0]["text"] == "Hallo Jörg, Termin Di., 8. Dez. 2026 um 10:00 Uhr."


@pytest.mark.django_db
def test_sms_info_reports_encoding_parts_units_and_cost(monkeypatch):
    from alphasms.messaging.models import SmsPrice

    monkeypatch.setenv("ALPHASMS_LANGUAGE", "de")
    SmsPrice.objects.create(country="DE", price_per_part_micros=75_000, currency="EUR")  # 0.075 €
    code, out = run("sms", "info", "Ihr Termin am Di. – bitte „pünktlich“ sein " + "x" * 140, "--json")
    info = json.loads(out)
    assert code == 0
    assert (info["encoding"], info["segments"], info["units"]) == ("UCS-2", 3, 183)  # all BMP: len()
    assert info["non_gsm_chars"] == ["–", "„", "“"]
    assert info["cost"] == {
        "micros": 225_000,  # 3 × 0.075 € exactly, not 3 × 8 cents
        "amount": "0.225",
        "currency": "EUR",
        "price_per_part_micros": 75_000,
    }
    _, text = run("sms", "info", "Ihr Termin am Di. – bitte „pünktlich“ sein " + "x" * 140)
    assert "Kosten: 0,225\xa0€ (3 × 0,075\xa0€ je Teil, DE)" in text
    _, out = run(
        "sms", "info", "Ihr Termin am Di. – bitte „pünktlich“ sein " + "x" * 140, "--smart", "--json"
    )
    smart = json.loads(out)
    assert (smart["encoding"], smart["segments"], smart["units"]) == ("GSM-7", 2, 183)  # ü is GSM
    assert [(r["original"], r["replacement"]) for r in smart["replacements"]] == [
        ("–", "-"),
        ("„", '"'),
        ("“", '"'),
    ]
    assert "".join(smart["parts"]) == 'Ihr Termin am Di. - bitte "pünktlich" sein ' + "x" * 140


@pytest.mark.django_db
def test_sms_info_keeps_names_as_written_and_says_what_it_costs():
    _, out = run("sms", "info", "Guten Tag Ayşe Wiśniewska", "--smart", "--json")
    info = json.loads(out)
    assert (info["encoding"], info["segments"], info["replacements"]) == ("UCS-2", 1, [])
    assert info["parts"] == ["Guten Tag Ayşe Wiśniewska"]
    assert info["cost"] is None  # no price set


def test_phone_normalize_never_turns_a_bare_country_code_into_a_landline():
    code, out = run("phone", "normalize", "4915112345678", "--json")
    result = json.loads(out)
    assert code == 0
    assert (result["e164"], result["type"], result["sms_ok"]) == ("+4915112345678", "MOBILE", True)
    assert "country_code_without_plus" in result["flags"]


def test_phone_normalize_flags_a_landline_and_fails_on_garbage():
    _, out = run("phone", "normalize", "030 1234567", "--json")
    landline = json.loads(out)
    assert (landline["e164"], landline["type"], landline["sms_ok"]) == ("+49301234567", "FIXED_LINE", False)
    assert "not_mobile" in landline["flags"]
    code, out = run("phone", "normalize", "keine Nummer", "--json")
    assert code == 1
    assert json.loads(out)["e164"] is None


@pytest.mark.django_db
def test_preview_shows_smart_replacements_and_cost(alphasms_settings, location):
    from alphasms.messaging.models import SmsPrice

    SmsPrice.objects.create(country="*", price_per_part_micros=79_700, currency="EUR")  # 0.0797 €
    make_rule(body_template="Termin {date} – „bitte pünktlich“", smart_encoding=True)
    from tests.conftest import make_appointment, make_customer

    make_appointment(location, make_customer(), dt.datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
    with time_machine.travel(dt.datetime(2026, 12, 5, 6, 0, tzinfo=UTC), tick=False):
        _, out = run("preview", "--until", "2026-12-08T00:00Z", "--json")
    (item,) = json.loads(out)
    assert item["text"] == 'Termin Di., 8. Dez. 2026 - "bitte pünktlich"'
    cost = {"micros": 79_700, "amount": "0.0797", "currency": "EUR"}
    assert (item["encoding"], item["segments"], item["cost"]) == ("GSM-7", 1, cost)
    assert [(r["original"], r["replacement"]) for r in item["replacements"]] == [
        ("–", "-"),
        ("„", '"'),
        ("“", '"'),
    ]


@pytest.mark.django_db
def test_sms_spend_lists_each_location_with_its_budget(alphasms_settings, location, monkeypatch):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "de")
    from alphasms.messaging.models import MonthlyUsage
    from alphasms.messaging.services.cost import month_start

    location.monthly_sms_budget_micros = 50_000_000  # 50 €
    location.save()
    month = month_start(location, dt.datetime.now(UTC)).astimezone(location.tz).date()
    MonthlyUsage.objects.create(
        location_id=location.pk, month=month, channel="sms", currency="EUR", cost_micros=225_000
    )
    code, out = run("sms", "spend", "--json")
    (row,) = json.loads(out)
    assert code == 0
    assert (row["location"], row["spent_micros"], row["budget_micros"], row["currency"]) == (
        "Praxis Sonnenhof",
        225_000,
        50_000_000,
        "EUR",
    )
    assert (row["spent"], row["budget"]) == ("0.225", "50.00")
    _, text = run("sms", "spend")
    assert text.strip() == "Praxis Sonnenhof: 0,23\xa0€ / 50,00\xa0€"  # the sum rounded to cents
