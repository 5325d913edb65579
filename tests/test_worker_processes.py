"""The real `alphasms worker` process: SIGKILL mid-batch, SIGTERM, and two workers on one database.

Runs on the engine of the test run (SQLite file or a PostgreSQL database of its own), so the claim path
(BEGIN IMMEDIATE on SQLite, FOR UPDATE SKIP LOCKED on PostgreSQL) is exercised across real processes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

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


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "alphasms", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@POSIX
def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_only_flagged_messages(tmp_path):
    with FakeHttpServer() as sevenio, child_database(tmp_path) as database_url:
        sevenio.enqueue(*(sevenio_accepts(f"88{i:03d}", delay_s=0.3) for i in range(CUSTOMERS * 2)))
        env = prepare_practice(tmp_path, sevenio, database_url)
        assert len(messages(env)) == CUSTOMERS
        worker = start_worker(env)
        wait_for(lambda: len(sevenio.requests) >= 4)
        worker.send_signal(signal.SIGKILL)  # in the middle of the batch, most likely during a provider call
        worker.wait(timeout=10)
        assert 4 <= len(sevenio.requests) < CUSTOMERS
        time.sleep(2.5)  # the dead worker's lease (2 s) expires
        restarted = alphasms(env, "worker", "--once")
        assert restarted.returncode == 0, restarted.stderr
        rows = messages(env)

    assert {status for _, status, _, _ in rows} == {"sent"}  # nothing lost
    per_number = Counter(r.form()["to"][0] for r in sevenio.requests)
    assert set(per_number) == {recipient for recipient, _, _, _ in rows}
    duplicated = {number for number, count in per_number.items() if count > 1}
    flagged = {recipient for recipient, _, flag, _ in rows if flag}
    assert duplicated <= flagged  # a duplicate only where the outcome was unknown, and it is flagged
    assert len(flagged) <= 1  # at most the one message whose provider call the kill interrupted


@POSIX
def test_sigterm_lets_the_worker_finish_its_provider_call(tmp_path):
    with FakeHttpServer() as sevenio, child_database(tmp_path) as database_url:
        sevenio.enqueue(*(sevenio_accepts(f"99{i:03d}", delay_s=0.5) for i in range(CUSTOMERS)))
        env = prepare_practice(tmp_path, sevenio, database_url)
        worker = start_worker(env)
        wait_for(lambda: len(sevenio.requests) >= 2)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
        assert worker.returncode == 0, stderr
        requested = len(sevenio.requests)
        rows = messages(env)
    statuses = Counter(status for _, status, _, _ in rows)
    assert statuses["sent"] == requested  # the call in flight finished and was recorded
    assert statuses["sending"] == 0 and statuses["unknown"] == 0
    assert statuses["sent"] + statuses["queued"] + statuses["planned"] == CUSTOMERS
    assert "finishing in-flight work" in stderr


@POSIX
def test_two_workers_on_one_database_send_each_message_once(tmp_path):
    with FakeHttpServer() as sevenio, child_database(tmp_path) as database_url:
        sevenio.enqueue(*(sevenio_accepts(f"77{i:03d}", delay_s=0.25) for i in range(CUSTOMERS)))
        env = prepare_practice(
            tmp_path, sevenio, database_url, ALPHASMS_WORKER_BATCH="2", ALPHASMS_WORKER_POLL_S="0"
        )
        workers = [start_worker(env), start_worker(env)]
        try:
            wait_for(lambda: {s for _, s, _, _ in messages(env)} == {"sent"})
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
                worker.communicate(timeout=30)
        rows = messages(env)
    per_number = Counter(r.form()["to"][0] for r in sevenio.requests)
    assert len(per_number) == CUSTOMERS
    assert set(per_number.values()) == {1}  # each message went out exactly once
    assert len({claimed_by for _, _, _, claimed_by in rows}) == 2  # both workers took part
