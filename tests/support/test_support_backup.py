"""The support backup (issue 7, part 5): contents from the allow-list only, never a secret, pseudonymised by
default, encrypted to the vendor recipient, uploaded per protocol, and the deletion receipt checked
(signature, case id, SHA-256) before it is stored. The vendor side is a real HTTP peer on 127.0.0.1
(``fake_http``); the full life with the real vendor server is in ``test_support_backup_e2e.py``."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from typing import Any

import pyrage
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from alphasms.appointments.models import AppointmentType, Location
from alphasms.licensing.envelope import generate_private_key, public_key_to_text, sign_envelope
from alphasms.privacy.models import AuditEntry
from alphasms.support import support_backup
from alphasms.support.models import SupportCase
from alphasms.support.support_backup import (
    ALLOWED_FIELDS,
    CaseAlreadySent,
    ReceiptForged,
    ReceiptMismatch,
    UsageProblem,
    fetch_receipt,
    preview_support_backup,
    upload_support_backup,
)
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer
from tests.conftest import make_appointment, make_customer, make_rule

CASE = "2026-0042"
TOKEN = "ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567"  # the form ``alphasms vendor case open`` prints
SECRETS = {
    "SEVENIO_API_KEY": "sevenio-key-Zq81nLw0",
    "SEVENIO_SIGNING_SECRET": "sevenio-signing-Hh27Yx",
    "TWILIO_AUTH_TOKEN": "twilio-token-Pp93Qa",
}
SMTP_PASSWORD = "smtp-password-Mm45Rt"
SECRET_KEY = "django-secret-key-Kk11Vb-for-this-test-only-" + "x" * 20
USER_PASSWORD = "staff-password-Ww72Lc"


@pytest.fixture
def vendor_identity() -> pyrage.x25519.Identity:
    return pyrage.x25519.Identity.generate()


@pytest.fixture
def signing_key() -> Any:
    return generate_private_key()


@pytest.fixture
def vendor(
    alphasms_settings: dict[str, Any], fake_http: FakeHttpServer, vendor_identity: Any, signing_key: Any
) -> FakeHttpServer:
    """Settings pointing at a fake vendor on 127.0.0.1 with keys generated for this test."""
    alphasms_settings.update(
        VENDOR_URL=fake_http.url,
        VENDOR_AGE_RECIPIENT=str(vendor_identity.to_public()),
        VENDOR_SIGNING_PUBLIC_KEY=public_key_to_text(signing_key.public_key()),
        **SECRETS,
    )
    return fake_http


@pytest.fixture
def practice(db: Any) -> dict[str, Any]:
    now = timezone.now()
    sonnenhof = Location.objects.create(name="Praxis Sonnenhof", phone="+49 30 1234567")
    nordstadt = Location.objects.create(name="Praxis Nordstadt")
    massage = AppointmentType.objects.create(name="Massage")
    rule = make_rule()
    rule.appointment_types.add(massage)
    joerg = make_customer("1001", "Jörg", "Bäcker", "+4915112345678", "joerg@example.org")
    joerg.notes = "Allergie gegen Latex"
    joerg.save()
    ayse = make_customer("1002", "Ayşe", "Yılmaz", "+4917698765432", "ayse@example.net")
    old = make_customer("1003", "Olga", "Altmann", "+4916011111111", "olga@example.com")
    other = make_customer("1004", "Otto", "Nordmann", "+4915212121212", "otto@example.com")
    appointments = [
        make_appointment(sonnenhof, joerg, now + dt.timedelta(days=1), appointment_type=massage),
        make_appointment(sonnenhof, joerg, now + dt.timedelta(days=8)),
        make_appointment(sonnenhof, ayse, now + dt.timedelta(days=2), external_uid="abc@google.com"),
        make_appointment(sonnenhof, old, now - dt.timedelta(days=90)),
        make_appointment(nordstadt, other, now + dt.timedelta(days=3)),
    ]
    return {"location": sonnenhof, "nordstadt": nordstadt, "appointments": appointments, "rule": rule}


def decrypt(bundle: bytes, identity: Any) -> bytes:
    plain: bytes = pyrage.decrypt(bundle, [identity])
    return plain


def test_the_bundle_holds_no_secret_of_any_kind(
    vendor: FakeHttpServer, vendor_identity: Any, practice: dict[str, Any], alphasms_settings: Any
) -> None:
    from alphasms.support.backup import ensure_key_file

    key_path, _, _ = ensure_key_file()
    backup_identity = next(
        line.strip() for line in key_path.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-1")
    )
    user = User.objects.create_superuser("praxis", "praxis@example.org", USER_PASSWORD)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session.create()
    with override_settings(SECRET_KEY=SECRET_KEY, EMAIL_HOST_PASSWORD=SMTP_PASSWORD):
        preview = preview_support_backup(CASE, pseudonymise=False)
        plain = decrypt(preview.bundle, vendor_identity)

    secrets = [
        *SECRETS.values(),
        SMTP_PASSWORD,
        SECRET_KEY,
        settings.SECRET_KEY,
        USER_PASSWORD,
        user.password,  # the password hash
        session.session_key,
        backup_identity,
        backup_identity[len("AGE-SECRET-KEY-1") :][:20],
    ]
    text = plain.decode("utf-8")
    assert [s for s in secrets if s and s in text] == []
    assert [s for s in secrets if s and s.lower() in text.lower()] == []
    # the real data is there (pseudonymise=False), so the grep looked at real content
    assert "Bäcker" in text and "+4915112345678" in text


def test_the_bundle_has_only_allow_listed_fields_and_a_manifest(
    vendor: FakeHttpServer, vendor_identity: Any, practice: dict[str, Any]
) -> None:
    preview = preview_support_backup(CASE)
    document = json.loads(decrypt(preview.bundle, vendor_identity))

    manifest = document["manifest"]
    assert manifest["format"] == "alphasms-support-backup/1"
    assert manifest["case"] == CASE
    assert manifest["pseudonymised"] is True
    # next 60 days, both locations: 4 appointments of 3 customers; the one 90 days ago is out of range
    assert manifest["counts"] == {
        "locations": 2,
        "reminder_rules": 1,
        "appointment_types": 1,
        "appointments": 4,
        "customers": 3,
    }
    assert preview.counts == manifest["counts"]
    assert preview.size_bytes == len(preview.bundle)
    assert preview.sha256 == hashlib.sha256(preview.bundle).hexdigest()
    assert preview.destination_url == f"{vendor.url}/api/v1/support/cases/{CASE}/backup"
    for kind, (_, fields) in ALLOWED_FIELDS.items():
        for row in document["data"][kind]:
            extra = {"appointment_type_ids"} if kind == "reminder_rules" else set()
            assert set(row) == set(fields) | extra, kind
    assert document["data"]["reminder_rules"][0]["appointment_type_ids"] == [AppointmentType.objects.get().pk]
    assert vendor.requests == []  # a preview sends nothing


def test_names_numbers_addresses_and_notes_are_pseudonymised_by_default(
    vendor: FakeHttpServer, vendor_identity: Any, practice: dict[str, Any]
) -> None:
    preview = preview_support_backup(CASE)
    plain = decrypt(preview.bundle, vendor_identity).decode("utf-8")
    for real in ("Jörg", "Bäcker", "Ayşe", "Yılmaz", "15112345678", "17698765432", "joerg@", "example.org",
                 "Latex", "abc@google.com", "1001"):  # fmt: skip
        assert real not in plain, real
    customers = {c["id"]: c for c in json.loads(plain)["data"]["customers"]}
    joerg = customers[practice["appointments"][0].customer_id]
    ayse = customers[practice["appointments"][2].customer_id]
    assert joerg["family_name"] == f"Kunde {joerg['id']}"
    assert joerg["email"] == f"kunde-{joerg['id']}@pseudonym.invalid"
    assert joerg["notes"] == ""
    # same country code and length as the real number, other digits, distinct per person
    assert joerg["mobile_e164"].startswith("+49") and len(joerg["mobile_e164"]) == len("+4915112345678")
    assert joerg["mobile_e164"] != ayse["mobile_e164"]
    summaries = [a["summary"] for a in json.loads(plain)["data"]["appointments"]]
    assert f"Termin {practice['appointments'][0].pk} (Massage)" in summaries


def test_real_names_are_sent_only_when_asked_for(
    vendor: FakeHttpServer, vendor_identity: Any, practice: dict[str, Any]
) -> None:
    plain = decrypt(preview_support_backup(CASE, pseudonymise=False).bundle, vendor_identity).decode()
    assert "Bäcker" in plain and "joerg@example.org" in plain and "Latex" in plain


def test_range_and_location_limit_appointments_and_their_customers(
    vendor: FakeHttpServer, vendor_identity: Any, practice: dict[str, Any]
) -> None:
    now = timezone.now()
    preview = preview_support_backup(
        CASE, since=now, until=now + dt.timedelta(days=5), location="Praxis Sonnenhof", pseudonymise=False
    )
    data = json.loads(decrypt(preview.bundle, vendor_identity))["data"]
    assert [loc["name"] for loc in data["locations"]] == ["Praxis Sonnenhof"]
    assert sorted(c["family_name"] for c in data["customers"]) == ["Bäcker", "Yılmaz"]
    assert len(data["appointments"]) == 2  # day 8 and the other location are out
    with pytest.raises(UsageProblem, match="--location 'Praxis Süd'"):
        preview_support_backup(CASE, location="Praxis Süd")
    with pytest.raises(UsageProblem, match="--until"):
        preview_support_backup(CASE, since=now, until=now - dt.timedelta(days=1))


@pytest.mark.parametrize("case", ["", "2026/42", "a" * 65, "fall 1", "ü"])
def test_a_bad_case_id_is_refused_naming_the_option(case: str, vendor: FakeHttpServer, db: Any) -> None:
    with pytest.raises(UsageProblem, match="--case"):
        preview_support_backup(case)


@pytest.mark.parametrize(
    "url", ["http://vendor.example.com", "ftp://127.0.0.1", "http://10.0.0.1:8000", "https://"]
)
def test_the_vendor_url_must_be_https_except_on_loopback(
    url: str, vendor: FakeHttpServer, alphasms_settings: Any, db: Any
) -> None:
    alphasms_settings["VENDOR_URL"] = url
    with pytest.raises(UsageProblem, match="ALPHASMS_VENDOR_URL"):
        preview_support_backup(CASE)


def test_upload_posts_the_encrypted_bundle_and_stores_the_case(
    vendor: FakeHttpServer, practice: dict[str, Any]
) -> None:
    preview = preview_support_backup(CASE)
    vendor.enqueue(
        CannedResponse.json(
            {"case": CASE, "sha256": preview.sha256, "size_bytes": preview.size_bytes,
             "received_at": "2026-11-30T10:00:00Z", "delete_by": "2026-12-30T10:00:00Z"},
            status=201,
        )
    )  # fmt: skip
    record = upload_support_backup(preview, actor="praxis", token=TOKEN)

    request = vendor.requests[0]
    assert (request.method, request.path) == ("POST", f"/api/v1/support/cases/{CASE}/backup")
    assert request.headers["content-type"] == "application/octet-stream"
    assert request.headers["x-alphasms-licence"] == ""  # evaluation mode
    assert request.headers["x-alphasms-case-token"] == TOKEN.replace("-", "")
    assert record.case_token == TOKEN.replace("-", "")
    assert request.body == preview.bundle
    assert request.body.startswith(b"age-encryption.org/v1\n")
    record.refresh_from_db()
    assert (record.case, record.sha256, record.size_bytes) == (CASE, preview.sha256, preview.size_bytes)
    assert record.delete_by == dt.datetime(2026, 12, 30, 10, tzinfo=dt.UTC)
    assert record.destination_url.endswith(f"/api/v1/support/cases/{CASE}/backup")
    entry = AuditEntry.objects.get(object_type="support_backup")
    assert (entry.actor, entry.action, entry.object_id) == ("praxis", "export", CASE)
    assert entry.detail.startswith("uploaded locations=2 reminder_rules=1")
    with pytest.raises(CaseAlreadySent):
        preview_support_backup(CASE)


def test_a_refused_upload_stores_nothing(vendor: FakeHttpServer, practice: dict[str, Any]) -> None:
    vendor.enqueue(CannedResponse.json({"error": "case id taken"}, status=409))
    with pytest.raises(support_backup.VendorRejected, match="HTTP 409: case id taken"):
        support_backup.create_and_upload_support_backup(CASE, token=TOKEN)
    assert not SupportCase.objects.exists()
    assert not AuditEntry.objects.filter(object_type="support_backup").exists()


def test_an_unreachable_vendor_is_named_and_changes_nothing(
    vendor: FakeHttpServer, alphasms_settings: Any, practice: dict[str, Any]
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    alphasms_settings["VENDOR_URL"] = f"http://127.0.0.1:{closed_port}"
    with pytest.raises(support_backup.VendorUnreachable, match=r"nicht erreichbar|cannot be reached"):
        support_backup.create_and_upload_support_backup(CASE, token=TOKEN)
    assert not SupportCase.objects.exists()


def _stored_case(sha256: str = "ab" * 32) -> SupportCase:
    return SupportCase.objects.create(
        case=CASE,
        created_at=timezone.now(),
        sha256=sha256,
        size_bytes=1234,
        counts={"appointments": 3},
        destination_url="http://127.0.0.1/x",
        uploaded_at=timezone.now(),
        delete_by=timezone.now() + dt.timedelta(days=30),
        case_token=TOKEN.replace("-", ""),
    )


def _receipt(case: str = CASE, sha256: str = "ab" * 32, **changes: Any) -> dict[str, Any]:
    payload = {
        "type": "alphasms-deletion-receipt",
        "case": case,
        "sha256": sha256,
        "received_at": "2026-11-30T10:00:00Z",
        "deleted_at": "2026-12-02T08:15:00Z",
        "reason": "case_closed",
    }
    payload.update(changes)
    return payload


def test_a_signed_matching_receipt_is_stored(vendor: FakeHttpServer, signing_key: Any, db: Any) -> None:
    record = _stored_case()
    envelope = sign_envelope(signing_key, _receipt())
    vendor.enqueue(CannedResponse.json(envelope))
    result = fetch_receipt(CASE)

    assert vendor.requests[0].path == f"/api/v1/support/cases/{CASE}/receipt"
    assert vendor.requests[0].headers["x-alphasms-case-token"] == TOKEN.replace("-", "")
    assert (result.held, result.reason) == (False, "case_closed")
    record.refresh_from_db()
    assert record.receipt == envelope
    assert record.deleted_at == dt.datetime(2026, 12, 2, 8, 15, tzinfo=dt.UTC)
    assert record.receipt_verified_at is not None
    assert AuditEntry.objects.get(object_type="support_backup").action == "delete"


def test_a_held_case_has_no_receipt_yet(vendor: FakeHttpServer, db: Any) -> None:
    _stored_case()
    vendor.enqueue(CannedResponse.json({"case": CASE, "status": "held", "delete_by": "2027-01-01T00:00:00Z"}))
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("support_receipt", "--case", CASE, stdout=io.StringIO(), stderr=err)
    assert raised.value.returncode == 3
    record = SupportCase.objects.get()
    assert record.receipt is None
    assert record.delete_by == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda key, other: sign_envelope(other, _receipt()), ReceiptForged),  # another key
        (lambda key, other: {"payload": _receipt(), "signature": ""}, ReceiptForged),  # unsigned
        (lambda key, other: {**sign_envelope(key, _receipt()), "payload": _receipt(reason="expired")},
         ReceiptForged),  # altered after signing
        (lambda key, other: sign_envelope(key, _receipt(sha256="cd" * 32)), ReceiptMismatch),  # other file
        (lambda key, other: sign_envelope(key, _receipt(case="2026-0043")), ReceiptMismatch),  # other case
        (lambda key, other: sign_envelope(key, _receipt(type="alphasms-manifest")), ReceiptMismatch),
        (lambda key, other: sign_envelope(key, _receipt(deleted_at="soon")), ReceiptMismatch),
    ],
)  # fmt: skip
def test_a_forged_or_mismatching_receipt_is_refused_and_not_stored(
    make: Any, error: type[Exception], vendor: FakeHttpServer, signing_key: Any, db: Any
) -> None:
    _stored_case()
    vendor.enqueue(CannedResponse.json(make(signing_key, generate_private_key())))
    with pytest.raises(error):
        fetch_receipt(CASE)
    record = SupportCase.objects.get()
    assert (record.receipt, record.receipt_verified_at, record.deleted_at) == (None, None, None)
    assert not AuditEntry.objects.exists()


def test_receipt_for_a_case_never_made_here_is_a_usage_error(vendor: FakeHttpServer, db: Any) -> None:
    with pytest.raises(CommandError, match="2026-0099") as raised:
        call_command("support_receipt", "--case", "2026-0099", stdout=io.StringIO())
    assert raised.value.returncode == 2
    assert vendor.requests == []


def test_the_command_needs_yes_without_a_terminal_and_sends_nothing(
    vendor: FakeHttpServer, practice: dict[str, Any]
) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError, match="--yes") as raised:
        call_command("support_backup", "--case", CASE, "--token", TOKEN, stdout=out, stderr=io.StringIO())
    assert raised.value.returncode == 2
    shown = out.getvalue()
    assert f"{vendor.url}/api/v1/support/cases/{CASE}/backup" in shown
    assert re.search(r"(Termine|appointments): 4\n", shown)
    assert re.search(r"(Kunden|customers) \(.*\): 3\n", shown)
    assert re.search(r"(Größe|size) \(.*\): \d+ (Bytes|bytes)", shown)
    assert vendor.requests == [] and not SupportCase.objects.exists()


def test_output_writes_the_encrypted_file_instead_of_uploading(
    vendor: FakeHttpServer, vendor_identity: Any, practice: dict[str, Any], tmp_path: Any
) -> None:
    target = tmp_path / "fall.age"
    out = io.StringIO()
    call_command("support_backup", "--case", CASE, "--output", str(target), "--yes", "--json", stdout=out,
                 stderr=io.StringIO())  # fmt: skip
    result = json.loads(out.getvalue())
    data = target.read_bytes()
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert json.loads(decrypt(data, vendor_identity))["manifest"]["case"] == CASE
    assert vendor.requests == []
    record = SupportCase.objects.get()
    assert record.uploaded_at is None and record.destination_url == ""
    cases = io.StringIO()
    call_command("support_cases", "--json", stdout=cases)
    assert [(c["case"], c["uploaded_at"]) for c in json.loads(cases.getvalue())] == [(CASE, None)]
