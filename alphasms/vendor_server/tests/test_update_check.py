"""POST /api/v1/update-check against a real vendor server: exactly four fields, recorded with IP and
instant, answered with the current signed manifest."""

from __future__ import annotations

import datetime as dt

import pytest

from alphasms.licensing.envelope import EnvelopeForged, public_key_from_text, verify_envelope
from alphasms.vendor_server.tests.http import call, post_json

BODY = {
    "client_version": "0.1.0",
    "os": "Linux 6.1.0-18-amd64",
    "registration_name": "Praxis Dr. Müller",
    "licence_number": "AS1-abc.def",
}


def _parse(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def test_it_records_the_four_fields_with_ip_and_answers_the_signed_manifest(vendor_server):
    published = vendor_server.publish_manifest(version="0.2.0", notes="Neu: Erinnerungen per E-Mail")
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)

    status, answer = post_json(f"{vendor_server.url}/api/v1/update-check", BODY)

    assert status == 200
    payload = verify_envelope(public_key_from_text(vendor_server.public_key_text), answer)
    assert payload == published["payload"]
    assert payload["type"] == "alphasms-manifest"
    assert payload["latest_version"] == "0.2.0"
    assert payload["release_notes"] == "Neu: Erinnerungen per E-Mail"
    [check] = vendor_server.update_checks()
    assert set(check) == {
        "checked_at",
        "client_version",
        "os",
        "registration_name",
        "licence_number",
        "client_ip",
    }
    assert {k: check[k] for k in BODY} == BODY
    assert check["client_ip"] == "127.0.0.1"
    assert before <= _parse(check["checked_at"]) <= dt.datetime.now(dt.UTC)


def test_evaluation_checks_with_empty_name_and_number_are_recorded(vendor_server):
    vendor_server.publish_manifest()
    body = {**BODY, "registration_name": "", "licence_number": ""}

    status, _ = post_json(f"{vendor_server.url}/api/v1/update-check", body)

    assert status == 200
    [check] = vendor_server.update_checks()
    assert (check["registration_name"], check["licence_number"]) == ("", "")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({**BODY, "hostname": "praxis-pc"}, "'hostname'"),
        ({**BODY, "customer_count": 412}, "'customer_count'"),
        ({k: v for k, v in BODY.items() if k != "os"}, "'os'"),
        ({k: v for k, v in BODY.items() if k != "licence_number"}, "'licence_number'"),
        ({**BODY, "client_version": 1}, "'client_version'"),
        ({**BODY, "os": "x" * 201}, "'os'"),
        ([BODY], "JSON object"),
    ],
    ids=[
        "extra-hostname",
        "extra-count",
        "missing-os",
        "missing-licence",
        "not-a-string",
        "too-long",
        "list",
    ],
)
def test_it_refuses_any_other_body_and_records_nothing(vendor_server, body, named):
    vendor_server.publish_manifest()

    status, answer = post_json(f"{vendor_server.url}/api/v1/update-check", body)

    assert status == 400
    assert named in answer["error"]
    assert vendor_server.update_checks() == []


def test_a_body_that_is_not_json_is_refused(vendor_server):
    status, answer = call(f"{vendor_server.url}/api/v1/update-check", b"version=0.1.0", method="POST")

    assert (status, answer) == (400, {"error": "body is not JSON (UTF-8)"})
    assert vendor_server.update_checks() == []


def test_without_a_published_manifest_it_answers_404_but_records_the_check(vendor_server):
    status, answer = post_json(f"{vendor_server.url}/api/v1/update-check", BODY)

    assert status == 404
    assert "vendor manifest publish" in answer["error"]
    assert len(vendor_server.update_checks()) == 1


