"""`alphasms run`: migrations, sample data, mail sink, web app and worker in one process; Ctrl-C stops it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from tests.worker_processes import wait_for


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
def test_run_starts_everything_on_a_fresh_data_directory_and_stops_on_ctrl_c(tmp_path):
    web, smtp = free_port(), free_port()
    env = {
        **os.environ,
        "ALPHASMS_DATA_DIR": str(tmp_path),
        "ALPHASMS_SMTP_PORT": str(smtp),
        "LANG": "de_DE.UTF-8",
    }
    for name in (
        "DATABASE_URL",
        "ALPHASMS_SMTP_HOST",
        "ALPHASMS_LANGUAGE",
        "LC_ALL",
        "DJANGO_SETTINGS_MODULE",
    ):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "alphasms", "run", "--port", str(web)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{web}/admin/login/"), timeout_s=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/admin/login/", timeout=5) as response:
            page = response.read().decode()
        assert "Anmelden" in page
        with socket.create_connection(("127.0.0.1", smtp), timeout=5) as mail_sink:
            assert mail_sink.recv(100).startswith(b"220 ")
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "Beispieldaten angelegt" in output
    assert f"AlphaSMS läuft: http://127.0.0.1:{web}/" in output
    assert output.rstrip().endswith("Beendet.")
    assert (tmp_path / "alphasms.sqlite3").exists()
