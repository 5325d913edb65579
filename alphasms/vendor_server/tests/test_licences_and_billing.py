"""Licence numbers issued by the vendor CLI, the billing list of active licences per month and the
retention of update checks — against a real vendor server and its CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from alphasms.licensing.envelope import b64url_decode, canonical_json, public_key_from_text
from alphasms.testing.vendor import VendorServer
from alphasms.vendor_server.licence_numbers import read_licence_number
from alphasms.vendor_server.tests.http import post_json


def _check(server: VendorServer, name: str = "", number: str = "", version: str = "0.1.0") -> None:
    body = {
        "client_version": version,
        "os": "Windows 11",
        "registration_name": name,
        "licence_number": number,
    }
    status, _ = post_json(f"{server.url}/api/v1/update-check", body)
    assert status in (200, 404)


def test_an_issued_licence_number_verifies_with_the_public_key_for_its_name_only(vendor_server):
    done = vendor_server.run_cli(
        "licence", "issue", "--name", "  Praxis Dr. Müller ", "--edition", "praxis", "--locations", "2",
        "--expires", "2027-12-31", "--json",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    issued = json.loads(done.stdout)
    assert issued["registration_name"] == "Praxis Dr. Müller"
    number = issued["licence_number"]
    assert number.startswith("AS1-")
    body_text, signature_text = number[4:].split(".")
    body = json.loads(b64url_decode(body_text))
    assert body == {"edition": "praxis", "locations": 2, "expires": "2027-12-31", "serial": 1}
    public_key = public_key_from_text(vendor_server.public_key_text)
    public_key.verify(
        b64url_decode(signature_text), canonical_json({**body, "registration_name": "Praxis Dr. Müller"})
    )  # raises InvalidSignature if not
    assert read_licence_number(public_key, number, "Praxis Dr. Müller").valid
    assert not read_licence_number(public_key, number, "Praxis Dr. Mueller").valid


def test_serials_rise_and_the_text_output_names_number_and_name(vendor_server):
    vendor_server.issue_licence("Praxis A")

    done = vendor_server.run_cli(
        "licence", "issue", "--name", "Praxis B", "--edition", "gruppe", "--locations", "3",
        "--expires", "2028-01-31", env={"ALPHASMS_LANGUAGE": "de"},
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "Lizenznummer: AS1-" in done.stdout
    assert "Registrierungsname (genau so eingeben): Praxis B" in done.stdout
    assert "Seriennummer 2" in done.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--name", "X", "--edition", "praxis", "--locations", "1", "--expires", "31.12.2027"], "--expires"),
        (["--name", "X", "--edition", "Praxis!", "--locations", "1", "--expires", "2027-12-31"], "edition"),
        (["--name", "  ", "--edition", "praxis", "--locations", "1", "--expires", "2027-12-31"], "--name"),
        (
            ["--name", "X", "--edition", "praxis", "--locations", "0", "--expires", "2027-12-31"],
            "--locations",
        ),
    ],
    ids=["german-date", "edition", "empty-name", "no-locations"],
)
def test_issue_refuses_bad_input_naming_the_option(vendor_server, args, named):
    done = vendor_server.run_cli("licence", "issue", *args, env={"ALPHASMS_LANGUAGE": "en"})

    assert done.returncode == 2
    assert named in done.stderr


def test_active_licences_lists_each_licence_that_checked_in_that_month_once(vendor_server):
    number_a = vendor_server.issue_licence("Praxis A", locations=2)
    number_b = vendor_server.issue_licence("Praxis B", edition="gruppe", locations=5)
    _check(vendor_server, "Praxis A", number_a)
    _check(vendor_server, "Praxis A", number_a, version="0.2.0")
    _check(vendor_server, "Praxis B", number_b)
    _check(vendor_server, "Praxis Fake", number_b)  # someone else's number under another name
    _check(vendor_server)  # evaluation install: not billed
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")

    rows = vendor_server.run_json("licences", "active", "--month", month)

    assert [(r["registration_name"], r["check_count"], r["valid"]) for r in rows] == [
        ("Praxis A", 2, True),
        ("Praxis B", 1, True),
        ("Praxis Fake", 1, False),
    ]
    assert (rows[0]["edition"], rows[0]["locations"], rows[0]["serial"]) == ("praxis", 2, 1)
    assert (rows[1]["edition"], rows[1]["locations"], rows[1]["serial"]) == ("gruppe", 5, 2)
    assert rows[0]["licence_number"] == number_a
    assert vendor_server.run_json("licences", "active", "--month", "2001-01") == []
    assert len(vendor_server.run_json("checks", "list", "--month", month)) == 5
    assert vendor_server.run_json("checks", "list", "--month", "2001-01") == []


def test_a_month_must_be_given_as_yyyy_mm(vendor_server):
    done = vendor_server.run_cli("licences", "active", "--month", "11/2026")

    assert done.returncode == 2
    assert "--month" in done.stderr


def test_checks_purge_deletes_checks_past_the_retention_only(vendor_server):
    _check(vendor_server, "Praxis A", "AS1-a.b")
    _check(vendor_server)

    kept = vendor_server.run_cli("checks", "purge", "--json")
    assert kept.returncode == 3
    assert json.loads(kept.stdout) == {"deleted": 0, "retention_days": 400}
    assert len(vendor_server.update_checks()) == 2

    purged = vendor_server.run_cli(
        "checks", "purge", "--json", env={"ALPHASMS_VENDOR_CHECK_RETENTION_DAYS": "0"}
    )

    assert purged.returncode == 0, purged.stderr
    assert json.loads(purged.stdout) == {"deleted": 2, "retention_days": 0}
    assert vendor_server.update_checks() == []


def test_keys_show_prints_public_halves_and_never_the_private_keys(vendor_server):
    done = vendor_server.run_cli("keys", "show")

    assert done.returncode == 0, done.stderr
    assert vendor_server.public_key_text in done.stdout
    assert vendor_server.age_recipient in done.stdout
    for secret_file in ("signing_key.txt", "age_identity.txt"):
        path = vendor_server.data_dir / secret_file
        assert path.read_text().strip() not in done.stdout + done.stderr
        assert path.stat().st_mode & 0o777 == 0o600
