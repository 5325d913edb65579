"""Security review, issue 7: a support case takes a backup only from whoever holds the case's upload token.

Before the fix anyone could upload first under a guessable case id (the genuine practice then got 409),
plant data encrypted to the vendor's recipient, ask ``…/receipt`` whether a case exists, and a 22-byte
``age-encryption.org/v1\\n`` passed as a backup. These run against a real vendor server (subprocess)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from pyrage import encrypt, passphrase, x25519

from alphasms.testing.vendor import VendorServer
from alphasms.vendor_server.tests.http import call

PLAIN = b"support data " * 100
FAKE_AGE = b"age-encryption.org/v1\n-> X25519 abc\n" + b"x" * 100  # the review's forged "age" body


def _upload(server: VendorServer, case: str, body: bytes, token: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/octet-stream", "X-AlphaSMS-Licence": "AS1-x.y"}
    if token is not None:
        headers["X-AlphaSMS-Case-Token"] = token
    return call(f"{server.url}/api/v1/support/cases/{case}/backup", body, headers, "POST")


def _receipt(server: VendorServer, case: str, token: str | None) -> tuple[int, Any]:
    headers = {} if token is None else {"X-AlphaSMS-Case-Token": token}
    return call(f"{server.url}/api/v1/support/cases/{case}/receipt", headers=headers)


def _encrypted(server: VendorServer, plain: bytes = PLAIN) -> bytes:
    return bytes(encrypt(plain, [x25519.Recipient.from_str(server.age_recipient)]))


def _stored_files(server: VendorServer) -> list[str]:
    folder = server.data_dir / "support"
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_nobody_can_take_a_case_first_and_the_genuine_upload_wins(vendor_server):
    attacker_body = _encrypted(vendor_server, b"planted by someone else")
    # Before the case is opened: refused exactly like an unknown case, nothing stored.
    assert _upload(vendor_server, "2026-0042", attacker_body, None) == (404, {"error": "unknown case"})
    token = vendor_server.open_case("2026-0042")
    # Opened, but without the token or with a guessed one: still "unknown case".
    assert _upload(vendor_server, "2026-0042", attacker_body, None) == (404, {"error": "unknown case"})
    wrong = "AAAA-" * 7 + "AAAA"
    assert _upload(vendor_server, "2026-0042", attacker_body, wrong) == (404, {"error": "unknown case"})
    assert _upload(vendor_server, "2026-0042", FAKE_AGE, "x") == (404, {"error": "unknown case"})
    assert vendor_server.cases() == []
    assert _stored_files(vendor_server) == []

    genuine = _encrypted(vendor_server)
    status, _ = _upload(vendor_server, "2026-0042", genuine, token)

    assert status == 201
    assert vendor_server.case_path("2026-0042").read_bytes() == genuine
    # The token read out on the phone works in any spelling: lower case, without the dashes.
    assert _upload(vendor_server, "2026-0042", genuine, token.replace("-", "").lower())[0] == 409


def test_the_receipt_is_no_existence_oracle(vendor_server):
    token = vendor_server.open_case("case-held")
    assert _upload(vendor_server, "case-held", _encrypted(vendor_server), token)[0] == 201
    vendor_server.open_case("case-opened-only")
    unknown = _receipt(vendor_server, "never-opened", token)

    assert unknown == (404, {"error": "unknown case"})
    assert _receipt(vendor_server, "case-held", None) == unknown
    assert _receipt(vendor_server, "case-held", "AAAA-" * 7 + "AAAA") == unknown
    assert _receipt(vendor_server, "case-opened-only", None) == unknown
    assert _receipt(vendor_server, "case-opened-only", token) == unknown
    status, answer = _receipt(vendor_server, "case-held", token)
    assert (status, answer["status"]) == (200, "held")


def test_the_token_is_random_shown_once_and_stored_only_as_its_hash(vendor_server):
    done = vendor_server.run_cli("case", "open", "C-1")
    assert done.returncode == 0, done.stderr
    [token] = set(re.findall(r"\b(?:[A-Z2-7]{4}-){7}[A-Z2-7]{4}\b", done.stdout))
    second = vendor_server.open_case("C-2")

    assert len(token.replace("-", "")) * 5 >= 160  # base32: 5 bits a letter
    assert second != token
    listed = vendor_server.run_cli("cases", "list", "--json")
    assert token not in listed.stdout and second not in listed.stdout
    for path in Path(vendor_server.data_dir).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in (token, second, token.replace("-", ""), second.replace("-", "")):
                assert secret.encode() not in data, f"token in {path}"
    assert _upload(vendor_server, "C-1", _encrypted(vendor_server), token)[0] == 201


def test_opening_again_replaces_the_token_until_the_backup_arrived(vendor_server):
    old = vendor_server.open_case("lost-token")
    new = vendor_server.open_case("lost-token")

    assert _upload(vendor_server, "lost-token", _encrypted(vendor_server), old)[0] == 404
    assert _upload(vendor_server, "lost-token", _encrypted(vendor_server), new)[0] == 201
    again = vendor_server.run_cli("case", "open", "lost-token")
    assert again.returncode == 2
    assert "already received a backup" in again.stderr
    assert _receipt(vendor_server, "lost-token", new)[0] == 200  # the token still reads the receipt


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            b"age-encryption.org/v1\n", "not an age-encrypted file", id="version-line-only-22-bytes"
        ),
        pytest.param(FAKE_AGE, "not an age-encrypted file", id="stanza-without-mac"),
        pytest.param(
            b"age-encryption.org/v1\n-> X25519 abc\nxyz\n--- " + b"A" * 43 + b"\n" + b"\0" * 64,
            "no X25519 recipient",
            id="x25519-share-not-32-bytes",
        ),
        pytest.param(
            b"age-encryption.org/v1\n--- " + b"A" * 43 + b"\n" + b"\0" * 64, "no X25519", id="no-stanza"
        ),
        pytest.param(
            b"age-encryption.org/v1\n-> X25519 "
            + b"A" * 43
            + b"\n"
            + b"B" * 43
            + b"\n--- short\n"
            + b"\0" * 64,
            "MAC line",
            id="bad-mac",
        ),
        pytest.param(b"plain" * 30, "not an age-encrypted file", id="plain"),
        pytest.param(b"-----BEGIN AGE ENCRYPTED FILE-----\n" + b"A" * 100, "not an age", id="armored"),
    ],
)
def test_only_a_plausible_binary_age_file_is_accepted(vendor_server, body, reason):
    token = vendor_server.open_case("age-check")

    status, answer = _upload(vendor_server, "age-check", body, token)

    assert status == 400
    assert reason in answer["error"]
    assert vendor_server.cases() == []
    assert _stored_files(vendor_server) == []


def test_a_header_without_a_payload_is_refused_but_the_real_thing_passes(vendor_server):
    token = vendor_server.open_case("short")
    real = _encrypted(vendor_server, b"")
    header_end = real.index(b"\n", real.index(b"\n--- ") + 1) + 1

    status, answer = _upload(vendor_server, "short", real[: header_end + 31], token)
    assert (status, "too short" in answer["error"]) == (400, True)
    assert _upload(vendor_server, "short", real, token)[0] == 201  # empty plaintext: header + 32 bytes


def test_a_passphrase_encrypted_file_is_refused(vendor_server):
    """The vendor cannot read an scrypt (passphrase) file: only X25519 recipients are accepted."""
    token = vendor_server.open_case("scrypt")
    status, answer = _upload(vendor_server, "scrypt", bytes(passphrase.encrypt(PLAIN, "secret")), token)
    assert status == 400
    assert "no X25519 recipient" in answer["error"]


@pytest.mark.parametrize("path", ["..%2F..%2Fx", "..", "%00", "a_b", "x%0A"])
def test_odd_case_paths_never_reach_the_disk(vendor_server, path):
    """A malformed case id is refused (400 naming the allowed characters, or 404 from the router) —
    never a 500, never a file."""
    assert _upload(vendor_server, path, FAKE_AGE, None)[0] in (400, 404)
    assert _receipt(vendor_server, path, None)[0] in (400, 404)
    assert _stored_files(vendor_server) == []
    assert vendor_server.cases() == []
