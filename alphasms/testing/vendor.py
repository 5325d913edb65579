"""The vendor's server as a real peer for tests: ``python -m alphasms vendor-server`` in a subprocess.

The vendor server has its own Django settings, so it cannot run inside the test process; this module
starts it on ``127.0.0.1`` port 0 with a fresh data directory (its SQLite database, keys and received
support backups; on PostgreSQL runs — ``DATABASE_URL`` set to ``postgres://…`` — a fresh database of
its own instead of the SQLite file), waits until it serves, and stops it on teardown.

Fixtures (registered in the root ``conftest.py``):

* ``vendor_server`` → :class:`VendorServer` with ``.url``, ``.data_dir``, ``.public_key_text``,
  ``.age_recipient``, ``.run_cli(*args)``, ``.connection_count()``, ``.update_checks()`` and helpers
  (``issue_licence``, ``publish_manifest``, ``open_case`` → upload token, ``cases``, ``case_path``).
* ``vendor_server_factory`` → ``start(**env)`` for a server with extra settings, e.g.
  ``start(ALPHASMS_VENDOR_SUPPORT_RETENTION_DAYS="0")``.

Client-side tests point ``ALPHASMS["VENDOR_URL"]``, ``["VENDOR_SIGNING_PUBLIC_KEY"]`` and
``["VENDOR_AGE_RECIPIENT"]`` at ``.url``, ``.public_key_text`` and ``.age_recipient``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["VendorServer", "start_vendor_server", "vendor_server", "vendor_server_factory"]

_REPO_ROOT = Path(__file__).resolve().parents[2]
_START_TIMEOUT_S = 60.0


@dataclass
class VendorServer:
    """A running vendor server (subprocess) and the means to inspect it."""

    url: str
    data_dir: Path
    env: dict[str, str]
    public_key_text: str = ""
    age_recipient: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def run_cli(
        self, *args: str, env: Mapping[str, str] | None = None, timeout_s: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -m alphasms vendor ARGS…`` against this server's data and database (``env``
        adds or overrides settings for this call only). Returns the completed process (text output);
        does not raise on a non-zero exit code."""
        return subprocess.run(
            [sys.executable, "-m", "alphasms", "vendor", *args],
            env={**self.env, **(env or {})},
            cwd=_REPO_ROOT,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout_s,
            check=False,
        )

    def run_json(self, *args: str, env: Mapping[str, str] | None = None) -> Any:
        """``run_cli(*args, "--json")`` decoded; AssertionError with stderr if it exited non-zero."""
        done = self.run_cli(*args, "--json", env=env)
        assert done.returncode == 0, (
            f"alphasms vendor {' '.join(args)} exited {done.returncode}: {done.stderr}"
        )
        return json.loads(done.stdout)

    def connection_count(self) -> int:
        """TCP connections the server accepted so far (it counts them into ``connections.count``)."""
        return int((self.data_dir / "connections.count").read_text(encoding="utf-8").strip() or 0)

    def update_checks(self) -> list[dict[str, Any]]:
        """The recorded update checks, oldest first: ``checked_at``, ``licence_number``,
        ``registration_name``, ``client_version``, ``os``, ``client_ip``."""
        result: list[dict[str, Any]] = self.run_json("checks", "list")
        return result

    def issue_licence(
        self, name: str, edition: str = "praxis", locations: int = 1, expires: str = "2099-12-31"
    ) -> str:
        """Issue a licence number for ``name`` (``alphasms vendor licence issue``) and return it."""
        result = self.run_json(
            "licence", "issue", "--name", name, "--edition", edition,
            "--locations", str(locations), "--expires", expires,
        )  # fmt: skip
        return str(result["licence_number"])

    def publish_manifest(
        self,
        version: str = "0.2.0",
        notes: str = "",
        url: str = "https://download.alphasms.de/alphasms-0.2.0.tar.gz",
        sha256: str = "0" * 64,
        expires_in_days: int = 30,
        counter: int | None = None,
    ) -> dict[str, Any]:
        """Publish a manifest (``alphasms vendor manifest publish``); returns the signed envelope."""
        args = ["manifest", "publish", "--version", version, "--notes", notes, "--url", url]
        args += ["--sha256", sha256, "--expires-in", str(expires_in_days)]
        if counter is not None:
            args += ["--counter", str(counter)]
        envelope: dict[str, Any] = self.run_json(*args)
        return envelope

    def open_case(self, case: str) -> str:
        """Open ``case`` (``alphasms vendor case open``) and return its upload token, which uploads and
        receipt requests must carry in ``X-AlphaSMS-Case-Token``."""
        result = self.run_json("case", "open", case)
        return str(result["token"])

    def cases(self) -> list[dict[str, Any]]:
        """The support cases (``alphasms vendor cases list``), each with ``path`` of its file."""
        result: list[dict[str, Any]] = self.run_json("cases", "list")
        return result

    def case_path(self, case: str) -> Path:
        """Where ``case``'s encrypted backup lies (or lay) on the vendor's disk."""
        for row in self.cases():
            if row["case"] == case:
                return Path(row["path"])
        raise KeyError(f"no support case {case!r} on the vendor server")

    def log(self) -> str:
        """What the server wrote to stdout/stderr so far."""
        return (self.data_dir / "server.log").read_text(encoding="utf-8", errors="replace")


