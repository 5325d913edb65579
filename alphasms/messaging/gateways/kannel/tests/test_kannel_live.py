"""Against the real thing: Debian's Kannel (bearerbox + smsbox) with its ``fakesmsc`` as the SMSC.

A fixture writes a kannel.conf into a temporary folder (core with admin port and internal dlr-storage, one
``smsc = fake``, an smsbox with sendsms, one sendsms-user), all on free loopback ports, and starts the boxes.
The gateway sends through the real smsbox; the message is read from fakesmsc's output; the fake SMSC
produces an SMSC ACK (type 8) and a final "delivered" (type 1) report, which the smsbox fetches from our
dlr-url on pytest-django's live server: the message becomes delivered.

Kannel comes from Debian's ``kannel`` and ``kannel-extras`` packages (fakesmsc is in the latter;
``python3 dev.py test`` installs both as root). Without them these tests fail, they do not skip.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.appointments.models import Location
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import DeliveryStatus, OutboundSms
from alphasms.messaging.gateways.kannel.gateway import KannelGateway
from alphasms.messaging.models import (
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryReport,
    MessageStatus,
    OutboundMessage,
)
from alphasms.messaging.services.lifecycle import set_status
from tests.conftest import make_appointment, make_customer, make_rule

FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
INSTALL_HINT = (
    "Kannel is not installed: run `python3 dev.py test` as root (it installs Debian's kannel and "
    "kannel-extras) or `apt-get install -y kannel kannel-extras`; fakesmsc is in kannel-extras"
)
USERNAME, PASSWORD, ADMIN_PASSWORD = "alphasms", "sendsms-pw", "admin-pw"
NUMBER = "+4915112345678"
WAIT_S = 15.0


def sbin_which(name: str) -> str:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    found = shutil.which(name, path=path)
    if found is None or not FAKESMSC.exists():
        pytest.fail(INSTALL_HINT, pytrace=False)
    return found


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_until(check: Callable[[], Any], what: str, timeout_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


CONFIG = """\
group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = {admin_password}
admin-allow-ip = 127.0.0.1
smsbox-port = {box}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
dlr-storage = internal
log-file = "{folder}/bearerbox.log"
log-level = 1

group = smsc
smsc = fake
smsc-id = fake
port = {smsc}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{folder}/smsbox.log"
log-level = 1

