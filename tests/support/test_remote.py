"""Remote maintenance (issue 7, part 6): RustDesk starts only on the user's action, without arguments
(ID and one-time password stay in its own window), start and end go to the audit log, and a missing
client gets a sentence naming the download and the portable-client setting.

RustDesk is played by a real process: a small script written into a tmp dir that records its argv,
prints an ID and a password the product must never read, and exits."""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from alphasms.privacy.audit import verify_chain
from alphasms.privacy.models import AuditEntry
from alphasms.support import remote
from alphasms.support.remote import (
    RemoteProblem,
    RustDeskServer,
    config_string,
    find_rustdesk,
    start_remote_session,
)

FAKE_ID, FAKE_PASSWORD = "123 456 789", "k7p9xq"
HOST, KEY = "rd.alphasms.de", "OeVuKk5nlHiXp+APNn0Y3pC1Iwpwn44JGqrQCsWqmBw="

pytestmark = pytest.mark.django_db(transaction=True)  # the session's watcher thread writes the end


def fake_rustdesk(folder: Path, name: str = "rustdesk", sleep_s: float = 0.0) -> Path:
    """An executable that appends its argv (JSON) to ``argv.log`` beside it, prints an ID and a
    password (as RustDesk's window would show), optionally sleeps, and exits 0."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    log = folder / "argv.log"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, time\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv) + '\\n')\n"
        f"print('ID: {FAKE_ID}  Passwort: {FAKE_PASSWORD}', flush=True)\n"
        f"time.sleep({sleep_s})\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def recorded_argv(folder: Path) -> list[list[str]]:
    log = folder / "argv.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def rustdesk_settings(alphasms_settings: dict[str, Any], monkeypatch: Any, tmp_path: Path) -> dict[str, Any]:
    """No RustDesk anywhere unless a test puts one: empty PATH, no install locations, no settings."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for name in ("RUSTDESK_PATH", "RUSTDESK_ID_SERVER", "RUSTDESK_RELAY_SERVER", "RUSTDESK_KEY"):
        monkeypatch.delenv(f"ALPHASMS_{name}", raising=False)
        alphasms_settings[name] = ""
    monkeypatch.setattr(remote, "INSTALL_LOCATIONS", {"linux": (str(tmp_path / "usr-bin-rustdesk"),)})
    return alphasms_settings


def remote_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type="remote_session").order_by("id"))


