"""Nothing automatic phones home (DESIGN.md invariant 7; issue 7 "done when").

A listener on 127.0.0.1 that counts accepted TCP connections stands in for the vendor: ALPHASMS_VENDOR_URL
points at it. The product then lives through a simulated day and a half — sample data, calendar and
customer imports, planning, hourly worker cycles sending through the outbox and fake SMS gateways and a
local SMTP server, staff and customer web requests, privacy and licence commands — and the listener must
have seen zero connections. Every socket the test process opened is recorded too: only the local SMTP
server was contacted. Starting the product (``alphasms run``, ``alphasms worker --once``) in a real
process connects to the listener zero times as well. A control at the end shows the listener does count:
the update check, run by hand, is its first connection.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client, override_settings

from alphasms.appointments.models import Customer, Location
from alphasms.appointments.services.csv_import import import_csv
from alphasms.appointments.services.ics_import import import_ics
from alphasms.appointments.services.sample import ensure_sample_data
from alphasms.licensing import update
from alphasms.messaging.gateways.fake.gateway import FakeGateway
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.messaging.services.worker import Worker
from alphasms.privacy.links import make_token
from alphasms.testing.fake_smtp import FakeSmtpServer
from alphasms.testing.web import make_web_user, sign_in
from alphasms.web.roles import Role
from tests.worker_processes import wait_for

UTC = dt.UTC
ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
MORNING = dt.datetime(2026, 12, 6, 6, 0, tzinfo=UTC)  # Sunday 07:00 Berlin


class ConnectionCounter:
    """A TCP listener on 127.0.0.1 that accepts, counts and closes every connection."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.port = int(self.server.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.count += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.server.close()


@pytest.fixture
def listener() -> Iterator[ConnectionCounter]:
    counter = ConnectionCounter()
    try:
        yield counter
    finally:
        counter.close()


@contextmanager
def recorded_connections() -> Iterator[list[object]]:
    """Every address a Python socket of this process connects to while the block runs."""
    seen: list[object] = []
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def spy_connect(self: socket.socket, address: object) -> None:
        seen.append(address)
        connect(self, address)  # type: ignore[arg-type]

    def spy_connect_ex(self: socket.socket, address: object) -> int:
        seen.append(address)
        return connect_ex(self, address)  # type: ignore[arg-type]

    socket.socket.connect = spy_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = spy_connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield seen
    finally:
        socket.socket.connect, socket.socket.connect_ex = connect, connect_ex  # type: ignore[method-assign]


def quietly(*args: str) -> str:
    out = io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=io.StringIO())
    except SystemExit:
        pass
    return out.getvalue()


