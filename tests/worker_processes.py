"""Run the real `alphasms` command in child processes against a fresh database, for worker tests.

The database follows the engine of the test run: a SQLite file in the test's folder, or — when the suite
runs on PostgreSQL — a database of its own on the same server, created here and dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from django.db import connection

from alphasms.testing.fake_http import CannedResponse, FakeHttpServer

UTC = dt.UTC
CUSTOMERS = 12


def sevenio_accepts(msg_id: str, delay_s: float = 0.0) -> CannedResponse:
    """seven.io's answer to an accepted SMS (SmsResponse in its OpenAPI spec)."""
    message = {"id": msg_id, "parts": 1, "success": True, "error": None, "error_text": None}
    return CannedResponse.json({"success": "100", "messages": [message]}, delay_s=delay_s)


@contextmanager
def child_database(tmp_path: Path) -> Iterator[str]:
    """A DATABASE_URL for child processes ("" = SQLite in their data directory)."""
    if connection.vendor != "postgresql":
        yield ""
        return
    params = connection.settings_dict
    name = f"alphasms_child_{uuid.uuid4().hex[:8]}"
    server = f"host={params['HOST'] or '127.0.0.1'} port={params['PORT'] or 5432} user={params['USER']}"
    with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{name}"
    finally:
        with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def alphasms(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `alphasms ARGS` to completion in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "alphasms", *args], env=env, capture_output=True, text=True, timeout=120
    )


def prepare_practice(
    tmp_path: Path, sevenio: FakeHttpServer, database_url: str = "", **extra: str
) -> dict[str, str]:
    """A practice with CUSTOMERS appointments whose SMS are all due now, set up through the CLI.

    Returns the environment for further `alphasms` child processes (seven.io pointed at ``sevenio``)."""
    env = {
        **os.environ,
        "ALPHASMS_DATA_DIR": str(tmp_path / "data"),
        "ALPHASMS_SAMPLE_DATA": "false",
        "ALPHASMS_SMS_GATEWAY": "sevenio",
        "ALPHASMS_SEVENIO_BASE_URL": sevenio.url,
        "ALPHASMS_SEVENIO_API_KEY": "key",
        "ALPHASMS_LEASE_S": "2",
        "ALPHASMS_WORKER_POLL_S": "1",
        "ALPHASMS_WORKER_CONCURRENCY": "1",
        "ALPHASMS_LANGUAGE": "de",
        "DATABASE_URL": database_url,
        **extra,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    tomorrow = (dt.datetime.now(UTC) + dt.timedelta(days=1)).strftime("%d.%m.%Y")
    rows = ["Nachname;Vorname;Mobil;Datum;Uhrzeit"]
    rows += [
        f"Kunde{i:02d};Test;0151 2345{i:04d};{tomorrow};{8 + i % 10:02d}:{i % 4 * 15:02d}"
        for i in range(CUSTOMERS)
    ]
    (tmp_path / "termine.csv").write_text("\r\n".join(rows) + "\r\n", encoding="cp1252")
    migrated = alphasms(env, "migrate", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    rule = (
        "import datetime as d; from alphasms.appointments.models import ReminderRule as R; "
        "R.objects.create(name='SMS', offset_s=3*86400, body_template='Termin {date} {time}', "
        "window_start=d.time(0), window_end=d.time(23, 59, 59))"
    )
    assert alphasms(env, "shell", "-c", rule).returncode == 0
    result = alphasms(
        env, "import", "csv", str(tmp_path / "termine.csv"), "--consent", "sms", "--wording", "v1"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return env


def messages(env: dict[str, str]) -> list[tuple[str, str, int, str]]:
    """(recipient, status, possible_duplicate, claimed_by) of every message in the child database."""
    query = "SELECT recipient, status, possible_duplicate, claimed_by FROM messaging_outboundmessage"
    if env["DATABASE_URL"]:
        with psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://")) as db:
            return [(r, s, int(f), c) for r, s, f, c in db.execute(query).fetchall()]
    with sqlite3.connect(Path(env["ALPHASMS_DATA_DIR"]) / "alphasms.sqlite3") as db:
        return db.execute(query).fetchall()


def wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    """Poll ``condition`` every 50 ms; fail after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
