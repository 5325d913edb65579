"""A real HTTP peer for gateway tests: canned answers over real sockets, every request recorded (STYLE §6).

``FakeHttpServer`` runs the standard library's ``ThreadingHTTPServer`` on ``127.0.0.1`` port 0 in a daemon
thread. Tests queue ``CannedResponse`` objects (status, headers, body, optional ``delay_s``), point the
gateway's base-URL setting at ``server.url`` and afterwards decode ``server.requests`` the way the provider
would (form or JSON body, auth headers). Nothing is mocked: encoding, headers, timeouts and socket errors
are exercised for real.

A request that arrives with no canned answer queued gets HTTP 500 with an explanatory body and is counted
in ``unanswered``; the ``fake_http`` pytest fixture fails the test on teardown if that happened, so a
forgotten ``enqueue`` never passes silently.

Usage::

    with FakeHttpServer() as server:
        server.enqueue(CannedResponse.json({"success": "100"}))
        ...  # call the gateway with base URL server.url
        assert server.requests[0].form()["to"] == ["+4915112345678"]
"""

from __future__ import annotations

import dataclasses
import json
import threading
import urllib.parse
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CannedResponse", "FakeHttpServer", "RecordedRequest", "fake_http"]


@dataclass(frozen=True)
class CannedResponse:
    """One queued answer: HTTP ``status``, ``headers``, raw ``body`` bytes, sent after ``delay_s`` seconds."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0

    @classmethod
    def json(
        cls, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None, delay_s: float = 0.0
    ) -> CannedResponse:
        """An answer whose body is ``payload`` encoded as JSON (``Content-Type: application/json``)."""
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        return cls(status, all_headers, json.dumps(payload).encode("utf-8"), delay_s)

    @classmethod
    def from_fixture(cls, path: Path, **overrides: Any) -> CannedResponse:
        """Load a fixture file: a JSON object with ``source`` and ``read_on`` (provenance), ``status``,
        optional ``headers``, and either ``body`` (any JSON value, re-encoded) or ``body_text`` (sent as is).
        ``overrides`` replace fields (e.g. ``status=400`` to reuse a documented body at another status)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if "body_text" in data:
            headers = {"Content-Type": "text/plain; charset=utf-8", **data.get("headers", {})}
            canned = cls(data.get("status", 200), headers, data["body_text"].encode("utf-8"))
        else:
            canned = cls.json(data["body"], data.get("status", 200), data.get("headers"))
        return dataclasses.replace(canned, **overrides)


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the server received it: method, path (with query), headers (lower-case names), body."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def form(self) -> dict[str, list[str]]:
        """The body decoded as ``application/x-www-form-urlencoded``, the way a PHP or Node server would."""
        return urllib.parse.parse_qs(self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string of ``path``, decoded."""
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)


class FakeHttpServer:
    """A loopback HTTP server answering from a queue. Thread-safe; start/stop or use as a context manager."""

    def __init__(self) -> None:
        self._queue: deque[CannedResponse] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self.unanswered = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._serve, name="fake-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def enqueue(self, *responses: CannedResponse) -> None:
        """Queue answers; each request takes the next one in order."""
        with self._lock:
            self._queue.extend(responses)

    def start(self) -> FakeHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; handlers still sleeping on ``delay_s`` wake up and give up."""
        self._stopping.set()
        if self._thread.is_alive():  # shutdown() would wait forever for a loop that never ran
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> FakeHttpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self) -> None:
        self._httpd.serve_forever(poll_interval=0.02)  # shutdown() waits up to one poll interval

    def _next(self, recorded: RecordedRequest) -> CannedResponse | None:
        with self._lock:
            self.requests.append(recorded)
            if self._queue:
                return self._queue.popleft()
            self.unanswered += 1
            return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                canned = server._next(RecordedRequest(self.command, self.path, headers, body))
                if canned is None:
                    canned = CannedResponse(500, {}, b"fake_http: no canned response queued")
                if canned.delay_s and server._stopping.wait(canned.delay_s):
                    return  # the server is stopping: drop the connection unanswered
                try:
                    self.send_response(canned.status)
                    for name, value in canned.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(canned.body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(canned.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test): nothing to answer

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean; requests are recorded instead

        return Handler


@pytest.fixture
def fake_http() -> Iterator[FakeHttpServer]:
    """A started ``FakeHttpServer``; fails the test if a request arrived with no canned answer queued."""
    server = FakeHttpServer().start()
    try:
        yield server
    finally:
        server.stop()
    assert server.unanswered == 0, f"{server.unanswered} request(s) reached fake_http with no canned answer"
