"""The manual update check against a real local HTTP server: exactly four fields out, signed manifests
in; unsigned, foreign-key, expired and rolled-back manifests each refused with their own message."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import platform
import socket
import sys

import pytest
from django.core.management import call_command

from alphasms.commands import UsageError
from alphasms.licensing import envelope, update
from alphasms.licensing.licence import set_licence
from alphasms.licensing.models import AcceptedManifest
from alphasms.licensing.testing import TestVendor, manifest_payload
from alphasms.licensing.tests.update_server import serve
from alphasms.testing.cli import run_cli

pytestmark = pytest.mark.django_db
NAME = "Praxis Dr. Müller"
FOUR_FIELDS = {"client_version", "os", "registration_name", "licence_number"}


@pytest.fixture
def server(licensing_settings):
    with serve() as state:
        licensing_settings["VENDOR_URL"] = state.url
        yield state


def test_the_request_body_has_exactly_the_four_fields(server, vendor):
    number = vendor.licence(NAME)
    set_licence(NAME, number)
    server.answer = vendor.sign(manifest_payload())
    update.run_update_check()
    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/api/v1/update-check")
    body = json.loads(request.body)
    assert set(body) == FOUR_FIELDS  # fails when a field is added
    assert body == {
        "client_version": "0.1.0",
        "os": f"{platform.system()} {platform.release()}",
        "registration_name": NAME,
        "licence_number": number,
    }
    assert request.headers["Content-Type"] == "application/json"
    assert "Cookie" not in request.headers and "Authorization" not in request.headers


def test_in_evaluation_mode_name_and_number_are_empty(server, vendor):
    server.answer = vendor.sign(manifest_payload())
    preview = update.preview_update_request()
    assert preview.payload == {
        "client_version": "0.1.0",
        "os": update.operating_system(),
        "registration_name": "",
        "licence_number": "",
    }
    assert preview.url == f"{server.url}/api/v1/update-check"
    assert "nothing else" in preview.text() or "sonst nichts" in preview.text()
    update.run_update_check(preview)
    assert server.bodies() == [preview.payload]


def test_an_accepted_manifest_offers_the_update_and_raises_the_rollback_floor(server, vendor):
    server.answer = vendor.sign(manifest_payload(latest_version="0.2.0", counter=7, release_notes="Neu"))
    result = update.run_update_check()
    assert result.update_available
    assert (result.current_version, result.manifest.latest_version, result.manifest.counter) == (
        "0.1.0",
        "0.2.0",
        7,
    )
    assert result.pip_command == f'"{sys.executable}" -m pip install --upgrade "alphasms==0.2.0"'
    assert update.highest_counter() == 7
    assert AcceptedManifest.objects.get().latest_version == "0.2.0"
    # The same manifest again is fine (counter equal, not lower).
    assert update.run_update_check().manifest.counter == 7
    server.answer = vendor.sign(manifest_payload(latest_version="0.1.0", counter=8))
    assert not update.run_update_check().update_available


def refused(server, answer) -> update.UpdateCheckError:
    server.answer = answer
    before = AcceptedManifest.objects.count()
    with pytest.raises(update.UpdateCheckError) as info:
        update.run_update_check()
    assert AcceptedManifest.objects.count() == before  # nothing stored
    return info.value


def test_unsigned_foreign_expired_and_rolled_back_manifests_are_each_refused(server, vendor, monkeypatch):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    payload = manifest_payload(counter=7)
    unsigned = refused(server, {"payload": payload})
    empty_signature = refused(server, {"payload": payload, "signature": ""})
    foreign = refused(server, TestVendor().sign(payload))
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    expired = refused(server, vendor.sign(manifest_payload(issued_at=past, expires_at=past)))
    server.answer = vendor.sign(manifest_payload(counter=7))
    update.run_update_check()
    rolled_back = refused(server, vendor.sign(manifest_payload(counter=6)))

    assert type(unsigned) is update.ManifestUnsigned and type(empty_signature) is update.ManifestUnsigned
    assert type(foreign) is update.ManifestForged
    assert type(expired) is update.ManifestExpired
    assert type(rolled_back) is update.ManifestRolledBack
    assert str(unsigned).startswith("The update check's answer is not signed")
    assert str(foreign).startswith("The update check's answer is signed by another key")
    assert str(expired).startswith("The update manifest expired (valid until 2020-01-01 00:00 UTC)")
    assert str(rolled_back).startswith(
        "The update manifest is older (counter 6) than one already received (counter 7)"
    )
    messages = {str(e) for e in (unsigned, foreign, expired, rolled_back)}
    assert len(messages) == 4
    assert {e.code for e in (unsigned, foreign, expired, rolled_back)} == {
        "unsigned",
        "forged",
        "expired",
        "rolled_back",
    }
    assert update.highest_counter() == 7


def test_an_altered_manifest_is_forged(server, vendor):
    signed = vendor.sign(manifest_payload(download_url="https://downloads.alphasms.de/a.whl"))
    signed["payload"]["download_url"] = "https://evil.example/a.whl"
    assert type(refused(server, signed)) is update.ManifestForged


def test_a_signed_answer_that_is_no_manifest_is_malformed(server, vendor):
    assert (
        type(refused(server, vendor.sign({"type": "alphasms-deletion-receipt"}))) is update.ManifestMalformed
    )
    bad = manifest_payload()
    bad["sha256"] = "xyz"
    assert type(refused(server, vendor.sign(bad))) is update.ManifestMalformed
    assert type(refused(server, [1, 2])) is update.ManifestMalformed


def test_an_error_answer_and_a_redirect_are_refused(server, vendor):
    server.status, server.answer = 400, {"error": "unexpected field 'x'"}
    error = refused(server, server.answer)
    assert type(error) is update.VendorAnswerError
    assert "400: unexpected field 'x'" in str(error)
    server.status, server.answer = 302, {}
    server.headers = {"Location": f"{server.url}/elsewhere"}
    assert type(refused(server, {})) is update.VendorAnswerError
    assert [r.path for r in server.requests] == ["/api/v1/update-check"] * 2  # redirect not followed


def test_only_https_or_loopback_is_contacted(licensing_settings):
    for url in ("http://update.alphasms.de", "ftp://127.0.0.1", "update.alphasms.de", "http://10.0.0.1"):
        licensing_settings["VENDOR_URL"] = url
        with pytest.raises(update.VendorUrlRefused):
            update.preview_update_request()
    licensing_settings["VENDOR_URL"] = "https://update.alphasms.de"
    assert update.preview_update_request().url == "https://update.alphasms.de/api/v1/update-check"
    for url in ("http://127.0.0.1:8", "http://[::1]:8", "http://localhost:8"):
        licensing_settings["VENDOR_URL"] = url
        assert update.preview_update_request().url == f"{url}/api/v1/update-check"


def test_an_unreachable_server_is_said_plainly(licensing_settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    licensing_settings["VENDOR_URL"] = f"http://127.0.0.1:{port}"
    with pytest.raises(update.VendorUnreachable) as info:
        update.run_update_check(timeout_s=2)
    assert info.value.code == "unreachable"


def test_the_download_is_offered_only_when_its_hash_matches(server, vendor, tmp_path):
    wheel = b"PK\x03\x04 a release file"
    server.files["/files/alphasms-0.2.0-py3-none-any.whl"] = wheel
    good = manifest_payload(
        download_url=f"{server.url}/files/alphasms-0.2.0-py3-none-any.whl",
        sha256=hashlib.sha256(wheel).hexdigest(),
    )
    server.answer = vendor.sign(good)
    result = update.run_update_check()
    path = update.download_update(result.manifest, tmp_path)
    assert path == tmp_path / "alphasms-0.2.0-py3-none-any.whl"
    assert path.read_bytes() == wheel
    assert update.install_command(path) == f'"{sys.executable}" -m pip install --upgrade "{path}"'

    other = tmp_path / "other"
    other.mkdir()
    server.answer = vendor.sign({**good, "sha256": hashlib.sha256(b"something else").hexdigest()})
    result = update.run_update_check()
    with pytest.raises(update.DownloadHashMismatch) as info:
        update.download_update(result.manifest, other)
    assert hashlib.sha256(wheel).hexdigest() in info.value.en
    assert list(other.iterdir()) == []  # nothing left to install by mistake


def test_cli_without_a_terminal_needs_yes_and_sends_nothing(server, vendor, monkeypatch):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    server.answer = vendor.sign(manifest_payload())
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    with pytest.raises(UsageError) as info:
        call_command("update_check", stdout=io.StringIO())
    assert "--yes" in str(info.value)
    assert server.requests == []


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_shows_the_payload_first_and_sends_only_after_yes(server, vendor, monkeypatch):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    server.answer = vendor.sign(manifest_payload())
    monkeypatch.setattr(sys, "stdin", FakeTty("n\n"))
    code, out, err = run_cli("update", "check")
    assert code == 3
    assert out.startswith(f"The update check sends exactly this to {server.url}/api/v1/update-check")
    assert "  client_version: '0.1.0'" in out and "  licence_number: ''" in out
    assert out.rstrip().endswith("Nothing sent.")
    assert "Send now? [y/N]" in err
    assert server.requests == []

    monkeypatch.setattr(sys, "stdin", FakeTty("y\n"))
    code, out, _ = run_cli("update", "check")
    assert code == 0
    assert len(server.requests) == 1
    assert out.index("The update check sends exactly this") < out.index("New version 0.2.0 available")
    assert 'Update with:\n  "' in out and '-m pip install --upgrade "alphasms==0.2.0"' in out


def test_cli_refused_manifest_exits_1_with_its_message(server, monkeypatch):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    server.answer = TestVendor().sign(manifest_payload())
    code, out, err = run_cli("update", "check", "--yes", "--json")
    assert code == 1
    assert json.loads(out)["error"] == "forged"
    assert "signed by another key" in err
    assert "The update check sends exactly this" in err  # the preview still came first


def test_cli_json_with_download(server, vendor, tmp_path, monkeypatch):
    wheel = b"release"
    server.files["/files/alphasms-0.2.0.tar.gz"] = wheel
    server.answer = vendor.sign(
        manifest_payload(
            download_url=f"{server.url}/files/alphasms-0.2.0.tar.gz", sha256=hashlib.sha256(wheel).hexdigest()
        )
    )
    code, out, _ = run_cli("update", "check", "--yes", "--json", "--download", str(tmp_path))
    data = json.loads(out)
    assert code == 0
    assert set(data["sent"]) == FOUR_FIELDS
    assert data["downloaded"] == str(tmp_path / "alphasms-0.2.0.tar.gz")
    assert (tmp_path / "alphasms-0.2.0.tar.gz").read_bytes() == wheel
    assert data["update_available"] is True and data["counter"] == 7


def test_cli_download_folder_must_exist_before_anything_is_sent(server, vendor, tmp_path):
    with pytest.raises(UsageError):
        call_command("update_check", "--yes", "--download", str(tmp_path / "missing"), stdout=io.StringIO())
    assert server.requests == []


def test_the_envelope_key_setting_is_what_verifies(server, vendor, licensing_settings):
    licensing_settings["VENDOR_SIGNING_PUBLIC_KEY"] = envelope.public_key_to_text(
        envelope.generate_private_key().public_key()
    )
    assert type(refused(server, vendor.sign(manifest_payload()))) is update.ManifestForged
