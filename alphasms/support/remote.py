"""Remote maintenance: start RustDesk on the user's action, attended, and log start and end (issue 7,
part 6).

Rules (BSI IT-Grundschutz OPS.1.2.5.A2: remote maintenance only after the user's explicit consent, no
unattended access; reference "reliability-security-privacy" §0 item 12 and §5.3):

* Only a user's action starts it (the CLI command or the settings page's button); nothing else does.
* RustDesk starts without arguments: its own window shows the ID and the one-time (temporary) password,
  which the user reads to the supporter. AlphaSMS never reads, stores or logs them (RustDesk's output
  goes to the null device), and never sets a permanent password (RustDesk's ``--password``).
* Start and end (with the duration in seconds) go to the privacy audit log, ids only.
* When RustDesk is missing, the user is told where to get it (https://rustdesk.com/download) and how to
  name a portable copy (``ALPHASMS_RUSTDESK_PATH``).

Which client (first match): ``ALPHASMS_RUSTDESK_PATH`` (a portable copy, e.g. RustDesk's Windows
quick-support ``…qs.exe``); ``rustdesk`` on the ``PATH``; the usual install locations
(:data:`INSTALL_LOCATIONS`).

The vendor's own RustDesk server (so connection metadata does not pass RustDesk's public servers):
``ALPHASMS_RUSTDESK_ID_SERVER`` (hbbs, ``host`` or ``host:21116``) with ``ALPHASMS_RUSTDESK_KEY`` (the
server's public key; RustDesk needs both) and optionally ``ALPHASMS_RUSTDESK_RELAY_SERVER`` (hbbr). RustDesk
has no per-start option for this that works without installation and administrator rights: its
``--config`` writes the setting permanently and needs both (``src/core_main.rs``). What works per start
is documented for Windows only: a copy of the executable named ``rustdesk-host=<host>,key=<key>,.exe``
(RustDesk docs, "Client Configuration" → "Put config in rustdesk.exe file name"; parsed by
``src/custom_server.rs``). So, for a portable client on Windows, AlphaSMS starts such a copy kept in the
data directory. Everywhere else the client keeps the server it is configured with and the result says how
an administrator points it at the vendor's server once: ``rustdesk --config <string>`` or RustDesk →
Settings → Network → "Import Server Config" with :func:`config_string`'s text (it holds public values
only). The relay is not put into the file name (the docs name host and key only; the ID server hands
out its relay, hbbs ``-r``); it is part of the config string.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone

from alphasms.cli_text import t
from alphasms.privacy.audit import audit
from alphasms.privacy.models import AuditAction

__all__ = [
    "DOWNLOAD_URL",
    "INSTALL_LOCATIONS",
    "RemoteProblem",
    "RemoteSession",
    "RemoteSessionResult",
    "RustDeskClient",
    "RustDeskMissing",
    "RustDeskServer",
    "config_string",
    "find_rustdesk",
    "launch_plan",
    "start_remote_session",
    "vendor_rustdesk_server",
]

DOWNLOAD_URL = "https://rustdesk.com/download"
#: Where RustDesk's installers put the executable, per ``sys.platform`` prefix.
INSTALL_LOCATIONS: dict[str, tuple[str, ...]] = {
    "win32": (r"C:\Program Files\RustDesk\rustdesk.exe",),
    "darwin": ("/Applications/RustDesk.app/Contents/MacOS/RustDesk",),
    "linux": ("/usr/bin/rustdesk",),
}
#: Seconds RustDesk gets to close after Ctrl-C or :meth:`RemoteSession.stop` before it is killed.
STOP_GRACE_S = 5.0
_OBJECT_TYPE = "remote_session"


class RemoteProblem(Exception):
    """Remote maintenance cannot start. ``user_message`` is one sentence naming the setting and the
    fix; ``exit_code`` 2 = configuration/usage (nothing started), 1 = the start itself failed."""

    exit_code = 2

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class RustDeskMissing(RemoteProblem):
    """No RustDesk client found (exit 2): says where to get it and how to name a portable copy."""


class RustDeskStartFailed(RemoteProblem):
    """The operating system refused to start the client (exit 1)."""

    exit_code = 1


def _setting(name: str) -> str:
    """``ALPHASMS[name]`` (tests), else the environment variable ``ALPHASMS_<name>`` (or its ``_FILE``)."""
    value = settings.ALPHASMS.get(name)
    if value not in (None, ""):
        return str(value).strip()
    from alphasms.project.settings import env

    return env(f"ALPHASMS_{name}").strip()


@dataclass(frozen=True)
class RustDeskClient:
    """The RustDesk executable to start; ``portable`` when it came from ``ALPHASMS_RUSTDESK_PATH``."""

    path: Path
    portable: bool


@dataclass(frozen=True)
class RustDeskServer:
    """The vendor's own RustDesk server: ID server (hbbs) ``host``, its public ``key``, optional
    ``relay`` (hbbr). Public values, not secrets."""

    host: str
    key: str
    relay: str = ""


def find_rustdesk(platform: str | None = None) -> RustDeskClient:
    """The RustDesk client to start: ``ALPHASMS_RUSTDESK_PATH``, else ``rustdesk`` on the PATH, else the
    install location for ``platform`` (default ``sys.platform``).

    Raises :class:`RemoteProblem` when the configured path is not an executable file, and
    :class:`RustDeskMissing` (with the download address) when none is found."""
    configured = _setting("RUSTDESK_PATH")
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise RemoteProblem(
                t(
                    f"ALPHASMS_RUSTDESK_PATH {configured!r}: dort ist keine Datei – den Pfad der "
                    f"portablen RustDesk-Datei angeben (Download: {DOWNLOAD_URL}).",
                    f"ALPHASMS_RUSTDESK_PATH {configured!r}: there is no file there – give the path of the "
                    f"portable RustDesk file (download: {DOWNLOAD_URL}).",
                )
            )
        return RustDeskClient(path, portable=True)
    found = shutil.which("rustdesk")
    if found:
        return RustDeskClient(Path(found), portable=False)
    platform = platform or sys.platform
    for prefix, locations in INSTALL_LOCATIONS.items():
        if platform.startswith(prefix):
            for location in locations:
                if Path(location).is_file():
                    return RustDeskClient(Path(location), portable=False)
    raise RustDeskMissing(
        t(
            f"RustDesk ist auf diesem Rechner nicht zu finden. Bitte von {DOWNLOAD_URL} installieren "
            "oder eine portable RustDesk-Datei ablegen und ihren Pfad in der Einstellung "
            "ALPHASMS_RUSTDESK_PATH angeben; danach „alphasms support remote“ erneut aufrufen.",
            f"RustDesk is not found on this computer. Install it from {DOWNLOAD_URL}, or keep a "
            "portable RustDesk file and give its path in the setting ALPHASMS_RUSTDESK_PATH; then run "
            "'alphasms support remote' again.",
        )
    )


def vendor_rustdesk_server() -> RustDeskServer | None:
    """The vendor's RustDesk server from ``ALPHASMS_RUSTDESK_ID_SERVER``, ``…_KEY`` and
    ``…_RELAY_SERVER``; None when none of them is set. Raises :class:`RemoteProblem` when only some are
    set (RustDesk needs ID server and key together)."""
    host, key, relay = (
        _setting("RUSTDESK_ID_SERVER"),
        _setting("RUSTDESK_KEY"),
        _setting("RUSTDESK_RELAY_SERVER"),
    )
    if not (host or key or relay):
        return None
    if not host or not key:
        missing = "ALPHASMS_RUSTDESK_ID_SERVER" if not host else "ALPHASMS_RUSTDESK_KEY"
        raise RemoteProblem(
            t(
                f"{missing} fehlt: RustDesk braucht für einen eigenen Server ID-Server und Schlüssel "
                "zusammen – beide setzen oder alle ALPHASMS_RUSTDESK_…-Servereinstellungen entfernen.",
                f"{missing} is missing: for its own server RustDesk needs ID server and key together – "
                "set both or remove all ALPHASMS_RUSTDESK_… server settings.",
            )
        )
    return RustDeskServer(host=host, key=key, relay=relay)


def config_string(server: RustDeskServer) -> str:
    """RustDesk's server configuration string: the JSON ``{"host", "key", "relay", "api"}`` in
    base64url without padding, reversed — what ``rustdesk --config`` and "Import Server Config" read
    (RustDesk docs "Client Configuration" → "Automatic Config"; ``src/custom_server.rs``)."""
    document = {"host": server.host, "key": server.key, "relay": server.relay, "api": ""}
    encoded = base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode("utf-8"))
    return encoded.rstrip(b"=").decode("ascii")[::-1]


_WINDOWS_FORBIDDEN = set('<>:"/\\|?*')


@dataclass(frozen=True)
class LaunchPlan:
    """How RustDesk is started: ``argv``; whether the vendor's server is applied for this start
    (``vendor_server_applied``); ``note``: a sentence for staff when a vendor server is configured but
    could not be applied ("" otherwise)."""

    argv: list[str]
    vendor_server_applied: bool
    note: str = ""


def launch_plan(
    client: RustDeskClient, server: RustDeskServer | None, platform: str | None = None
) -> LaunchPlan:
    """The command line for ``client`` (no arguments: RustDesk's own window with ID and one-time
    password). With a vendor ``server`` and a portable client on Windows: a copy in
    ``<data dir>/rustdesk/`` named ``rustdesk-host=<host>,key=<key>,.exe`` (made or refreshed here).
    Raises :class:`RemoteProblem` when the key holds characters a Windows file name cannot."""
    platform = platform or sys.platform
    if server is None:
        return LaunchPlan([str(client.path)], vendor_server_applied=False)
    if client.portable and platform.startswith("win"):
        if set(server.host + server.key) & _WINDOWS_FORBIDDEN:
            raise RemoteProblem(
                t(
                    "ALPHASMS_RUSTDESK_KEY/ID_SERVER enthält Zeichen, die in einem Windows-Dateinamen nicht "
                    "vorkommen dürfen (z. B. „/“); RustDesk liest den Server hier aus dem Dateinamen – "
                    "beim Hersteller einen Schlüssel ohne solche Zeichen erzeugen lassen.",
                    "ALPHASMS_RUSTDESK_KEY/ID_SERVER contains characters a Windows file name cannot hold "
                    "(e.g. '/'); RustDesk reads the server from the file name here – have the vendor "
                    "generate a key without them.",
                )
            )
        folder = Path(settings.DATA_DIR) / "rustdesk"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"rustdesk-host={server.host},key={server.key},.exe"
        source = client.path.stat()
        if (
            not target.exists()
            or target.stat().st_size != source.st_size
            or target.stat().st_mtime < source.st_mtime
        ):
            shutil.copy2(client.path, target)
        return LaunchPlan([str(target)], vendor_server_applied=True)
    note = t(
        "Hinweis: Dieses RustDesk nutzt den in ihm eingestellten Server. Für den Server des Herstellers "
        "einmalig als Administrator „rustdesk --config "
        f"{config_string(server)}“ ausführen oder den Text in RustDesk unter Einstellungen → Netzwerk → "
        "„Serverkonfiguration importieren“ einfügen.",
        "Note: this RustDesk uses the server configured in it. For the vendor's server, run once as "
        f"administrator 'rustdesk --config {config_string(server)}' or paste the text in RustDesk under "
        "Settings → Network → 'Import Server Config'.",
    )
    return LaunchPlan([str(client.path)], vendor_server_applied=False, note=note)


@dataclass(frozen=True)
class RemoteSessionResult:
    """A finished session: ``session_id`` (the audit entries' object id), ``started_at``/``ended_at``
    (UTC), ``duration_s`` (seconds), RustDesk's ``exit_code`` (negative: ended by a signal)."""

    session_id: str
    started_at: dt.datetime
    ended_at: dt.datetime
    duration_s: float
    exit_code: int


class RemoteSession:
    """A running RustDesk started by :func:`start_remote_session`. A watcher thread waits for it to end
    and writes the "ended" audit entry, so a session started from a web request is logged too.

    ``wait(timeout_s)`` returns the :class:`RemoteSessionResult` once the end is logged (None on
    timeout); ``stop()`` asks RustDesk to close (terminate, then kill after :data:`STOP_GRACE_S`)."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        session_id: str,
        started_at: dt.datetime,
        actor: str,
        plan: LaunchPlan,
        client: RustDeskClient,
    ) -> None:
        self.process = process
        self.session_id = session_id
        self.started_at = started_at
        self.actor = actor
        self.plan = plan
        self.client = client
        self._result: RemoteSessionResult | None = None
        self._done = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name=f"rustdesk-{session_id}", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        try:
            exit_code = self.process.wait()
            ended_at = timezone.now()
            duration_s = round((ended_at - self.started_at).total_seconds(), 1)
            audit(
                self.actor,
                AuditAction.REMOTE,
                _OBJECT_TYPE,
                self.session_id,
                f"remote maintenance ended duration_s={duration_s} exit_code={exit_code}",
            )
            self._result = RemoteSessionResult(
                self.session_id, self.started_at, ended_at, duration_s, exit_code
            )
        finally:
            connections.close_all()  # this thread's connections only
            self._done.set()

    def wait(self, timeout_s: float | None = None) -> RemoteSessionResult | None:
        """Block until RustDesk has ended and the end is logged; None when ``timeout_s`` passed first."""
        self._done.wait(timeout_s)
        return self._result

    def stop(self) -> None:
        """Close RustDesk: terminate, and kill it if it is still running after :data:`STOP_GRACE_S`."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_remote_session(actor: str = "cli", platform: str | None = None) -> RemoteSession:
    """Start RustDesk for an attended remote maintenance session (the settings page's button and
    ``alphasms support remote``); returns at once with the running :class:`RemoteSession`.

    Finds the client (:func:`find_rustdesk`), applies the vendor's server where RustDesk allows it
    (:func:`launch_plan`), starts it without arguments and with its output discarded (AlphaSMS never
    reads the ID or password), and writes "remote maintenance started" to the audit log (action
    ``remote``, object ``remote_session`` <id>); the session writes "ended" with the duration when
    RustDesk exits. Raises :class:`RustDeskMissing` / :class:`RemoteProblem` (exit 2, nothing started)
    or :class:`RustDeskStartFailed` (exit 1)."""
    client = find_rustdesk(platform)
    plan = launch_plan(client, vendor_rustdesk_server(), platform)
    try:
        process = subprocess.Popen(
            plan.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    except OSError as exc:
        raise RustDeskStartFailed(
            t(
                f"RustDesk ({client.path}) ließ sich nicht starten: {exc.strerror or exc} – die Datei "
                f"prüfen oder RustDesk neu installieren ({DOWNLOAD_URL}).",
                f"RustDesk ({client.path}) could not be started: {exc.strerror or exc} – check the file "
                f"or reinstall RustDesk ({DOWNLOAD_URL}).",
            )
        ) from exc
    session_id = uuid.uuid4().hex[:12]
    started_at = timezone.now()
    audit(
        actor,
        AuditAction.REMOTE,
        _OBJECT_TYPE,
        session_id,
        "remote maintenance started client={} vendor_server={}".format(
            "portable" if client.portable else "installed", "yes" if plan.vendor_server_applied else "no"
        ),
    )
    return RemoteSession(process, session_id, started_at, actor, plan, client)
