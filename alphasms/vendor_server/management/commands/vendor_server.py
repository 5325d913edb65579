"""``alphasms vendor-server [--host H] [--port P] [--ready-file FILE]``: the vendor's HTTP server.

Applies the vendor database's migrations, makes sure both keys exist (printing their public halves),
then serves the API with waitress until Ctrl-C or SIGTERM. A janitor thread applies the retention rules
(update checks, support backups) at start and every ``ALPHASMS_VENDOR_PURGE_INTERVAL_S`` seconds, so
"deleted after 30 days" holds without cron. ``--port 0`` binds a free port; the port actually bound is
printed and, with ``--ready-file``, written to that file (complete, via rename) once requests are served.
With ``ALPHASMS_VENDOR_COUNT_CONNECTIONS`` on, each accepted TCP connection raises the number in
``<data dir>/connections.count`` (tests use it to prove that nothing else reached the server).
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from django.db import close_old_connections

from alphasms.cli_text import t
from alphasms.commands import UsageError, int_range
from alphasms.vendor_server.commands import VendorCommand, migrate_vendor_database
from alphasms.vendor_server.conf import vendor_settings
from alphasms.vendor_server.keys import age_recipient, public_key_text
from alphasms.vendor_server.services import checks, support
from alphasms.vendor_server.services.common import age_identity, signing_key

log = logging.getLogger("alphasms.vendor_server")


class Command(VendorCommand):
    help = "Startet den Server des Herstellers (Update-Prüfung, Support-Sicherungen)."
    help_en = "Starts the vendor's server (update check, support backups)."
    requires_migrations_checks = False  # it migrates itself

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help=t("Adresse (Standard 127.0.0.1)", "address"))
        parser.add_argument(
            "--port",
            type=int_range(0, 65535),
            default=8080,
            help=t("Port (Standard 8080; 0 = ein freier)", "port (default 8080; 0 = any free one)"),
        )
        parser.add_argument(
            "--ready-file",
            metavar=t("DATEI", "FILE"),
            help=t("gebundenen Port in diese Datei schreiben", "write the bound port to this file"),
        )
        parser.add_argument("--threads", type=int_range(1, 64), default=4, help=t("Threads", "threads"))

    def handle(self, *args: Any, **options: Any) -> None:
        from django.core.wsgi import get_wsgi_application
        from waitress.server import create_server

        migrate_vendor_database()
        key_text, recipient = public_key_text(signing_key()), age_recipient(age_identity())
        proxy = vendor_settings.TRUSTED_PROXY
        proxy_options: dict[str, Any] = (
            {"trusted_proxy": proxy, "trusted_proxy_headers": {"x-forwarded-for"}} if proxy else {}
        )
        host, port = options["host"], options["port"]
        try:
            server = create_server(
                get_wsgi_application(), host=host, port=port, threads=options["threads"], **proxy_options
            )
        except OSError as exc:
            raise _listen_error(exc, host, port) from None
        if vendor_settings.COUNT_CONNECTIONS:
            _count_connections(server, vendor_settings.DATA_DIR / "connections.count")
        bound = _bound_port(server)
        stop_event = threading.Event()
        janitor = threading.Thread(target=_janitor, args=(stop_event,), name="vendor-janitor", daemon=True)
        janitor.start()

        def stop(signum: int, frame: object) -> None:
            stop_event.set()
            server.close()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(
            t(
                f"Hersteller-Server läuft: http://{host}:{bound}/  Daten: {vendor_settings.DATA_DIR}\n"
                f"Signaturschlüssel (öffentlich): {key_text}\nage-Empfänger: {recipient}\n"
                "Beenden mit Strg-C.",
                f"Vendor server is running: http://{host}:{bound}/  data: {vendor_settings.DATA_DIR}\n"
                f"Signing key (public): {key_text}\nage recipient: {recipient}\nStop with Ctrl-C.",
            )
        )
        self.stdout.flush()
        if options["ready_file"]:
            _write_atomically(Path(options["ready_file"]), f"{bound}\n")
        try:
            server.run()
        except OSError:
            pass  # the listening socket closed by stop()
        finally:
            stop_event.set()
            janitor.join(timeout=30)
        self.stdout.write(t("Beendet.", "Stopped."))


def _listen_error(exc: OSError, host: str, port: int) -> UsageError:
    if exc.errno == errno.EADDRINUSE:
        return UsageError(
            t(
                f"Port {port} ist belegt – anderen mit --port wählen.",
                f"Port {port} is in use – choose another with --port.",
            )
        )
    return UsageError(
        t(
            f"{host}:{port} lässt sich nicht öffnen ({exc.strerror}) – --host/--port prüfen.",
            f"{host}:{port} cannot be opened ({exc.strerror}) – check --host/--port.",
        )
    )


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    except OSError as exc:
        raise UsageError(
            t(f"--ready-file {path}: nicht schreibbar ({exc})", f"--ready-file {path}: not writable ({exc})")
        ) from None


def _listeners(server: Any) -> list[Any]:
    """The listening sockets' servers: one, or several when the host name has several addresses
    (waitress's MultiSocketServer keeps them in its socket map)."""
    if hasattr(server, "accept"):
        return [server]
    return [listener for listener in server.map.values() if hasattr(listener, "accept")]


def _bound_port(server: Any) -> int:
    if hasattr(server, "effective_port"):
        return int(server.effective_port)
    return int(server.effective_listen[0][1])


def _count_connections(server: Any, count_file: Path) -> None:
    """Wrap each listener's ``accept`` so every accepted TCP connection is counted into the file."""
    count = [0]
    _write_atomically(count_file, "0\n")
    for listener in _listeners(server):
        accept = listener.accept

        def counting_accept(accept: Any = accept) -> Any:
            accepted = accept()
            if accepted is not None:  # all listeners share waitress's one event-loop thread
                count[0] += 1
                _write_atomically(count_file, f"{count[0]}\n")
            return accepted

        listener.accept = counting_accept


def _janitor(stop_event: threading.Event) -> None:
    """Apply both retention rules now and every PURGE_INTERVAL_S until ``stop_event`` is set."""
    while not stop_event.is_set():
        try:
            close_old_connections()
            purged = checks.purge_checks(vendor_settings.CHECK_RETENTION)
            expired = support.purge_cases()
            if purged or expired:
                log.info("retention: %d update checks, %d support backups deleted", purged, len(expired))
        except Exception:  # a database hiccup must not end the janitor; the next pass retries
            log.exception("retention pass failed")
        finally:
            close_old_connections()
        stop_event.wait(max(vendor_settings.PURGE_INTERVAL_S, 1.0))
