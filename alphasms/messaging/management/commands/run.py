"""``alphasms run [--host H] [--port P]``: migrations, sample data on first start, mail sink, the web
app (waitress) and the worker in one process. Ctrl-C or SIGTERM stops both; in-flight sends finish."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from alphasms.cli_text import t
from alphasms.conf import app_settings
from alphasms.messaging.services.worker import Worker


class Command(BaseCommand):
    help = "Startet Web-Anwendung und Versand-Worker (eingebettete Standardinstallation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="nur die Web-Anwendung")

    def handle(self, *args: Any, **options: Any) -> None:
        from waitress.server import create_server

        from alphasms.appointments.services.sample import ensure_sample_data

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
        worker = Worker()
        worker_thread = threading.Thread(target=worker.run, name="alphasms-worker", daemon=True)
        if not options["no_worker"]:
            worker_thread.start()
        server = create_server(application, host=options["host"], port=options["port"], threads=4)

        def stop(signum: int, frame: object) -> None:
            worker.stop()
            server.close()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        url = f"http://{options['host']}:{options['port']}/"
        gateway, data = f"{app_settings.SMS_GATEWAY} ({app_settings.OUTBOX_DIR})", settings.DATA_DIR
        self.stdout.write(
            t(
                f"AlphaSMS läuft: {url}  Daten: {data}\nSMS-Gateway: {gateway}. Beenden mit Strg-C.",
                f"AlphaSMS is running: {url}  data: {data}\nSMS gateway: {gateway}. Stop with Ctrl-C.",
            )
        )
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
        self.stdout.write(t("Beendet.", "Stopped."))

    def _start_mail_sink(self) -> Any:
        if not app_settings.MAIL_SINK:
            return None
        from alphasms.messaging.mailsink import start_mail_sink

        host, port, folder = settings.EMAIL_HOST, settings.EMAIL_PORT, app_settings.MAIL_SINK_DIR
        sink = start_mail_sink(host, port, Path(folder))
        self.stdout.write(
            t(
                f"Lokaler Mail-Eingang: smtp://{host}:{port} → {folder}",
                f"Local mail sink: smtp://{host}:{port} → {folder}",
            )
        )
        return sink
