"""Run ``smsc.js`` (an SMSC on npm ``smpp`` 0.5.1) as a real SMPP peer on 127.0.0.1 for the tests.

The Node process prints one JSON event per line (bind, each ``submit_sm`` with its raw bytes, enquire_link,
deliver_sm_resp, …); ``FakeSmsc`` collects them in ``events`` and waits for them. Commands go to its stdin
(``command(cmd="release_receipts")``). It exits when stdin closes, so it never outlives the test process.
Node and the npm package come from ``npm ci --prefix tests/node``; when missing, ``SmscNotInstalled`` says so:
the tests never skip silently.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from alphasms.testing.prism import INSTALL_HINT, NODE_DIR

SCRIPT = Path(__file__).with_name("smsc.js")


class SmscNotInstalled(RuntimeError):
    """Node.js or the npm ``smpp`` package is missing; the message says how to install them."""


class FakeSmsc:
    """A running ``smsc.js``; ``config`` as documented at the top of that script."""

    def __init__(self, **config: Any) -> None:
        node = shutil.which("node")
        modules = NODE_DIR / "node_modules"
        if node is None or not (modules / "smpp").is_dir():
            raise SmscNotInstalled(f"the SMPP test peer needs Node.js and npm `smpp`: {INSTALL_HINT}")
        self.config = config
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [node, str(SCRIPT), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, "NODE_PATH": str(modules)},
        )
        threading.Thread(target=self._read, name="smsc-stdout", daemon=True).start()
        self.port = int(self.wait_for("listening")[0]["port"])

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._cond:
                self.events.append(json.loads(line))
                self._cond.notify_all()

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The events named ``kind`` so far, in order."""
        with self._cond:
            return [e for e in self.events if e["event"] == kind]

    def wait_for(self, kind: str, count: int = 1, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``count`` events named ``kind`` arrived; AssertionError with the log after timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(found := [e for e in self.events if e["event"] == kind]) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"{len(found)}/{count} {kind} events; log: {self.log()}")
                self._cond.wait(min(remaining, 0.1))
            return found

    def command(self, **message: Any) -> None:
        """Send one command (``cmd=…``) to the SMSC."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def log(self) -> str:
        self._stderr.seek(0)
        return f"events={self.events!r} stderr={self._stderr.read().decode(errors='replace')!r}"

    def stop(self) -> None:
        """Close stdin (the script exits), wait, kill if it hangs."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._stderr.close()

    def __enter__(self) -> FakeSmsc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
