"""Background jobs: Django's Tasks API (the ``django-tasks`` backport) with the database backend
(``django-tasks-db``), run by our own worker process.

Long work a person started in the web app — an import's dry run and its application, a "refresh now"
of a calendar subscription — is a task (``@task`` from ``django_tasks``) queued in the table
``django_tasks_db_dbtaskresult``. ``alphasms worker`` and ``alphasms run`` run them in a thread of the
worker (``JobRunner``) beside the sending loop, so a big import never holds back a reminder. Messages are
never jobs (DESIGN.md: one job per message caps sending at a few hundred per second); the worker claims
them in batches from the outbox.

Settings: ``TASKS`` in ``alphasms/project/settings.py``; tests that want a task to run inside the request
use ``override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}})``.
A task whose worker died while running it stays "running" in the table; its own state (an import job's
progress file) says what happened, and a person can start it again.
"""

from __future__ import annotations

import logging
import os
import threading

from django.db import close_old_connections

log = logging.getLogger("alphasms.jobs")

#: Seconds between looks at the queue when it is empty.
POLL_S = 1.0


def _worker(*, batch: bool) -> object:
    from django_tasks_db.management.commands.db_worker import Worker as DbWorker

    return DbWorker(
        queue_names=["*"],
        interval=0 if batch else POLL_S,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=f"alphasms-{os.getpid()}-{threading.get_ident()}",
        excluded_queue_names=[],
    )


def run_pending() -> int:
    """Run every queued task now, in this thread, one after another, then return how many ran
    (``alphasms worker --once``, tests). Each is claimed like the threaded runner claims it (row lock,
    SKIP LOCKED), so a running worker and this never run the same task. Does nothing when the default
    backend keeps no queue (the immediate backend already ran them)."""
    if not _uses_database_backend():
        return 0
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    worker = _worker(batch=True)
    count = 0
    while True:
        with transaction.atomic():
            result = DBTaskResult.objects.ready().filter(backend_name="default").get_locked()
            if result is None:
                return count
            result.claim(worker.worker_id)  # type: ignore[attr-defined]
        worker.run_task(result)  # type: ignore[attr-defined]
        count += 1


def _uses_database_backend() -> bool:
    from django.conf import settings

    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    return backend.startswith("django_tasks_db")


class JobRunner:
    """A daemon thread that runs queued tasks one after another until ``stop()``; a task already
    running finishes first (``stop`` then waits for it, up to ``timeout_s``)."""

    def __init__(self) -> None:
        self._worker: object | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (no-op without the database backend)."""
        if not _uses_database_backend() or self._thread is not None:
            return
        self._worker = _worker(batch=False)
        self._thread = threading.Thread(target=self._run, name="alphasms-jobs", daemon=True)
        self._thread.start()
        log.info("background jobs runner started")

    def _run(self) -> None:
        try:
            self._worker.run()  # type: ignore[union-attr]
        except Exception:  # a broken job table must not take the sending worker down with it
            log.exception("background jobs runner stopped")
        finally:
            close_old_connections()

    def stop(self, timeout_s: float = 60.0) -> None:
        """Take no new task; wait for the running one."""
        if self._worker is None or self._thread is None:
            return
        self._worker.running = False  # type: ignore[attr-defined]
        self._thread.join(timeout=timeout_s)