group = sendsms-user
username = {username}
password = {password}
"""


@dataclass
class Kannel:
    """Running Kannel boxes; ``received()`` lists the messages fakesmsc got ("sender receiver type data")."""

    folder: Path
    ports: dict[str, int]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sendsms']}"

    def start(self, *command: str | Path, log: str) -> None:
        with (self.folder / log).open("ab") as out:
            self.processes.append(subprocess.Popen([str(c) for c in command], stdout=out, stderr=out))

    def start_fakesmsc(self) -> None:
        # -m 0: send no MO messages, only print what the SMSC receives ("Got message N: <…>")
        self.start(FAKESMSC, "-H", "127.0.0.1", "-r", str(self.ports["smsc"]), "-m", "0", "1 2 text -",
                   log="fakesmsc.log")  # fmt: skip
        wait_until(lambda: "(online" in self.status(), "the fake SMSC to connect to bearerbox")

    def status(self) -> str:
        url = f"http://127.0.0.1:{self.ports['admin']}/status.txt?password={ADMIN_PASSWORD}"
        with urllib.request.urlopen(url, timeout=2) as answer:
            return str(answer.read().decode())

    def received(self) -> list[str]:
        log = (self.folder / "fakesmsc.log").read_text(encoding="utf-8", errors="replace")
        return [line.split(": <", 1)[1].rstrip(">") for line in log.splitlines() if "Got message" in line]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_kannel(folder: Path, with_smsc: bool) -> Kannel:
    bearerbox, smsbox = sbin_which("bearerbox"), sbin_which("smsbox")
    kannel = Kannel(folder, dict(zip(["admin", "box", "smsc", "sendsms"], free_ports(4), strict=True)))
    config = folder / "kannel.conf"
    config.write_text(
        CONFIG.format(
            folder=folder, admin_password=ADMIN_PASSWORD, username=USERNAME, password=PASSWORD, **kannel.ports
        )
    )
    try:
        kannel.start(bearerbox, config, log="bearerbox.out")
        wait_until(lambda: accepts(kannel.ports["admin"]), "bearerbox's admin port")
        kannel.start(smsbox, config, log="smsbox.out")
        wait_until(lambda: accepts(kannel.ports["sendsms"]), "smsbox's sendsms port")
        wait_until(lambda: "smsbox:" in kannel.status(), "smsbox to connect to bearerbox")
        if with_smsc:
            kannel.start_fakesmsc()
    except BaseException:
        kannel.stop()
        raise
    return kannel


@pytest.fixture(scope="module")
def kannel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kannel]:
    running = start_kannel(tmp_path_factory.mktemp("kannel"), with_smsc=True)
    yield running
    running.stop()


@pytest.fixture
def kannel_without_smsc(tmp_path: Path) -> Iterator[Kannel]:
    running = start_kannel(tmp_path, with_smsc=False)
    yield running
    running.stop()


def configure(kannel: Kannel, public_url: str, **extra: Any) -> override_settings:
    values = {
        "KANNEL_BASE_URL": kannel.sendsms_url,
        "KANNEL_USERNAME": USERNAME,
        "KANNEL_PASSWORD": PASSWORD,
        "KANNEL_DLR_SECRET": "live-kannel-dlr-secret",
        "PUBLIC_URL": public_url,
        "SMS_SENDER_ID": "Praxis",
        "HTTP_TIMEOUT_S": 10,
    }
    return override_settings(ALPHASMS={**settings.ALPHASMS, **values, **extra})


def sent_attempt() -> DeliveryAttempt:
    """A planned reminder marked sent, with the Kannel attempt whose id goes out as our reference."""
    location = Location.objects.create(name="Praxis Sonnenhof", phone="+49 30 1234567")
    make_rule()
    make_appointment(location, make_customer(mobile=NUMBER), dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    plan()
    message = OutboundMessage.objects.get()
    set_status(message, MessageStatus.SENT)
    return DeliveryAttempt.objects.create(
        message=message, gateway="kannel", started_at=dt.datetime.now(dt.UTC), outcome=AttemptOutcome.SENT
    )


def ucs2_text(data: str) -> str:
    """fakesmsc prints UCS-2 bodies URL-encoded with "+" for the 0x20 byte (Kannel octstr_url_encode)."""
    return urllib.parse.unquote_to_bytes(data.replace("+", "%20")).decode("utf-16-be")


@pytest.mark.django_db(transaction=True)
def test_a_reminder_reaches_the_smsc_and_kannels_report_marks_it_delivered(kannel, live_server):
    attempt = sent_attempt()
    sms = OutboundSms(reference=str(attempt.id), to_e164=NUMBER, text="Termin morgen 09:30, Praxis Müller")
    with configure(kannel, live_server.url):  # also while the reports arrive: the view reads the secret
        result = KannelGateway().send(sms)

        assert (result.status, result.gateway_message_id) == (DeliveryStatus.ACCEPTED, "")
        wait_until(lambda: f"Praxis {NUMBER} text {sms.text}" in kannel.received(), "the SMS at fakesmsc")
        wait_until(
            lambda: DeliveryReport.objects.filter(attempt=attempt).count() == 2,
            "Kannel's two reports (SMSC ACK, delivered) at the live server",
        )

    reports = set(DeliveryReport.objects.filter(attempt=attempt).values_list("status", "provider_status"))
    assert reports == {("sent", "8"), ("delivered", "1")}
    assert OutboundMessage.objects.get(pk=attempt.message.pk).status == MessageStatus.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_a_forged_report_through_the_real_kannel_url_shape_changes_nothing(kannel, live_server):
    attempt = sent_attempt()
    forged = {"ref": str(attempt.id), "ts": str(int(time.time())), "sig": "0" * 64, "type": "1"}
    url = f"{live_server.url}/hooks/kannel/dlr/?{urllib.parse.urlencode(forged)}"
    with configure(kannel, live_server.url), pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=5)

    assert caught.value.code == 400
    assert OutboundMessage.objects.get(pk=attempt.message.pk).status == MessageStatus.SENT
    assert not DeliveryReport.objects.exists()


def test_a_text_outside_gsm7_arrives_as_ucs2(kannel):
    text = "Termin 🙂 – Ελλάδα"
    with configure(kannel, "http://127.0.0.1:9"):  # reports go nowhere: the SMS is what we look at
        KannelGateway().send(OutboundSms(reference="ucs2-check", to_e164=NUMBER, text=text))

    def arrived() -> bool:
        lines = [line.split(" ", 3) for line in kannel.received()]
        return any(kind == "ucs-2" and ucs2_text(data) == text for _, _, kind, data in lines)

    wait_until(arrived, "the UCS-2 SMS at fakesmsc")


def test_a_wrong_password_is_an_authentication_failure(kannel):
    with (
        configure(kannel, "http://127.0.0.1:9", KANNEL_PASSWORD="wrong"),
        pytest.raises(errors.AuthenticationFailed) as caught,
    ):
        KannelGateway().send(OutboundSms(reference="auth-check", to_e164=NUMBER, text="Hallo"))

    assert (caught.value.http_status, caught.value.permanent) == (403, True)
    assert "ALPHASMS_KANNEL_USERNAME" in caught.value.user_message


def test_without_a_sender_kannel_asks_for_one(kannel):
    with (
        configure(kannel, "http://127.0.0.1:9", SMS_SENDER_ID=""),
        pytest.raises(errors.SenderNotAllowed) as caught,
    ):
        KannelGateway().send(OutboundSms(reference="sender-check", to_e164=NUMBER, text="Hallo"))

    assert caught.value.http_status == 400


def test_while_the_smsc_is_down_kannel_queues_and_delivers_later(kannel_without_smsc):
    kannel = kannel_without_smsc
    with configure(kannel, "http://127.0.0.1:9"):
        result = KannelGateway().send(OutboundSms(reference="queued", to_e164=NUMBER, text="Spaeter"))

    assert result.status == DeliveryStatus.QUEUED
    kannel.start_fakesmsc()
    wait_until(lambda: f"Praxis {NUMBER} text Spaeter" in kannel.received(), "the queued SMS at fakesmsc")
