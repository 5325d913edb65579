"""A support backup's whole life against the real vendor server (a subprocess on 127.0.0.1, fixture
``vendor_server``): upload, case close, the file gone from the vendor's disk, the signed receipt verified
and stored by the client (issue 7 "Done when"). Plus: retention expiry gives a receipt with reason
``expired``, and a forged receipt (another key, served by a local HTTP server) is refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from alphasms.appointments.models import Location
from alphasms.licensing.envelope import (
    generate_private_key,
    public_key_from_text,
    sign_envelope,
    verify_envelope,
)
from alphasms.privacy.models import AuditEntry
from alphasms.support.models import SupportCase
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer
from alphasms.testing.vendor import VendorServer
from tests.conftest import make_appointment, make_customer, make_rule

CASE = "2026-0042"


@pytest.fixture
def practice(db: Any) -> None:
    location = Location.objects.create(name="Praxis Sonnenhof")
    make_rule()
    for number, day in (("1001", 1), ("1002", 2)):
        customer = make_customer(number, "Jörg", f"Bäcker{number}", f"+49151123456{number[-2:]}")
        make_appointment(location, customer, timezone.now() + dt.timedelta(days=day))


def point_at(alphasms_settings: dict[str, Any], server: VendorServer) -> None:
    alphasms_settings.update(
        VENDOR_URL=server.url,
        VENDOR_SIGNING_PUBLIC_KEY=server.public_key_text,
        VENDOR_AGE_RECIPIENT=server.age_recipient,
    )


def run(*args: str) -> tuple[int, str, str]:
    """``alphasms support …`` in-process (the test database); returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def test_upload_close_file_gone_receipt_verified(
    vendor_server: VendorServer, alphasms_settings: dict[str, Any], practice: None, tmp_path: Path
) -> None:
    point_at(alphasms_settings, vendor_server)

    token = vendor_server.open_case(CASE)  # the vendor opens the case and gives the practice its token
    code, out, _ = run("support_backup", "--case", CASE, "--token", token, "--yes", "--json")
    assert code == 0
    sent = json.loads(out)
    assert sent["counts"]["appointments"] == 2 and sent["counts"]["customers"] == 2

    # the file lies on the vendor's disk, byte for byte what the client sent, readable by the vendor only
    path = vendor_server.case_path(CASE)
    assert path.is_file()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sent["sha256"]
    decrypted = tmp_path / "decrypted.json"
    done = vendor_server.run_cli("case", "decrypt", CASE, "--out", str(decrypted))
    assert done.returncode == 0, done.stderr
    assert json.loads(decrypted.read_text())["manifest"]["case"] == CASE
    record = SupportCase.objects.get(case=CASE)
    assert record.uploaded_at is not None and record.delete_by is not None
    assert dt.timedelta(days=29) < record.delete_by - record.uploaded_at <= dt.timedelta(days=30)

    # before the case is closed there is no receipt (exit 3), and the latest deletion date is shown
    code, out, err = run("support_receipt", "--case", CASE)
    assert code == 3, err
    assert SupportCase.objects.get(case=CASE).receipt is None

    closed = vendor_server.run_cli("case", "close", CASE)
    assert closed.returncode == 0, closed.stderr
    assert not path.exists()

    code, out, err = run("support_receipt", "--case", CASE, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["state"], shown["reason"]) == ("deleted", "case_closed")

    record = SupportCase.objects.get(case=CASE)
    payload = verify_envelope(public_key_from_text(vendor_server.public_key_text), record.receipt or {})
    assert payload["type"] == "alphasms-deletion-receipt"
    assert (payload["case"], payload["sha256"], payload["reason"]) == (CASE, sent["sha256"], "case_closed")
    assert record.receipt_verified_at is not None
    assert record.deleted_at == dt.datetime.fromisoformat(payload["deleted_at"].replace("Z", "+00:00"))
    assert [e.action for e in AuditEntry.objects.filter(object_type="support_backup").order_by("id")] == [
        "export",
        "delete",
    ]

    # shown to staff, and listed with its state
    code, out, _ = run("support_receipt", "--case", CASE)
    assert code == 0 and ("gelöscht am" in out or "deleted by the vendor on" in out)
    assert "Fall geschlossen" in out or "case closed" in out
    code, out, _ = run("support_cases", "--json")
    assert [(c["case"], c["receipt_verified"], c["reason"]) for c in json.loads(out)] == [
        (CASE, True, "case_closed")
    ]


