"""Licence numbers verified offline: genuine, forged, expired, name mismatch, malformed; the CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.core.management import call_command

from alphasms.licensing import envelope
from alphasms.licensing.evaluation import licence_status
from alphasms.licensing.licence import (
    LicenceExpired,
    LicenceForged,
    LicenceMalformed,
    LicenceNameMismatch,
    LicenceNameMissing,
    current_licence,
    set_licence,
    verify_licence,
)
from alphasms.licensing.models import Licence
from alphasms.licensing.testing import licence_number
from alphasms.testing.cli import run_cli

pytestmark = pytest.mark.django_db
NAME = "Praxis Dr. Müller"


def test_a_genuine_licence_verifies_and_is_stored(licensing_settings, vendor):
    number = vendor.licence(NAME, edition="gruppe", locations=3, expires="2030-06-30", serial=42)
    info = set_licence(f"  {NAME} ", number)
    assert (info.registration_name, info.edition, info.locations, info.serial) == (NAME, "gruppe", 3, 42)
    assert info.expires == dt.date(2030, 6, 30)
    row = Licence.objects.get()
    assert (row.registration_name, row.licence_number, row.expires) == (NAME, number, dt.date(2030, 6, 30))
    assert current_licence().licensed


def test_a_number_signed_by_another_key_is_forged(licensing_settings):
    forged = licence_number(envelope.generate_private_key(), NAME)
    with pytest.raises(LicenceForged) as info:
        set_licence(NAME, forged)
    assert type(info.value) is LicenceForged
    assert info.value.field == "licence_number"
    assert "nicht vom Hersteller ausgestellt" in info.value.de
    assert "not issued by the vendor" in info.value.en
    assert not Licence.objects.exists()


def test_an_altered_body_is_forged(licensing_settings, vendor):
    number = vendor.licence(NAME, locations=1)
    body, sig = number[4:].split(".")
    raw = json.loads(envelope.b64url_decode(body))
    raw["locations"] = 99
    altered = f"AS1-{envelope.b64url_encode(envelope.canonical_json(raw))}.{sig}"
    with pytest.raises(LicenceForged):
        verify_licence(NAME, altered)


def test_another_name_is_refused_and_a_near_miss_names_the_right_spelling(licensing_settings, vendor):
    number = vendor.licence(NAME)
    with pytest.raises(LicenceForged) as other:
        verify_licence("Praxis Dr. Meier", number)
    assert type(other.value) is LicenceForged
    with pytest.raises(LicenceNameMismatch) as near:
        verify_licence("praxis dr. müller", number)
    assert near.value.field == "registration_name"
    assert near.value.suggestion == NAME
    with pytest.raises(LicenceNameMismatch) as spaces:
        verify_licence("Praxis  Dr.   Müller", number)
    assert spaces.value.suggestion == NAME
    assert f"„{NAME}“" in spaces.value.de


def test_an_expired_licence_is_refused_with_its_date(licensing_settings, vendor):
    number = vendor.licence(NAME, expires="2026-01-31")
    with time_machine.travel(dt.datetime(2026, 1, 31, 22, 0, tzinfo=dt.UTC), tick=False):  # 23:00 Berlin
        assert verify_licence(NAME, number).expires == dt.date(2026, 1, 31)  # the last day still counts
    with time_machine.travel(dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC), tick=False):  # 1 Feb Berlin
        with pytest.raises(LicenceExpired) as info:
            set_licence(NAME, number)
    assert info.value.expires == dt.date(2026, 1, 31)
    assert "am 2026-01-31 abgelaufen" in info.value.de
    assert "expired on 2026-01-31" in info.value.en
    assert not Licence.objects.exists()


@pytest.mark.parametrize(
    "number",
    ["", "XYZ-abc.def", "AS1-abc", "AS1-.abc", "AS1-!!!.@@@", "AS1-e30.AAAA"],
)
def test_malformed_numbers_are_refused(licensing_settings, number):
    with pytest.raises(LicenceMalformed) as info:
        verify_licence(NAME, number)
    assert info.value.field == "licence_number"
    assert "AS1-" in info.value.de and "AS1-" in info.value.en


def test_malformed_body_values(licensing_settings, vendor):
    key = vendor.private_key
    for bad in (
        {"edition": "", "locations": 1},
        {"locations": 0},
        {"locations": True},
        {"expires": "2030-02-30"},
    ):
        fields = {"edition": "praxis", "locations": 1, "expires": "2030-01-01", "serial": 1, **bad}
        body = envelope.canonical_json(fields)
        sig = key.sign(envelope.canonical_json({**fields, "registration_name": NAME}))
        number = f"AS1-{envelope.b64url_encode(body)}.{envelope.b64url_encode(sig)}"
        with pytest.raises(LicenceMalformed):
            verify_licence(NAME, number)


def test_a_missing_name_is_its_own_error(licensing_settings, vendor):
    with pytest.raises(LicenceNameMissing) as info:
        verify_licence("   ", vendor.licence(NAME))
    assert info.value.field == "registration_name"


def test_a_number_copied_with_line_breaks_still_verifies(licensing_settings, vendor):
    number = vendor.licence(NAME)
    broken = number[:20] + "\n  " + number[20:]
    assert verify_licence(NAME, broken).licence_number == number


def test_a_stored_licence_that_no_longer_verifies_means_evaluation_mode(licensing_settings, vendor, settings):
    set_licence(NAME, vendor.licence(NAME))
    settings.ALPHASMS = {
        **licensing_settings,
        "VENDOR_SIGNING_PUBLIC_KEY": envelope.public_key_to_text(
            envelope.generate_private_key().public_key()
        ),
    }
    status = licence_status()
    assert (status.mode, status.reason) == ("evaluation", "invalid")


def test_cli_show_says_evaluation_mode_plainly(licensing_settings, monkeypatch):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    code, out, _ = run_cli("licence", "show")
    assert code == 0
    assert out.startswith("EVALUATION MODE: No licence entered.")
    assert "at most 50 messages a month; 50 left this month (0 sent)" in out
    code, out, _ = run_cli("licence", "show", "--json")
    data = json.loads(out)
    assert (data["mode"], data["reason"], data["remaining_this_month"], data["monthly_limit"]) == (
        "evaluation",
        "none",
        50,
        50,
    )


def test_cli_set_stores_and_show_reports_the_licence(licensing_settings, vendor, monkeypatch):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "de")
    number = vendor.licence(NAME, edition="praxis", locations=2, expires="2031-12-31", serial=5)
    code, out, _ = run_cli("licence", "set", "--name", NAME, "--number", number)
    assert code == 0
    assert "Lizenz gespeichert. Lizenziert für „Praxis Dr. Müller“ (Edition praxis, 2 Standort(e)" in out
    code, out, _ = run_cli("licence", "show", "--json")
    data = json.loads(out)
    assert (data["mode"], data["edition"], data["locations"], data["expires"], data["serial"]) == (
        "licensed",
        "praxis",
        2,
        "2031-12-31",
        5,
    )
    assert data["remaining_this_month"] is None
    assert number not in out  # the number is not echoed


def test_cli_set_refuses_a_forged_licence_with_exit_2(licensing_settings, monkeypatch):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    forged = licence_number(envelope.generate_private_key(), NAME)
    from alphasms.commands import UsageError

    with pytest.raises(UsageError) as info:
        call_command("licence_set", "--name", NAME, "--number", forged)
    assert info.value.returncode == 2
    assert "not issued by the vendor" in str(info.value)
    assert not Licence.objects.exists()
