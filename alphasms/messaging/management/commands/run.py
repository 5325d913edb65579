"""``alphasms run [--host H] [--port P]``: migrations, sample data on first start, mail sink, the web
app (waitress) and the worker in one process. Ctrl-C or SIGTERM stops both; in-flight sends finish.

Exit code 2 (nothing started) when a port is taken or cannot be opened."""

from __future__ import annotations

import errno
import os
import signal
import socket
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import AlphaCommand, UsageError, int_range, shown
from alphasms.conf import app_settings
from alphasms.messaging.services.worker import Worker
from alphasms.support.running import Heartbeat


class Command(AlphaCommand):
    help = "Startet Web-Anwendung und Versand-Worker (eingebettete Standardinstallation)."
    help_en = "Starts the web app and the dispatch worker (embedded default installation)."
    requires_migrations_checks = False  # it migrates itself

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", metavar="HOST", help=t("Adresse (Standard 127.0.0.1)", "address")
        )
        parser.add_argument(
            "--port",
            metavar="PORT",
            type=int_range(1, 65535),
            default=8000,
            help=t("Port (Standard 8000)", "port (default 8000)"),
        )
        parser.add_argument(
            "--no-worker", action="store_true", help=t("nur die Web-Anwendung", "only the web app")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from waitress.server import create_server

        from alphasms.appointments.services.sample import ensure_sample_data

        host, port = options["host"], options["port"]
        probe(host, port, web=True)  # before anything changes; the real binds below check again
        if app_settings.MAIL_SINK:
            probe(settings.EMAIL_HOST, settings.EMAIL_PORT, web=False)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        from alphasms.project.wsgi import application  # after collectstatic: WhiteNoise indexes at start

        created = ensure_sample_data() if app_settings.SAMPLE_DATA else None
        if created:
            self.stdout.write(
                t(
                    f"Beispieldaten angelegt. Anmeldung: {created} / {created} (Passwort bitte ändern).",
                    f"Sample data created. Sign in: {created} / {created} (please change the password).",
                )
            )
        sink = self._start_mail_sink()
        heartbeat = Heartbeat("run").start()  # `alphasms backup restore` refuses while this runs
        try:
            server = create_server(application, host=host, port=port, threads=4)
        except OSError as exc:
            if sink is not None:
                sink.stop()
            heartbeat.stop()
            raise listen_error(exc, host, port, web=True) from None
        worker = Worker()
        worker_thread = threading.Thread(target=worker.run, name="alphasms-worker", daemon=True)
        if not options["no_worker"]:
            worker_thread.start()

        def stop(signum: int, frame: object) -> None:
            worker.stop()
            server.close()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        url = f"http://{host}:{port}/"
        gateway, data = f"{app_settings.SMS_GATEWAY} ({app_settings.OUTBOX_DIR})", settings.DATA_DIR
        self.stdout.write(
            t(
                f"AlphaSMS läuft: {url}  Daten: {data}\nSMS-Gateway: {gateway}. Beenden mit Strg-C.",
                f"AlphaSMS is running: {url}  data: {data}\nSMS gateway: {gateway}. Stop with Ctrl-C.",
            )
        )
        from alphasms.licensing.evaluation import licence_status  # local, offline: no connection

        status = licence_status()
        if status.mode != "licensed":
            self.stdout.write(status.sentence)
        try:
            server.run()
        except OSError:
            pass  # the listening socket closed by stop()
        finally:
            worker.stop()
            if worker_thread.is_alive():
                worker_thread.join(timeout=60)
            if sink is not None:
                sink.stop()
            heartbeat.stop()
        self.stdout.write(t("Beendet.", "Stopped."))

    def _start_mail_sink(self) -> Any:
        if not app_settings.MAIL_SINK:
            return None
        from alphasms.messaging.mailsink import start_mail_sink

        host, port, folder = settings.EMAIL_HOST, settings.EMAIL_PORT, app_settings.MAIL_SINK_DIR
        try:
            sink = start_mail_sink(host, port, Path(folder))
        except OSError as exc:
            raise listen_error(exc, host, port, web=False) from None
        self.stdout.write(
            t(
                f"Lokaler Mail-Eingang: smtp://{host}:{port} → {folder}",
                f"Local mail sink: smtp://{host}:{port} → {folder}",
            )
        )
        return sink


def probe(host: str, port: int, *, web: bool) -> None:
    """UsageError if nothing can listen on ``host``:``port`` (bound like waitress and aiosmtpd do)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as sock:
            if os.name != "nt":  # as the servers do; on Windows SO_REUSEADDR would share a taken port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as exc:
        raise listen_error(exc, host, port, web=web) from None


def listen_error(exc: OSError, host: str, port: int, *, web: bool) -> UsageError:
    """The reason ``host``:``port`` cannot be opened, with the setting that changes it."""
    port_fix, host_fix = ("--port", "--host") if web else ("ALPHASMS_SMTP_PORT", "ALPHASMS_SMTP_HOST")
    what_de, what_en = ("", "") if web else (" (lokaler Mail-Eingang)", " (local mail sink)")
    if exc.errno == errno.EADDRINUSE:
        return UsageError(
            t(
                f"Port {port}{what_de} ist belegt – anderen mit {port_fix} wählen.",
                f"Port {port}{what_en} is in use – choose another with {port_fix}.",
            )
        )
    if exc.errno == errno.EACCES:
        return UsageError(
            t(
                f"Port {port}{what_de} braucht Administratorrechte – mit {port_fix} einen ab 1024 wählen.",
                f"Port {port}{what_en} needs administrator rights – choose one from 1024 with {port_fix}.",
            )
        )
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return UsageError(
            t(
                f"{host_fix} {shown(host)}: diese Adresse gibt es auf diesem Rechner nicht – z. B. 127.0.0.1 "
                "oder 0.0.0.0 wählen.",
                f"{host_fix} {shown(host)}: this machine has no such address – choose e.g. 127.0.0.1 or "
                "0.0.0.0.",
            )
        )
    return UsageError(
        t(
            f"{shown(host)}:{port}{what_de} lässt sich nicht öffnen ({exc.strerror}) – mit {port_fix} bzw. "
            f"{host_fix} einen anderen wählen.",
            f"{shown(host)}:{port}{what_en} cannot be opened ({exc.strerror}) – choose another with "
            f"{port_fix} or {host_fix}.",
        )
    )
