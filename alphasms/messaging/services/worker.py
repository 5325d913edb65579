"""The worker loop: plan, refresh subscriptions, dispatch; stops cleanly on SIGTERM or Ctrl-C.

On a stop signal no new batch is claimed, sends in flight finish and are recorded, and claimed rows
not yet started go back to the queue (hc ``sendalerts`` shape).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from django.db import close_old_connections

from alphasms.appointments.services.planning import plan
from alphasms.appointments.services.subscriptions import refresh_due
from alphasms.conf import app_settings
from alphasms.jobs import JobRunner, run_pending
from alphasms.messaging.gateways.errors import GatewayError, GatewayMisconfigured
from alphasms.messaging.services.dispatch import Dispatcher, DispatchStats
from alphasms.privacy.retention import purge_if_due
from alphasms.support.backup import backup_if_due

log = logging.getLogger("alphasms.worker")


class Worker:
    """Runs ``cycle()`` every ``ALPHASMS_WORKER_POLL_S`` seconds until ``stop()``."""

    def __init__(self, dispatcher: Dispatcher | None = None) -> None:
        self.dispatcher = dispatcher or Dispatcher()
        self.stopped = threading.Event()

    def cycle(self) -> DispatchStats:
        """One pass: plan reminders, refresh due calendar subscriptions, send what is due; once a day
        also the retention purge and (when a backup key is set up) the daily backup with rotation."""
        close_old_connections()
        plan()
        refresh_due()
        purge_if_due()
        backup_if_due()
        return self.dispatcher.run_once()

    def run(self, once: bool = False) -> None:
        """Loop until stopped (or one cycle with ``once``). Background jobs (imports started in the web
        app, ``alphasms.jobs``) run in a thread beside the loop; with ``once`` the queued ones run after
        the cycle."""
        log.info("worker %s started", self.dispatcher.worker_id)
        self.start_gateways()
        jobs = JobRunner()
        if not once:
            jobs.start()
        while not self.stopped.is_set():
            try:
                stats = self.cycle()
            except Exception:
                # A dead worker sends nothing at all; log with the traceback and try again after a pause.
                log.exception("worker cycle failed; retrying in %s s", app_settings.WORKER_POLL_S)
                if once:
                    raise
                self.stopped.wait(max(app_settings.WORKER_POLL_S, 1.0))
                continue
            if stats.claimed:
                log.info("cycle claimed=%d outcomes=%s", stats.claimed, stats.outcomes)
            if once:
                run_pending()
                break
            # Busy queue: go again at once; idle: wait for the poll interval or a stop.
            if stats.claimed < app_settings.WORKER_BATCH:
                self.stopped.wait(app_settings.WORKER_POLL_S)
        jobs.stop()
        log.info("worker %s stopped", self.dispatcher.worker_id)

    def start_gateways(self) -> None:
        """Let each SMS gateway open what it keeps open (an SMPP session); a failure is logged, the
        gateway then connects on its first send."""
        try:
            routes = self.dispatcher.pool.routes
        except GatewayMisconfigured as exc:
            log.error("SMS gateway misconfigured: %s", exc)
            return
        for route in routes:
            try:
                route.gateway.start()
            except (GatewayError, GatewayMisconfigured, OSError) as exc:
                log.error("gateway %s did not start: %s", route.gateway.slug, exc)

    def stop(self, *_: object) -> None:
        """Stop claiming; in-flight sends finish."""
        self.stopped.set()
        self.dispatcher.stopping.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT (Ctrl-C) stop the loop gracefully (main thread only)."""

        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("signal %s: finishing in-flight work", signum)
            self.stop()

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