def test_a_backup_past_its_retention_comes_back_with_an_expired_receipt(
    vendor_server_factory: Any, alphasms_settings: dict[str, Any], practice: None
) -> None:
    server = vendor_server_factory(ALPHASMS_VENDOR_SUPPORT_RETENTION_DAYS="0")
    point_at(alphasms_settings, server)
    assert run("support_backup", "--case", CASE, "--token", server.open_case(CASE), "--yes")[0] == 0
    path = server.case_path(CASE)

    code, out, err = run("support_receipt", "--case", CASE, "--json")
    assert code == 0, err
    assert json.loads(out)["reason"] == "expired"
    assert not path.exists()
    assert SupportCase.objects.get(case=CASE).deletion_reason == "expired"


def test_a_receipt_signed_by_another_key_is_refused_and_not_stored(
    vendor_server: VendorServer, alphasms_settings: dict[str, Any], practice: None, fake_http: FakeHttpServer
) -> None:
    point_at(alphasms_settings, vendor_server)
    assert run("support_backup", "--case", CASE, "--token", vendor_server.open_case(CASE), "--yes")[0] == 0
    record = SupportCase.objects.get(case=CASE)
    forged = sign_envelope(
        generate_private_key(),
        {"type": "alphasms-deletion-receipt", "case": CASE, "sha256": record.sha256, "reason": "case_closed",
         "received_at": "2026-11-30T10:00:00Z", "deleted_at": "2026-11-30T11:00:00Z"},
    )  # fmt: skip
    fake_http.enqueue(CannedResponse.json(forged))
    alphasms_settings["VENDOR_URL"] = fake_http.url

    code, _, err = run("support_receipt", "--case", CASE)
    assert code == 1
    assert "nicht vom Hersteller signiert" in err or "not signed by the vendor" in err
    assert fake_http.requests[0].path == f"/api/v1/support/cases/{CASE}/receipt"
    record.refresh_from_db()
    assert (record.receipt, record.receipt_verified_at, record.deleted_at) == (None, None, None)
    # the real vendor still holds it
    assert vendor_server.case_path(CASE).is_file()


def test_without_the_case_token_nothing_is_sent_and_the_genuine_upload_still_works(
    vendor_server: VendorServer, alphasms_settings: dict[str, Any], practice: None
) -> None:
    """Security review: a case id alone (guessable, e.g. 2026-0042) neither takes the case nor reads
    its receipt; the practice with the token from the support uploads and later fetches the receipt."""
    point_at(alphasms_settings, vendor_server)
    token = vendor_server.open_case(CASE)

    code, _, err = run("support_backup", "--case", CASE, "--yes")
    assert code == 2 and "--token" in err
    code, _, err = run("support_backup", "--case", CASE, "--token", "not-a-token", "--yes")
    assert code == 2 and "--token" in err and "not-a-token" not in err
    code, _, err = run("support_backup", "--case", CASE, "--token", "A" * 32, "--yes")  # well-formed, wrong
    assert code == 2
    assert "Upload-Schlüssel" in err or "upload token" in err
    assert not SupportCase.objects.filter(case=CASE).exists()
    assert vendor_server.cases() == []

    spoken = token.lower().replace("-", " ")  # as typed after a phone call
    assert run("support_backup", "--case", CASE, "--token", spoken, "--yes")[0] == 0
    record = SupportCase.objects.get(case=CASE)
    assert record.case_token == token.replace("-", "")
    assert vendor_server.run_cli("case", "close", CASE).returncode == 0
    code, out, err = run("support_receipt", "--case", CASE, "--json")
    assert code == 0, err
    assert json.loads(out)["reason"] == "case_closed"