def _fresh_postgres_database(base_url: str) -> tuple[str, Any]:
    """A new empty PostgreSQL database next to ``base_url``'s; returns (its URL, a drop callback)."""
    import psycopg

    name = f"alphasms_vendor_{secrets.token_hex(6)}"
    parts = urllib.parse.urlsplit(base_url)
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return parts._replace(path=f"/{name}").geturl(), drop


@contextlib.contextmanager
def start_vendor_server(data_dir: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[VendorServer]:
    """Run a vendor server with its data in ``data_dir`` until the block ends (then SIGTERM, and kill
    after 15 s). ``extra_env`` adds settings (``ALPHASMS_VENDOR_…``). Raises RuntimeError with the
    server's output when it does not come up within 60 s."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        ALPHASMS_VENDOR_DATA_DIR=str(data_dir),
        ALPHASMS_VENDOR_COUNT_CONNECTIONS="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(_REPO_ROOT), env.get("PYTHONPATH", "")) if p),
    )
    drop_database = None
    if env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        env["ALPHASMS_VENDOR_DATABASE_URL"], drop_database = _fresh_postgres_database(env["DATABASE_URL"])
    env.update(extra_env or {})
    ready_file = data_dir / "ready.port"
    log_handle = (data_dir / "server.log").open("wb")
    command = [sys.executable, "-m", "alphasms", "vendor-server", "--host", "127.0.0.1", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--ready-file", str(ready_file)],
        env=env,
        cwd=_REPO_ROOT,
        stdout=log_handle,
        stderr=subprocess.STDOUT,
    )
    try:
        port = _wait_for_port(process, ready_file, data_dir)
        server = VendorServer(url=f"http://127.0.0.1:{port}", data_dir=data_dir, env=env, process=process)
        keys = server.run_json("keys", "show")
        server.public_key_text, server.age_recipient = keys["signing_public_key"], keys["age_recipient"]
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_handle.close()
        if drop_database is not None:
            drop_database()


def _wait_for_port(process: subprocess.Popen[bytes], ready_file: Path, data_dir: Path) -> int:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if ready_file.exists():
            return int(ready_file.read_text(encoding="utf-8").strip())
        if process.poll() is not None:
            break
        time.sleep(0.05)
    log = (data_dir / "server.log").read_text(encoding="utf-8", errors="replace")
    raise RuntimeError(f"vendor server did not start (exit {process.poll()}):\n{log}")


@pytest.fixture
def vendor_server_factory() -> Iterator[Any]:
    """``start(**env) -> VendorServer``: vendor servers with extra settings, each with its own data
    directory, all stopped at teardown."""
    with contextlib.ExitStack() as stack:

        def start(**extra_env: str) -> VendorServer:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="alphasms-vendor-")))
            return stack.enter_context(start_vendor_server(data_dir, extra_env))

        yield start


@pytest.fixture
def vendor_server(vendor_server_factory: Any) -> VendorServer:
    """A running vendor server with default settings and fresh data (see the module docstring)."""
    server: VendorServer = vendor_server_factory()
    return server
