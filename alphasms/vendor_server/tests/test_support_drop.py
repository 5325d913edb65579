"""The support-backup drop against a real vendor server: upload → held → case closed or expired → file
gone from the vendor's disk → signed deletion receipt that verifies with the vendor's public key."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from typing import Any

import pytest
from pyrage import encrypt, x25519

from alphasms.licensing.envelope import public_key_from_text, verify_envelope
from alphasms.testing.vendor import VendorServer
from alphasms.vendor_server.tests.http import call

PLAIN = b"SQLite format 3\x00" + b"customers, appointments, messages" * 2000


TOKENS: dict[tuple[str, str], str] = {}  # (server url, case) → token of the case opened by _token


def _token(server: VendorServer, case: str) -> str:
    """The case's upload token, opening the case (``alphasms vendor case open``) the first time."""
    key = (server.url, case)
    if key not in TOKENS:
        TOKENS[key] = server.open_case(case)
    return TOKENS[key]


def _upload(
    server: VendorServer, case: str, body: bytes, licence: str = "AS1-x.y", token: str | None = None
) -> tuple[int, Any]:
    """POST the body for ``case`` with its token (the case is opened first unless ``token`` is given)."""
    headers = {
        "Content-Type": "application/octet-stream",
        "X-AlphaSMS-Licence": licence,
        "X-AlphaSMS-Case-Token": _token(server, case) if token is None else token,
    }
    return call(f"{server.url}/api/v1/support/cases/{case}/backup", body, headers, "POST")


def _receipt(server: VendorServer, case: str, token: str | None = None) -> tuple[int, Any]:
    """GET the case's receipt with the case's token (opened by an upload before) unless ``token``."""
    tok = TOKENS.get((server.url, case), "") if token is None else token
    return call(f"{server.url}/api/v1/support/cases/{case}/receipt", headers={"X-AlphaSMS-Case-Token": tok})


def _encrypted(server: VendorServer) -> bytes:
    return bytes(encrypt(PLAIN, [x25519.Recipient.from_str(server.age_recipient)]))


def _parse(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def test_a_support_backup_lives_from_upload_to_signed_receipt_after_case_close(vendor_server):
    body = _encrypted(vendor_server)

    status, held = _upload(vendor_server, "T-2026-0042", body)

    assert status == 201
    assert held["case"] == "T-2026-0042"
    assert held["sha256"] == hashlib.sha256(body).hexdigest()
    assert held["size_bytes"] == len(body)
    assert _parse(held["delete_by"]) - _parse(held["received_at"]) == dt.timedelta(days=30)
    path = vendor_server.case_path("T-2026-0042")
    assert path.read_bytes() == body  # stored as received: still encrypted
    assert _receipt(vendor_server, "T-2026-0042") == (
        200,
        {"case": "T-2026-0042", "status": "held", "delete_by": held["delete_by"]},
    )

    closed = vendor_server.run_cli("case", "close", "T-2026-0042")

    assert closed.returncode == 0, closed.stderr
    assert not path.exists()
    assert os.listdir(path.parent) == []
    status, receipt = _receipt(vendor_server, "T-2026-0042")
    assert status == 200
    payload = verify_envelope(public_key_from_text(vendor_server.public_key_text), receipt)
    assert payload["type"] == "alphasms-deletion-receipt"
    assert payload["case"] == "T-2026-0042"
    assert payload["sha256"] == held["sha256"]
    assert payload["received_at"] == held["received_at"]
    assert payload["reason"] == "case_closed"
    assert _parse(held["received_at"]) <= _parse(payload["deleted_at"]) <= dt.datetime.now(dt.UTC)
    assert _receipt(vendor_server, "T-2026-0042") == (200, receipt)  # the same receipt every time

    again = vendor_server.run_cli("case", "close", "T-2026-0042")
    assert again.returncode == 3


def test_the_vendor_can_decrypt_a_held_backup_with_its_age_identity(vendor_server, tmp_path):
    _upload(vendor_server, "case-7", _encrypted(vendor_server))
    target = tmp_path / "backup.sqlite3"

    done = vendor_server.run_cli("case", "decrypt", "case-7", "--out", str(target))

    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == PLAIN
    assert target.stat().st_mode & 0o777 == 0o600


def test_a_backup_is_deleted_with_a_receipt_once_its_retention_ran_out(vendor_server_factory):
    server = vendor_server_factory(ALPHASMS_VENDOR_SUPPORT_RETENTION_DAYS="0")
    status, held = _upload(server, "case-expiring", _encrypted(server))
    assert status == 201
    assert held["delete_by"] == held["received_at"]
    path = server.case_path("case-expiring")

    status, receipt = _receipt(server, "case-expiring")

    assert status == 200
    payload = verify_envelope(public_key_from_text(server.public_key_text), receipt)
    assert payload["reason"] == "expired"
    assert not path.exists()


def test_cases_purge_applies_a_shortened_retention_to_backups_already_held(vendor_server):
    _upload(vendor_server, "old-case", _encrypted(vendor_server))
    path = vendor_server.case_path("old-case")

    nothing = vendor_server.run_cli("cases", "purge")
    assert nothing.returncode == 3
    assert path.exists()

    done = vendor_server.run_cli(
        "cases", "purge", "--json", env={"ALPHASMS_VENDOR_SUPPORT_RETENTION_DAYS": "0"}
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"deleted": ["old-case"]}
    assert not path.exists()
    _, receipt = _receipt(vendor_server, "old-case")
    assert receipt["payload"]["reason"] == "expired"


def test_the_server_purges_expired_backups_by_itself(vendor_server_factory):
    import time

    server = vendor_server_factory(
        ALPHASMS_VENDOR_SUPPORT_RETENTION_DAYS="0", ALPHASMS_VENDOR_PURGE_INTERVAL_S="1"
    )
    _upload(server, "forgotten", _encrypted(server))
    path = server.case_path("forgotten")

    deadline = time.monotonic() + 20
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)

    assert not path.exists()
    [case] = server.cases()
    assert (case["status"], case["reason"]) == ("deleted", "expired")


