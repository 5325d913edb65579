"""`alphasms backup restore` refuses while a real `alphasms worker` process runs (its heartbeat row,
``alphasms.support.running``), restores with ``--force`` and a warning, and restores plainly once the
worker has stopped (a clean stop deletes the row). On the engine of the test run, in child processes."""

from __future__ import annotations

import datetime as dt
import json
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.utils import timezone

from alphasms.support.running import STALE_S, Heartbeat, running_processes
from alphasms.testing.fake_http import FakeHttpServer
from tests.worker_processes import (
    CUSTOMERS,
    alphasms,
    child_database,
    messages,
    prepare_practice,
    sevenio_accepts,
    wait_for,
)

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def heartbeats(env: dict[str, str]) -> list[tuple[str, int]]:
    """(kind, pid) of every heartbeat row in the child database."""
    query = "SELECT kind, pid FROM support_runningprocess ORDER BY id"
    if env["DATABASE_URL"]:
        with psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://")) as db:
            return [(k, int(p)) for k, p in db.execute(query).fetchall()]
    with sqlite3.connect(Path(env["ALPHASMS_DATA_DIR"]) / "alphasms.sqlite3") as db:
        return [(k, int(p)) for k, p in db.execute(query).fetchall()]


@POSIX
def test_restore_is_refused_while_a_worker_runs_and_forced_only_with_a_warning(tmp_path):
    with FakeHttpServer() as sevenio, child_database(tmp_path) as database_url:
        sevenio.enqueue(*(sevenio_accepts(f"55{i:03d}") for i in range(CUSTOMERS)))
        env = prepare_practice(tmp_path, sevenio, database_url)
        with (tmp_path / "worker.log").open("w") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "alphasms", "worker"], env=env, stdout=log, stderr=log, text=True
            )
            try:
                wait_for(lambda: heartbeats(env) == [("worker", worker.pid)])
                wait_for(lambda: {status for _, status, _, _ in messages(env)} == {"sent"})
                made = alphasms(env, "backup", "create", "--json")
                assert made.returncode == 0, made.stderr
                path = json.loads(made.stdout)["path"]

                refused = alphasms(env, "backup", "restore", path, "--yes")
                assert refused.returncode == 2
                assert refused.stderr.startswith(
                    "Wiederherstellung verweigert: AlphaSMS läuft noch (Worker auf "
                    f"{socket.gethostname()} (Prozess {worker.pid}, Lebenszeichen vor "
                )
                assert "--force stellt trotzdem wieder her. Nichts wurde geändert." in refused.stderr
                assert "Wiederhergestellt" not in refused.stdout

                checked = alphasms(env, "backup", "restore", path, "--verify-only")  # changes nothing
                assert checked.returncode == 0, checked.stderr

                forced = alphasms(env, "backup", "restore", path, "--yes", "--force")
                assert forced.returncode == 0, forced.stderr
                assert "Warnung: AlphaSMS läuft noch (Worker auf" in forced.stderr
                assert "Wiederhergestellt: Stand" in forced.stdout
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=30)
        assert worker.returncode == 0, (tmp_path / "worker.log").read_text()
        assert heartbeats(env) == []  # a clean stop removes the row

        plain = alphasms(env, "backup", "restore", path, "--yes")
        assert plain.returncode == 0, plain.stderr
        assert {status for _, status, _, _ in messages(env)} == {"sent"}
    assert len(sevenio.requests) == CUSTOMERS  # the restores sent nothing again


@pytest.mark.django_db(transaction=True)
def test_a_heartbeat_is_fresh_while_running_gone_after_stop_and_stale_after_a_crash():
    from alphasms.support.models import RunningProcess

    assert running_processes() == []
    beat = Heartbeat("worker", interval_s=0.1).start()
    try:
        [active] = running_processes()
        assert (active["kind"], active["pid"]) == ("worker", beat.pid)
        first = RunningProcess.objects.get().seen_at
        wait_for(lambda: RunningProcess.objects.get().seen_at > first, timeout_s=10)  # it keeps beating
    finally:
        beat.stop()
    assert RunningProcess.objects.count() == 0 and running_processes() == []

    now = timezone.now()
    RunningProcess.objects.create(  # a process killed hard: its row stays, but goes stale
        key="h:1:worker:x", kind="worker", host="h", pid=1, started_at=now, seen_at=now
    )
    assert len(running_processes(now + dt.timedelta(seconds=STALE_S - 1))) == 1
    assert running_processes(now + dt.timedelta(seconds=STALE_S + 1)) == []
    RunningProcess.objects.all().delete()