@pytest.mark.django_db(transaction=True)  # the worker closes old connections, as in production
def test_a_simulated_day_makes_zero_connections_to_the_vendor(alphasms_settings, listener, tmp_path):
    alphasms_settings.update(VENDOR_URL=listener.url, SMS_GATEWAY="outbox")
    staff = Client()
    with FakeSmtpServer() as smtp, override_settings(**smtp.django_settings()):
        with recorded_connections() as seen:
            with time_machine.travel(MORNING, tick=False):
                ensure_sample_data(MORNING)
                location = Location.objects.get()
                import_csv(
                    (DATA / "practice" / "kunden.csv").read_bytes(),
                    location,
                    "kunden.csv",
                    consent_channels=("sms", "email"),
                    consent_wording="2026-01",
                )
                import_ics((DATA / "practice" / "praxis.ics").read_bytes(), location, "praxis.ics")
                calendar = DATA / "calendars" / "thunderbird-event-with-alarms.ics"
                import_ics(calendar.read_bytes(), location, calendar.name)
                owner = make_web_user(Role.OWNER, username="chefin")
                owner.user.is_staff = owner.user.is_superuser = True  # the admin is for owners
                owner.user.save()

            pages: dict[str, int] = {}
            for hour in range(0, 40):
                now = MORNING + dt.timedelta(hours=hour)
                if hour == 20:
                    alphasms_settings["SMS_GATEWAY"] = "fake"
                with time_machine.travel(now, tick=False):
                    Worker().cycle()
                    if hour % 8 == 0:  # staff sign in and look around during the day
                        sign_in(staff, owner)
                        for path in (
                            "/",
                            "/admin/",
                            "/admin/messaging/outboundmessage/",
                            "/admin/appointments/customer/",
                            "/admin/appointments/appointment/",
                        ):
                            pages[path] = staff.get(path).status_code
            with time_machine.travel(MORNING + dt.timedelta(hours=40), tick=False):
                customer = Customer.objects.get(customer_number="1001")
                person = Client().get(f"/datenschutz/{make_token(customer)}/")
                export = quietly("privacy_export", "--customer", "1001", "--json")
                quietly("privacy_purge", "--dry-run")
                quietly("privacy_audit_verify")
                quietly("privacy_documents", "records")
                status = quietly("licence_show", "--json")
                quietly("sms_spend")
                quietly("preview", "--until", "2026-12-31T00:00Z")

    sent = OutboundMessage.objects.filter(status=MessageStatus.SENT)
    outbox_files = list(Path(alphasms_settings["OUTBOX_DIR"]).rglob("*"))
    assert sent.filter(gateway="outbox").exists() and outbox_files
    assert sent.filter(gateway="fake").count() == len(FakeGateway.outbox) > 0
    assert len(smtp.envelopes) == sent.filter(channel="email").count() > 0
    assert pages == dict.fromkeys(pages, 200)
    assert person.status_code == 200
    assert '"1001"' in export
    assert '"mode": "evaluation"' in status

    assert listener.count == 0  # the whole day: not one connection to the vendor
    assert {tuple(a) for a in seen if isinstance(a, tuple)} == {("127.0.0.1", smtp.port)}

    # Control: the listener does count — the update check, run by hand, is its first connection.
    with pytest.raises(update.UpdateCheckError):
        update.run_update_check(timeout_s=5)
    wait_for(lambda: listener.count == 1, timeout_s=5)


def child_env(tmp_path: Path, listener: ConnectionCounter) -> dict[str, str]:
    env = {
        **os.environ,
        "ALPHASMS_DATA_DIR": str(tmp_path),
        "ALPHASMS_VENDOR_URL": listener.url,
        "ALPHASMS_SMTP_PORT": str(free_port()),
    }
    for name in ("DATABASE_URL", "ALPHASMS_SMTP_HOST", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    return env


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
def test_starting_the_product_and_the_worker_makes_zero_connections(tmp_path, listener):
    env = child_env(tmp_path, listener)
    web = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "alphasms", "run", "--port", str(web)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{web}/admin/login/"), timeout_s=90)
        for path in ("/", "/admin/login/", "/static/admin/css/base.css"):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{web}{path}", timeout=5).close()
            except OSError:
                pass
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "TESTMODUS: Keine Lizenz eingegeben." in output or "EVALUATION MODE: No licence entered." in output
    worker = subprocess.run(
        [sys.executable, "-m", "alphasms", "worker", "--once"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr
    assert listener.count == 0


# Code that runs without a person asking: the worker, start-up, app loading, checks, middleware, signals.
AUTOMATIC = ("worker", "run.py", "apps.py", "checks.py", "middleware", "signals", "wsgi.py", "asgi.py")


def references_update_check(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {a.name for a in node.names}
            if node.module == "alphasms.licensing.update" or (
                node.module == "alphasms.licensing" and "update" in names
            ):
                return True
        if isinstance(node, ast.Import) and any(a.name == "alphasms.licensing.update" for a in node.names):
            return True
        if isinstance(node, ast.Attribute | ast.Name) and getattr(node, "attr", getattr(node, "id", "")) in (
            "run_update_check",
            "download_update",
        ):
            return True
    return False


def test_no_automatic_code_path_refers_to_the_update_check():
    package = ROOT / "alphasms"
    referring = {
        str(path.relative_to(ROOT))
        for path in package.rglob("*.py")
        if "tests" not in path.parts and path.name != "update.py" and references_update_check(path)
    }
    assert "alphasms/licensing/management/commands/update_check.py" in referring  # the scan works
    automatic = {p for p in referring if any(word in p for word in AUTOMATIC)}
    assert automatic == set()
    # The worker and its commands do not even load the module.
    probe = (
        "import django, sys; django.setup(); "
        "import alphasms.messaging.services.worker, alphasms.messaging.services.dispatch; "
        "import alphasms.messaging.management.commands.worker; "
        "print('alphasms.licensing.update' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "alphasms.project.settings"}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "False", done.stderr