def test_an_unknown_case_has_no_receipt(vendor_server):
    assert _receipt(vendor_server, "never-uploaded") == (404, {"error": "unknown case"})
    closed = vendor_server.run_cli("case", "close", "never-uploaded")
    assert closed.returncode == 2
    assert "unknown case" in closed.stderr


@pytest.mark.parametrize("case", ["a_b", "x" * 65, "case.1"])
def test_a_bad_case_id_is_refused(vendor_server, case):
    status, answer = _upload(vendor_server, case, _encrypted(vendor_server), token="")

    assert status == 400
    assert "case must be" in answer["error"]
    assert vendor_server.cases() == []


def test_a_backup_that_is_not_age_encrypted_is_refused_and_not_kept(vendor_server):
    status, answer = _upload(vendor_server, "plain", PLAIN)

    assert status == 400
    assert "not an age-encrypted file" in answer["error"]
    assert vendor_server.cases() == []
    assert os.listdir(vendor_server.data_dir / "support") == []


def test_a_case_takes_one_backup(vendor_server):
    first, _ = _upload(vendor_server, "case-1", _encrypted(vendor_server))
    second, answer = _upload(vendor_server, "case-1", _encrypted(vendor_server))

    assert (first, second) == (201, 409)
    assert "already received a backup" in answer["error"]
    assert len(os.listdir(vendor_server.data_dir / "support")) == 1


def test_a_backup_over_the_size_limit_is_refused(vendor_server_factory):
    server = vendor_server_factory(ALPHASMS_VENDOR_SUPPORT_MAX_MB="1")
    big = encrypt(os.urandom(1024 * 1024), [x25519.Recipient.from_str(server.age_recipient)])

    status, answer = _upload(server, "big", big)

    assert status == 413
    assert str(1024 * 1024) in answer["error"]
    assert server.cases() == []


def test_the_case_keeps_the_licence_header(vendor_server):
    _upload(vendor_server, "lic", _encrypted(vendor_server), licence="AS1-abc.def")

    [case] = vendor_server.cases()

    assert case["licence_number"] == "AS1-abc.def"
    assert case["status"] == "held"
