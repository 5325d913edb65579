"""Run Stoplight Prism as a real mock peer built from a provider's published OpenAPI spec (STYLE §6).

Prism validates every request against the spec (body schema, content type, security) and answers 422/400/401
with a ``validation`` list when a request breaks the contract, so a gateway test against it proves our
request matches the provider's own description, not our reading of it.

Prism is an npm package pinned in ``tests/node/package.json`` / ``package-lock.json`` (5.14.2: the last
release that runs on Node 20; 5.16 needs Node >= 24). Install it with ``npm ci --prefix tests/node``; the
``node_modules`` folder is git-ignored. When it is missing, ``start_prism`` raises ``PrismNotInstalled``
telling exactly that: tests never skip silently. ``ALPHASMS_PRISM_BIN`` may point at another executable.

Usage::

    with prism_mock(SPEC, "--dynamic", "--seed", "alphasms") as prism:
        ...  # point the gateway's base URL at prism.url
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["PrismNotInstalled", "PrismServer", "prism_bin", "prism_mock", "start_prism"]

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = REPO_ROOT / "tests" / "node"
INSTALL_HINT = (
    f"run `npm ci --prefix {NODE_DIR.relative_to(REPO_ROOT)}` in {REPO_ROOT} (needs Node.js >= 18.20)"
)


class PrismNotInstalled(RuntimeError):
    """The Prism executable (or Node.js) is missing; the message says how to install it."""


@dataclass
class PrismServer:
    """A running ``prism mock``: ``url`` is its base URL (``http://127.0.0.1:<port>``)."""

    process: subprocess.Popen[bytes]
    port: int
    log: IO[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        """What Prism printed so far (its request log and any validation messages)."""
        self.log.flush()
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop Prism and its children (it runs in its own process group on POSIX)."""
        if self.process.poll() is None:
            if os.name == "posix":
                os.killpg(self.process.pid, signal.SIGTERM)
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                if os.name == "posix":
                    os.killpg(self.process.pid, signal.SIGKILL)
                else:
                    self.process.kill()
                self.process.wait(timeout=timeout_s)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def prism_bin() -> Path:
    """Path of the ``prism`` executable; raises PrismNotInstalled (with the install command) if absent."""
    configured = os.environ.get("ALPHASMS_PRISM_BIN")
    candidate = Path(configured) if configured else NODE_DIR / "node_modules" / ".bin" / _exe("prism")
    if not candidate.exists():
        raise PrismNotInstalled(f"Stoplight Prism not found at {candidate}: {INSTALL_HINT}")
    if shutil.which("node") is None:
        raise PrismNotInstalled(f"Node.js (`node`) is not on PATH; install it, then {INSTALL_HINT}")
    return candidate


def _exe(name: str) -> str:
    return f"{name}.cmd" if os.name == "nt" else name


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_prism(spec: Path, *extra_args: str, startup_timeout_s: float = 60.0) -> PrismServer:
    """Start ``prism mock -h 127.0.0.1 -p PORT --errors [extra_args] SPEC`` and wait until it listens.

    ``--errors`` makes Prism answer with an error whenever the request *or its own generated response*
    violates the spec. Raises PrismNotInstalled when Prism or Node.js is missing, RuntimeError (with
    Prism's output) when it exits or does not listen within ``startup_timeout_s`` seconds.
    Side effects: one child process on a free loopback port, a temporary log file.
    """
    port = _free_port()
    cmd = [str(prism_bin()), "mock", "-h", "127.0.0.1", "-p", str(port), "--errors", *extra_args, str(spec)]
    log = tempfile.NamedTemporaryFile(prefix="prism-", suffix=".log", delete=False)
    process = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=os.name == "posix",
    )
    server = PrismServer(process, port, log)
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = server.log_text()
            server.stop()
            raise RuntimeError(f"prism exited with {process.returncode} before listening:\n{output[-2000:]}")
        if _listening(port):
            return server
        time.sleep(0.05)
    output = server.log_text()
    server.stop()
    raise RuntimeError(f"prism did not listen on port {port} within {startup_timeout_s} s:\n{output[-2000:]}")


@contextmanager
def prism_mock(spec: Path, *extra_args: str, startup_timeout_s: float = 60.0) -> Iterator[PrismServer]:
    """``start_prism`` as a context manager that always stops Prism."""
    server = start_prism(spec, *extra_args, startup_timeout_s=startup_timeout_s)
    try:
        yield server
    finally:
        server.stop()