def test_the_counter_rises_by_itself_and_the_last_published_manifest_is_answered(vendor_server):
    first = vendor_server.publish_manifest(version="0.2.0")
    second = vendor_server.publish_manifest(version="0.2.1")
    assert (first["payload"]["counter"], second["payload"]["counter"]) == (1, 2)

    _, answer = post_json(f"{vendor_server.url}/api/v1/update-check", BODY)
    assert answer["payload"]["counter"] == 2
    assert answer["payload"]["latest_version"] == "0.2.1"

    rolled_back = vendor_server.publish_manifest(version="0.1.9", counter=1_000)
    assert rolled_back["payload"]["counter"] == 1_000
    reused = vendor_server.run_cli(
        "manifest", "publish", "--version", "0.3.0", "--url", "https://x.example/a", "--sha256", "a" * 64,
        "--counter", "2",
    )  # fmt: skip
    assert reused.returncode == 2
    assert "--counter 2" in reused.stderr


def test_the_manifest_is_signed_by_the_servers_key_only(vendor_server):
    from alphasms.licensing.envelope import generate_private_key

    envelope = vendor_server.publish_manifest()
    other_key = generate_private_key().public_key()

    with pytest.raises(EnvelopeForged):
        verify_envelope(other_key, envelope)
    tampered = {**envelope, "payload": {**envelope["payload"], "download_url": "https://evil.example/x"}}
    with pytest.raises(EnvelopeForged):
        verify_envelope(public_key_from_text(vendor_server.public_key_text), tampered)


def test_publish_computes_sha256_from_file_and_sets_the_expiry(vendor_server, tmp_path):
    import hashlib

    download = tmp_path / "alphasms-0.2.0.tar.gz"
    download.write_bytes(b"release bytes" * 1000)

    done = vendor_server.run_cli(
        "manifest", "publish", "--version", "0.2.0", "--url", "https://download.alphasms.de/a.tar.gz",
        "--file", str(download), "--expires-in", "7", "--json",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    import json

    payload = json.loads(done.stdout)["payload"]
    assert payload["sha256"] == hashlib.sha256(download.read_bytes()).hexdigest()
    assert _parse(payload["expires_at"]) - _parse(payload["issued_at"]) == dt.timedelta(days=7)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--url", "http://download.example/a", "--sha256", "a" * 64], "--url"),
        (["--url", "https://download.example/a", "--sha256", "xyz"], "--sha256"),
        (["--url", "https://download.example/a", "--file", "/nonexistent/file"], "--file"),
    ],
    ids=["plain-http", "bad-digest", "missing-file"],
)
def test_publish_refuses_bad_input_and_publishes_nothing(vendor_server, args, named):
    done = vendor_server.run_cli("manifest", "publish", "--version", "0.2.0", *args)

    assert done.returncode == 2
    assert named in done.stderr
    status, _ = post_json(f"{vendor_server.url}/api/v1/update-check", BODY)
    assert status == 404


def test_each_request_is_one_counted_connection(vendor_server):
    vendor_server.publish_manifest()
    before = vendor_server.connection_count()

    post_json(f"{vendor_server.url}/api/v1/update-check", BODY)
    post_json(f"{vendor_server.url}/api/v1/update-check", BODY)

    assert vendor_server.connection_count() == before + 2


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(vendor_server_factory):
    spoofed = {"X-Forwarded-For": "203.0.113.9"}
    direct = vendor_server_factory()
    proxied = vendor_server_factory(ALPHASMS_VENDOR_TRUSTED_PROXY="127.0.0.1")

    post_json(f"{direct.url}/api/v1/update-check", BODY, spoofed)
    post_json(f"{proxied.url}/api/v1/update-check", BODY, spoofed)

    assert direct.update_checks()[0]["client_ip"] == "127.0.0.1"
    assert proxied.update_checks()[0]["client_ip"] == "203.0.113.9"


def test_other_methods_and_paths_get_clear_answers(vendor_server):
    status, _ = call(f"{vendor_server.url}/api/v1/update-check")
    assert status == 405
    status, answer = call(f"{vendor_server.url}/api/v2/anything")
    assert (status, answer) == (404, {"error": "no such endpoint: /api/v2/anything"})
