"""Framework-free parts of the vendor server, in-process: key files, licence numbers, months, and the
command words that pick the vendor's settings."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from alphasms.licensing.envelope import generate_private_key, private_key_to_text
from alphasms.vendor_server import keys, words
from alphasms.vendor_server.licence_numbers import (
    LicenceBody,
    clean_registration_name,
    issue_licence_number,
    read_licence_number,
)
from alphasms.vendor_server.periods import month_bounds


def test_key_files_are_generated_once_with_mode_0600(tmp_path):
    signing_file, age_file = tmp_path / "keys" / "signing.txt", tmp_path / "keys" / "age.txt"

    first, identity = keys.load_signing_key(signing_file), keys.load_age_identity(age_file)

    assert signing_file.stat().st_mode & 0o777 == 0o600
    assert age_file.stat().st_mode & 0o777 == 0o600
    assert keys.public_key_text(keys.load_signing_key(signing_file)) == keys.public_key_text(first)
    assert keys.age_recipient(keys.load_age_identity(age_file)) == keys.age_recipient(identity)
    assert keys.age_recipient(identity).startswith("age1")
    assert sorted(p.name for p in signing_file.parent.iterdir()) == ["age.txt", "signing.txt"]


def test_an_existing_key_file_is_used_as_is(tmp_path):
    key = generate_private_key()
    path = tmp_path / "signing.txt"
    path.write_text(private_key_to_text(key) + "\n")

    assert keys.public_key_text(keys.load_signing_key(path)) == keys.public_key_text(key)


def test_a_key_file_with_something_else_names_the_file_and_setting(tmp_path):
    path = tmp_path / "signing.txt"
    path.write_text("not a key")

    with pytest.raises(keys.KeyFileError, match="ALPHASMS_VENDOR_SIGNING_KEY_FILE") as caught:
        keys.load_signing_key(path)
    assert str(path) in str(caught.value)
    with pytest.raises(keys.KeyFileError, match="ALPHASMS_VENDOR_AGE_IDENTITY_FILE"):
        keys.load_age_identity(path)


def test_a_licence_number_reads_back_and_fails_for_another_name_or_key():
    key = generate_private_key()
    body = LicenceBody(edition="praxis", locations=1, expires=dt.date(2027, 6, 30), serial=42)

    number = issue_licence_number(key, "Zahnarzt Ölmann", body)

    read = read_licence_number(key.public_key(), number, "Zahnarzt Ölmann")
    assert read.valid
    assert read.body == {"edition": "praxis", "locations": 1, "expires": "2027-06-30", "serial": 42}
    assert not read_licence_number(key.public_key(), number, "Zahnarzt Oelmann").valid
    assert not read_licence_number(generate_private_key().public_key(), number, "Zahnarzt Ölmann").valid
    assert read_licence_number(key.public_key(), "garbage", "x").body is None


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [("  Praxis  ", "Praxis"), ("Praxis Mu\u0308ller", "Praxis Müller")],
)
def test_registration_names_are_signed_stripped_and_nfc(raw, cleaned):
    assert clean_registration_name(raw) == cleaned


@pytest.mark.parametrize("raw", ["", "   ", "a\nb", "x" * 201])
def test_bad_registration_names_are_refused(raw):
    with pytest.raises(ValueError, match="registration name"):
        clean_registration_name(raw)


@pytest.mark.parametrize(
    ("month", "start", "end"),
    [
        ("2026-11", dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC)),
        ("2026-12", dt.datetime(2026, 12, 1, tzinfo=dt.UTC), dt.datetime(2027, 1, 1, tzinfo=dt.UTC)),
        ("2028-02", dt.datetime(2028, 2, 1, tzinfo=dt.UTC), dt.datetime(2028, 3, 1, tzinfo=dt.UTC)),
    ],
)
def test_months_are_utc_start_inclusive_end_exclusive(month, start, end):
    assert month_bounds(month) == (start, end)


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "11/2026", "0000-01", "9999-12"])
def test_bad_months_are_refused(month):
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_bounds(month)


def test_vendor_words_map_to_vendor_commands(capsys):
    assert words.translate(["vendor-server", "--port", "0"], "alphasms") == ["vendor_server", "--port", "0"]
    assert words.translate(["vendor", "case", "close", "C-1"], "alphasms") == ["vendor_case_close", "C-1"]
    assert words.translate(["vendor", "checks", "--help"], "alphasms") == 0
    assert "vendor checks purge" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vendor"], "vendor licence issue"),
        (["vendor", "licenses"], "there is no group 'licenses'"),
        (["vendor", "checks"], "alphasms vendor checks list|purge"),
        (["vendor", "checks", "drop"], "alphasms vendor checks list|purge"),
    ],
)
def test_incomplete_vendor_words_exit_2_with_the_possibilities(capsys, monkeypatch, args, message):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")

    assert words.translate(args, "alphasms") == 2

    captured = capsys.readouterr()
    assert message in captured.out + captured.err


def test_vendor_commands_use_the_vendor_settings_even_when_the_clients_are_set(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "alphasms.project.settings",
        "ALPHASMS_VENDOR_DATA_DIR": str(tmp_path),
        "ALPHASMS_LANGUAGE": "en",
    }

    done = subprocess.run(
        [sys.executable, "-m", "alphasms", "vendor", "keys", "show", "--json"],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "signing_key.txt").exists()
    assert not (tmp_path / "alphasms.sqlite3").exists()
