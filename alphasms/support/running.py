"""Which AlphaSMS processes are running: a heartbeat row per ``alphasms worker`` / ``alphasms run``.

Each such process starts a :class:`Heartbeat`: a daemon thread with its own database connection that
writes a ``support.RunningProcess`` row at once and refreshes its ``seen_at`` every ``HEARTBEAT_S`` (10)
seconds, independent of how long a worker cycle takes, and deletes the row when the process stops
cleanly. A process killed hard leaves its row behind; it counts as stopped once ``seen_at`` is older than
``STALE_S`` (45) seconds. The rows live in the database the processes share, so this works for SQLite and
for PostgreSQL with workers on other machines (their clocks must agree within a few seconds, as NTP
keeps them), on every operating system (no signals, no pid files).

Used by ``alphasms backup restore``, which refuses to replace the database while a process is running
(:func:`running_processes`). A web app served by another WSGI server (not ``alphasms run``) has no
heartbeat: stop it by hand before a restore.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import timezone

log = logging.getLogger("alphasms.running")

HEARTBEAT_S = 10.0
STALE_S = 45.0
TABLE = "support_runningprocess"


class Heartbeat:
    """Announce this process as running (``kind``: ``worker`` or ``run``) until :meth:`stop`.

    ``start()`` returns after the first row is written (at most ``first_beat_timeout_s`` seconds; a
    database that cannot be written is logged, never fatal: the process works without its heartbeat).
    Usable as a context manager. Side effects: the ``RunningProcess`` row, one database connection in
    the heartbeat thread (closed when it ends).
    """

    def __init__(self, kind: str, interval_s: float = HEARTBEAT_S, using: str = DEFAULT_DB_ALIAS) -> None:
        self.kind = kind
        self.interval_s = interval_s
        self.using = using
        self.host = socket.gethostname()[:255]
        self.pid = os.getpid()
        self.key = f"{self.host}:{self.pid}:{kind}:{secrets.token_hex(4)}"[:200]
        self.started_at = timezone.now()
        self._stopped = threading.Event()
        self._first = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False

    def start(self, first_beat_timeout_s: float = 5.0) -> Heartbeat:
        self._thread = threading.Thread(target=self._run, name=f"alphasms-heartbeat-{self.kind}", daemon=True)
        self._thread.start()
        self._first.wait(first_beat_timeout_s)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """End the thread; it deletes the row before it ends."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            while True:
                self._beat()
                self._first.set()
                if self._stopped.wait(self.interval_s):
                    break
            self._forget()
        finally:
            self._first.set()
            connections[self.using].close()  # this thread's connection only

    def _beat(self) -> None:
        from alphasms.support.models import RunningProcess

        try:
            RunningProcess.objects.using(self.using).update_or_create(
                key=self.key,
                defaults={"seen_at": timezone.now()},
                create_defaults={
                    "kind": self.kind,
                    "host": self.host,
                    "pid": self.pid,
                    "started_at": self.started_at,
                    "seen_at": timezone.now(),
                },
            )
        except DatabaseError as exc:
            if not self._warned:  # once per process: a locked or missing table is no reason to stop
                log.warning("heartbeat %s not written: %s", self.kind, type(exc).__name__)
                self._warned = True
            connections[self.using].close()

    def _forget(self) -> None:
        from alphasms.support.models import RunningProcess

        try:
            RunningProcess.objects.using(self.using).filter(key=self.key).delete()
        except DatabaseError as exc:
            log.warning("heartbeat %s not removed: %s", self.kind, type(exc).__name__)


def running_processes(now: dt.datetime | None = None, using: str = DEFAULT_DB_ALIAS) -> list[dict[str, Any]]:
    """The processes whose heartbeat is fresh (``seen_at`` within ``STALE_S`` seconds of ``now``), newest
    first: [{"kind", "host", "pid", "started_at", "seen_at", "age_s"}] (instants UTC). [] when the table
    does not exist yet (a database not migrated, e.g. the new install of a disaster restore)."""
    from alphasms.support.models import RunningProcess

    connection = connections[using]
    with connection.cursor() as cursor:
        if TABLE not in connection.introspection.table_names(cursor):
            return []
    now = now or timezone.now()
    fresh = RunningProcess.objects.using(using).filter(seen_at__gte=now - dt.timedelta(seconds=STALE_S))
    return [
        {
            "kind": row.kind,
            "host": row.host,
            "pid": row.pid,
            "started_at": row.started_at,
            "seen_at": row.seen_at,
            "age_s": max(0.0, (now - row.seen_at).total_seconds()),
        }
        for row in fresh
    ]