def test_the_command_starts_rustdesk_without_arguments_and_logs_start_and_end(
    rustdesk_settings: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    script = fake_rustdesk(bin_dir)
    monkeypatch.setenv("PATH", str(bin_dir))
    out, err = io.StringIO(), io.StringIO()
    call_command("support_remote", stdout=out, stderr=err)

    assert recorded_argv(bin_dir) == [[str(script)]]
    start, end = remote_entries()
    assert start.object_id == end.object_id and len(start.object_id) == 12
    assert (start.actor, start.action) == ("cli", "remote")
    assert start.detail == "remote maintenance started client=installed vendor_server=no"
    assert end.detail.startswith("remote maintenance ended duration_s=")
    assert end.detail.endswith(" exit_code=0")
    assert float(end.detail.split("duration_s=")[1].split()[0]) >= 0
    assert verify_chain() is None
    # the product never reads or shows RustDesk's ID or password
    everything = out.getvalue() + err.getvalue() + " ".join(e.detail for e in AuditEntry.objects.all())
    assert FAKE_ID not in everything and FAKE_PASSWORD not in everything
    assert str(script) in out.getvalue()


def test_a_configured_portable_client_comes_first(
    rustdesk_settings: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(fake_rustdesk(tmp_path / "bin").parent))
    portable = fake_rustdesk(tmp_path / "portable", "rustdesk-1.4.1-x86_64")
    rustdesk_settings["RUSTDESK_PATH"] = str(portable)

    session = start_remote_session(actor="praxis")
    result = session.wait(30)

    assert result is not None and result.exit_code == 0
    assert recorded_argv(tmp_path / "portable") == [[str(portable)]]
    assert recorded_argv(tmp_path / "bin") == []
    start, end = remote_entries()
    assert start.actor == end.actor == "praxis"
    assert start.detail == "remote maintenance started client=portable vendor_server=no"
    assert end.detail == f"remote maintenance ended duration_s={result.duration_s} exit_code=0"


def test_missing_rustdesk_says_where_to_get_it_and_starts_nothing(rustdesk_settings: Any) -> None:
    with pytest.raises(CommandError) as raised:
        call_command("support_remote", stdout=io.StringIO(), stderr=io.StringIO())
    assert raised.value.returncode == 2
    message = str(raised.value)
    assert "https://rustdesk.com/download" in message
    assert "ALPHASMS_RUSTDESK_PATH" in message
    assert remote_entries() == []


def test_the_missing_client_sentence_is_english_for_english_users(
    rustdesk_settings: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    with pytest.raises(RemoteProblem, match=r"RustDesk is not found on this computer\. Install it from "):
        find_rustdesk()


def test_a_configured_path_that_is_not_a_file_is_named(rustdesk_settings: Any, tmp_path: Path) -> None:
    rustdesk_settings["RUSTDESK_PATH"] = str(tmp_path / "nowhere" / "rustdeskqs.exe")
    with pytest.raises(CommandError, match="ALPHASMS_RUSTDESK_PATH") as raised:
        call_command("support_remote", stdout=io.StringIO(), stderr=io.StringIO())
    assert raised.value.returncode == 2


def test_the_usual_install_location_is_found(
    rustdesk_settings: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    installed = fake_rustdesk(tmp_path / "usr" / "bin")
    monkeypatch.setattr(remote, "INSTALL_LOCATIONS", {"linux": (str(installed),)})
    client = find_rustdesk(platform="linux")
    assert (client.path, client.portable) == (installed, False)


def test_a_portable_client_on_windows_is_started_as_a_copy_named_with_the_vendor_server(
    rustdesk_settings: Any, tmp_path: Path
) -> None:
    portable = fake_rustdesk(tmp_path / "portable", "rustdesk-1.4.1-x86_64.exe")
    rustdesk_settings.update(
        RUSTDESK_PATH=str(portable), RUSTDESK_ID_SERVER=HOST, RUSTDESK_KEY=KEY.replace("/", "")
    )
    data_dir = tmp_path / "data"
    with override_settings(DATA_DIR=data_dir):
        session = start_remote_session(platform="win32")
        assert session.wait(30) is not None

    copy = data_dir / "rustdesk" / f"rustdesk-host={HOST},key={KEY.replace('/', '')},.exe"
    assert recorded_argv(tmp_path / "portable") == [[str(copy)]]
    assert copy.read_bytes() == portable.read_bytes()
    assert session.plan.vendor_server_applied and session.plan.note == ""
    assert remote_entries()[0].detail == "remote maintenance started client=portable vendor_server=yes"


def test_an_installed_client_keeps_its_server_and_staff_get_the_config_string(
    rustdesk_settings: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(fake_rustdesk(tmp_path / "bin").parent))
    rustdesk_settings.update(
        RUSTDESK_ID_SERVER=HOST, RUSTDESK_KEY=KEY, RUSTDESK_RELAY_SERVER="relay.alphasms.de"
    )
    err = io.StringIO()
    call_command("support_remote", stdout=io.StringIO(), stderr=err)

    text = config_string(RustDeskServer(HOST, KEY, "relay.alphasms.de"))
    assert f"rustdesk --config {text}" in err.getvalue()
    assert recorded_argv(tmp_path / "bin")[0][1:] == []  # still no arguments: never --config, --password
    assert remote_entries()[0].detail == "remote maintenance started client=installed vendor_server=no"


def test_the_config_string_is_rustdesks_reversed_base64url_json() -> None:
    text = config_string(RustDeskServer(HOST, KEY, "relay.alphasms.de"))
    raw = text[::-1]
    decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    assert decoded == {"host": HOST, "key": KEY, "relay": "relay.alphasms.de", "api": ""}
    assert "=" not in text


@pytest.mark.parametrize(
    "given", [{"RUSTDESK_ID_SERVER": HOST}, {"RUSTDESK_KEY": KEY}, {"RUSTDESK_RELAY_SERVER": "r"}]
)
def test_an_incomplete_vendor_server_is_refused_naming_the_missing_setting(
    given: dict[str, str], rustdesk_settings: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(fake_rustdesk(tmp_path / "bin").parent))
    rustdesk_settings.update(given)
    with pytest.raises(CommandError, match=r"ALPHASMS_RUSTDESK_(ID_SERVER|KEY)") as raised:
        call_command("support_remote", stdout=io.StringIO(), stderr=io.StringIO())
    assert raised.value.returncode == 2
    assert recorded_argv(tmp_path / "bin") == []


def test_stop_closes_a_running_session_and_logs_its_end(
    rustdesk_settings: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(fake_rustdesk(tmp_path / "bin", sleep_s=60).parent))
    session = start_remote_session()
    assert session.wait(0.5) is None  # still running
    session.stop()
    result = session.wait(30)
    assert result is not None and result.exit_code < 0  # ended by SIGTERM
    assert result.duration_s < 30
    assert (
        remote_entries()[-1].detail
        == f"remote maintenance ended duration_s={result.duration_s} exit_code={result.exit_code}"
    )
