"""Settings → Licence and updates, Settings → Support (issue 7 "a button in the settings"), owners only:
the update check shows its four fields first and sends them only on the confirming POST, against the real
vendor server (subprocess); the support backup is previewed, then uploaded, and its receipt fetched;
remote maintenance starts a (fake) RustDesk executable."""

from __future__ import annotations

import datetime as dt
import platform
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from alphasms.licensing.envelope import generate_private_key, public_key_to_text
from alphasms.licensing.models import Licence
from alphasms.privacy.models import AuditEntry
from alphasms.support import remote
from alphasms.support.models import SupportCase
from alphasms.web.roles import Role
from tests.conftest import make_appointment, make_customer, make_rule

pytestmark = pytest.mark.django_db
NAME = "Praxis Sonnenhof Dr. Öztürk"
CASE = "2026-0042"
FIELDS = {"client_version", "os", "registration_name", "licence_number"}
URLS = [
    ("get", "/settings/licence/"),
    ("post", "/settings/licence/"),
    ("get", "/settings/licence/update/"),
    ("post", "/settings/licence/update/"),
    ("get", "/settings/support/"),
    ("get", f"/settings/support/backup/?case={CASE}"),
    ("post", "/settings/support/backup/"),
    ("post", "/settings/support/receipt/"),
    ("post", "/settings/support/remote/"),
]


@pytest.fixture
def vendor(alphasms_settings, vendor_server):
    alphasms_settings.update(
        VENDOR_URL=vendor_server.url,
        VENDOR_SIGNING_PUBLIC_KEY=vendor_server.public_key_text,
        VENDOR_AGE_RECIPIENT=vendor_server.age_recipient,
    )
    return vendor_server


@pytest.mark.parametrize("role", [Role.STAFF, Role.READONLY])
@pytest.mark.parametrize(("method", "url"), URLS)
def test_only_owners_reach_licence_update_and_support(web_client, alphasms_settings, role, method, url):
    alphasms_settings["VENDOR_URL"] = "http://127.0.0.1:9"  # nothing may be reached anyway
    response = getattr(web_client(role), method)(url, {"case": CASE, "registration_name": NAME})
    assert response.status_code == 403
    assert not Licence.objects.exists() and not SupportCase.objects.exists()


def test_evaluation_mode_is_said_plainly_and_a_wrong_licence_is_named_at_its_field(
    web_client, vendor, location
):
    owner = web_client(Role.OWNER)
    html = owner.get("/settings/licence/").content.decode()
    assert "TESTMODUS" in html and "Testmodus" in html
    assert "50 von 50 Nachrichten (0 gesendet)" in html

    number = vendor.issue_licence("Praxis Anders")
    response = owner.post("/settings/licence/", {"registration_name": NAME, "licence_number": number})
    assert response.status_code == 400
    assert 'id="id_licence_number_error"' in response.content.decode() and not Licence.objects.exists()

    number = vendor.issue_licence(NAME, edition="gruppe", locations=3)
    response = owner.post(
        "/settings/licence/", {"registration_name": NAME, "licence_number": number}, follow=True
    )
    html = response.content.decode()
    assert "Lizenz gespeichert" in html and "lizenziert" in html and "gruppe" in html
    assert Licence.objects.get().registration_name == NAME


def test_the_update_check_shows_four_fields_and_sends_exactly_them_only_when_confirmed(web_client, vendor):
    owner = web_client(Role.OWNER)
    number = vendor.issue_licence(NAME)
    owner.post("/settings/licence/", {"registration_name": NAME, "licence_number": number})
    vendor.publish_manifest(version="9.0.0", notes="Neu", sha256="ab" * 32, counter=5)
    before = vendor.connection_count()

    page = owner.get("/settings/licence/update/")
    html = page.content.decode()
    assert page.status_code == 200 and vendor.connection_count() == before  # nothing sent yet
    for field in FIELDS:
        assert f"<code>{field}</code>" in html
    assert html.count('<tr><th scope="row">') == 4 and number in html
    digest = page.context["digest"]

    tampered = owner.post("/settings/licence/update/", {"digest": digest[:-2] + "xx"})
    assert tampered.status_code == 409 and vendor.connection_count() == before

    result = owner.post("/settings/licence/update/", {"digest": digest})
    assert result.status_code == 200 and "Neue Version 9.0.0 verfügbar" in result.content.decode()
    [check] = vendor.update_checks()
    sent = {key: check[key] for key in FIELDS}
    assert sent == {
        "client_version": result.context["result"].current_version,
        "os": f"{platform.system()} {platform.release()}",
        "registration_name": NAME,
        "licence_number": number,
    }
    assert result.context["result"].sent == sent and set(result.context["result"].sent) == FIELDS


def test_a_manifest_signed_by_another_key_is_refused_with_its_message(web_client, vendor, alphasms_settings):
    vendor.publish_manifest(version="9.0.0", counter=1)
    alphasms_settings["VENDOR_SIGNING_PUBLIC_KEY"] = public_key_to_text(generate_private_key().public_key())
    owner = web_client(Role.OWNER, HTTP_ACCEPT_LANGUAGE="en")
    digest = owner.get("/settings/licence/update/").context["digest"]
    response = owner.post("/settings/licence/update/", {"digest": digest})
    html = response.content.decode()
    assert response.status_code == 502 and 'class="error update-error"' in html
    assert response.context["error_code"] == "forged"
    assert len(vendor.update_checks()) == 1


@pytest.fixture
def practice(location):
    make_rule()
    for number, day in (("1001", 1), ("1002", 2)):
        customer = make_customer(number, "Jörg", f"Bäcker{number}", f"+49151123456{number[-2:]}")
        make_appointment(location, customer, timezone.now() + dt.timedelta(days=day))


def test_the_support_backup_is_previewed_then_uploaded_and_its_receipt_verified(web_client, vendor, practice):
    owner = web_client(Role.OWNER)
    before = vendor.connection_count()
    page = owner.get("/settings/support/backup/", {"case": CASE, "pseudonymise": "on"})
    html = page.content.decode()
    preview = page.context["preview"]
    assert page.status_code == 200 and vendor.connection_count() == before
    assert preview.counts["appointments"] == 2 and preview.counts["customers"] == 2
    assert f"{vendor.url}/api/v1/support/cases/{CASE}/backup" in html and f"({preview.size_bytes} B)" in html

    assert 'name="token"' in html and 'name="token" value' not in html  # asked for on the POST only
    form = {"case": CASE, "pseudonymise": "on", "since": page.context["since"],
            "until": page.context["until"], "digest": page.context["digest"]}  # fmt: skip
    token = vendor.open_case(CASE)
    # Without the case's upload token, or with a wrong one, nothing is sent and the page says why.
    for wrong in ("", "not a token", "A" * 32):
        refused = owner.post("/settings/support/backup/", {**form, "token": wrong})
        assert refused.status_code == 400 and 'id="id_token_error"' in refused.content.decode()
        assert "Upload-Schlüssel" in refused.context["token_error"]
    assert not SupportCase.objects.exists() and vendor.cases() == []

    response = owner.post("/settings/support/backup/", {**form, "token": token}, follow=True)
    assert "hochgeladen" in response.content.decode()
    record = SupportCase.objects.get(case=CASE)
    assert record.uploaded_at is not None and record.counts["appointments"] == 2
    assert vendor.case_path(CASE).is_file()
    assert AuditEntry.objects.filter(object_type="support_backup", actor__startswith="web:user:").count() == 1

    held = owner.post("/settings/support/receipt/", {"case": CASE}, follow=True).content.decode()
    assert "Löschung spätestens" in held and SupportCase.objects.get().receipt is None

    assert vendor.run_cli("case", "close", CASE).returncode == 0
    done = owner.post("/settings/support/receipt/", {"case": CASE}, follow=True).content.decode()
    record = SupportCase.objects.get()
    assert record.receipt_verified_at is not None and record.deletion_reason == "case_closed"
    assert "Löschbeleg geprüft" in done and 'class="badge ok"' in done

    again = owner.get("/settings/support/backup/", {"case": CASE})
    assert again.status_code == 400 and 'id="id_case_error"' in again.content.decode()


def fake_rustdesk(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "rustdesk"
    log = folder / "argv.log"
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\nopen({str(log)!r}, 'a').write(json.dumps(sys.argv) + '\\n')\n"
        "print('ID: 123 456 789  Passwort: k7p9xq', flush=True)\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


@pytest.mark.django_db(transaction=True)  # the session's watcher thread writes the end
def test_remote_maintenance_starts_rustdesk_without_arguments_or_names_the_download(
    web_client, alphasms_settings, monkeypatch, tmp_path
):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(remote, "INSTALL_LOCATIONS", {"linux": (str(tmp_path / "none"),)})
    for name in ("RUSTDESK_PATH", "RUSTDESK_ID_SERVER", "RUSTDESK_RELAY_SERVER", "RUSTDESK_KEY"):
        monkeypatch.delenv(f"ALPHASMS_{name}", raising=False)
        alphasms_settings[name] = ""
    owner = web_client(Role.OWNER)

    missing = owner.post("/settings/support/remote/").content.decode()
    assert "RustDesk ist auf diesem Rechner nicht zu finden" in missing
    assert f'href="{remote.DOWNLOAD_URL}"' in missing

    script = fake_rustdesk(tmp_path / "rd")
    alphasms_settings["RUSTDESK_PATH"] = str(script)
    html = owner.post("/settings/support/remote/").content.decode()
    assert "RustDesk gestartet" in html and "123 456 789" not in html
    for _ in range(100):
        if AuditEntry.objects.filter(object_type="remote_session").count() == 2:
            break
        import time

        time.sleep(0.05)
    assert (tmp_path / "rd" / "argv.log").read_text().strip() == f'["{script}"]'
    details = list(
        AuditEntry.objects.filter(object_type="remote_session")
        .order_by("id")
        .values_list("detail", flat=True)
    )
    assert details[0].startswith("remote maintenance started") and details[1].startswith(
        "remote maintenance ended"
    )
