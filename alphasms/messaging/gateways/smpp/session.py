"""One long-lived SMPP 3.4 session per SMSC account and process: a thread owns the socket.

The thread connects, binds as transceiver, reads every PDU, answers ``enquire_link``, sends its own
``enquire_link`` when the link is idle, hands ``deliver_sm`` (receipts, MO) to a handler thread and
reconnects with exponential backoff when the link goes away. Any thread may call ``submit``: it waits
for a free slot of the window (max outstanding ``submit_sm``), for the throughput pacer, then for the
``submit_sm_resp`` of its own sequence number, at most ``timeout_s``.

Only PDU encoding comes from ``smpplib`` (``smpplib.smpp.make_pdu``/``parse_pdu``); its ``Client`` is
single-threaded, has no window and reads responses only while "listening", so it is not used.
Sources: SMPP v3.4 Issue 1.2 (https://smpp.org/SMPP_v3_4_Issue1_2.pdf, read 2026-11-30): §4.1 bind,
§4.2 unbind, §4.3 generic_nack, §4.4 submit_sm, §4.6 deliver_sm, §4.11 enquire_link; the window and
keep-alive practice in shared/reference/sms-providers.md §5.1.

Errors are protocol-level (``SessionError`` subclasses) and say whether the PDU left: ``NotBound`` and
``WindowFull`` mean nothing was sent; ``NoResponse`` and ``ConnectionLost`` mean it may have been. The
gateway maps them to ``errors.py`` classes.
"""

from __future__ import annotations

import atexit
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from smpplib import smpp  # type: ignore[import-untyped]

from alphasms.messaging.gateways.smpp.wire import (
    MalformedPdu,
    Pacer,
    Response,
    Sequence,
    read_pdu,
    shutdown,
    text,
)

log = logging.getLogger("alphasms.gateways.smpp")

ESME_ROK = 0x00
ESME_RSYSERR = 0x08
ESME_RINVCMDID = 0x03
_POLL_S = 0.2  # how often the reader looks at keep-alive and close requests
RECENT_S = 120.0  # how long a submitted message_id counts as "just sent"


@dataclass(frozen=True)
class SmppConfig:
    """Everything a session needs; sessions are shared per equal config. Units: seconds, PDUs/second."""

    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    system_type: str = ""
    window: int = 10
    throughput_per_s: float = 10.0
    timeout_s: float = 10.0
    enquire_link_s: float = 30.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0


class SessionError(Exception):
    """A protocol-level failure; ``sent`` says whether the PDU may have reached the SMSC."""

    sent = False

    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.status = status


class NotBound(SessionError):
    """No usable session: connection refused or lost, bind rejected (``status``), closed. Not sent."""


class WindowFull(SessionError):
    """Every window slot stayed busy for ``timeout_s``. Not sent."""


class NoResponse(SessionError):
    """The PDU left but no response came within ``timeout_s``."""

    sent = True


class ConnectionLost(SessionError):
    """The PDU left, then the connection closed before its response."""

    sent = True


class _Pending:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.response: Response | None = None


class SmppSession:
    """A bound transceiver session kept alive in a daemon thread; see the module docstring.

    ``on_deliver(pdu, session)`` runs in the handler thread for each ``deliver_sm`` and returns the
    ``command_status`` of our ``deliver_sm_resp`` (sent only after it returns, so a report is stored
    before the SMSC considers it delivered). ``reconnects`` counts links lost and re-established.
    """

    def __init__(self, config: SmppConfig, on_deliver: Callable[[Any, SmppSession], int]) -> None:
        self.config = config
        self.reconnects = 0
        self._on_deliver = on_deliver
        self._cond = threading.Condition()
        self._state = "idle"  # idle → connecting → bound | backoff → … → closed
        self._failure: NotBound | None = None
        self._sock: socket.socket | None = None
        self._write_lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._recent: dict[str, float] = {}
        self._sequence = Sequence()
        self._window = threading.BoundedSemaphore(config.window)
        self._pacer = Pacer(config.throughput_per_s)
        self._stop = threading.Event()
        self._closing = False  # close() began: the link's end is ours, not a failure
        self._thread: threading.Thread | None = None
        self._handler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smpp-deliver")

    # -- public ----------------------------------------------------------------------------------
    @property
    def bound(self) -> bool:
        return self._state == "bound"

    def start(self) -> None:
        """Start connecting in the background (no wait), so receipts and replies flow before a send."""
        with self._cond:
            if self._thread is None and self._state == "idle":
                self._state = "connecting"
                self._thread = threading.Thread(target=self._run, name="smpp-session", daemon=True)
                self._thread.start()

    def submit(self, **fields: Any) -> Response:
        """Send one ``submit_sm`` with ``fields`` (smpplib names) and return its response.

        Blocks for at most ~3 × ``timeout_s`` (connect, window slot, response). Raises NotBound or
        WindowFull (not sent), NoResponse or ConnectionLost (may have been sent).
        """
        self._await_bound()
        if not self._window.acquire(timeout=self.config.timeout_s):
            raise WindowFull(f"{self.config.window} submit_sm outstanding for {self.config.timeout_s} s")
        try:
            self._pacer.wait()
            response = self._request(smpp.make_pdu("submit_sm", client=self._sequence, **fields))
        finally:
            self._window.release()
        if response.message_id:
            with self._cond:
                self._forget_old_ids()
                self._recent[response.message_id] = time.monotonic()
        return response

    def recently_submitted(self, message_id: str) -> bool:
        """Whether ``message_id`` came back in a ``submit_sm_resp`` of this session in the last
        ``RECENT_S`` seconds (a receipt for it may arrive before the worker has recorded the parts)."""
        with self._cond:
            self._forget_old_ids()
            return message_id in self._recent

    def _forget_old_ids(self) -> None:
        now = time.monotonic()  # the dict is in insertion order, which is time order
        while self._recent and now - next(iter(self._recent.values())) > RECENT_S:
            del self._recent[next(iter(self._recent))]

    def close(self) -> None:
        """Unbind (waiting ~1 s for ``unbind_resp``), close the socket and stop both threads."""
        self._closing = True
        if self._state == "bound":
            try:
                self._request(smpp.make_pdu("unbind", client=self._sequence), timeout_s=1.0)
            except SessionError:
                pass  # the SMSC may drop the link instead of answering; we close it anyway
        self._stop.set()
        with self._cond:
            sock, thread = self._sock, self._thread
        if sock is not None:
            shutdown(sock)
        if thread is not None:
            thread.join(timeout=5)
        self._handler.shutdown(wait=True)
        with self._cond:
            self._state = "closed"
            self._cond.notify_all()

    # -- sending ---------------------------------------------------------------------------------
    def _await_bound(self) -> None:
        self.start()
        with self._cond:
            deadline = time.monotonic() + self.config.timeout_s
            while self._state == "connecting":
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NotBound(f"no bind within {self.config.timeout_s} s")
                self._cond.wait(remaining)
            if self._state == "bound":
                return
            raise self._failure or NotBound(f"session {self._state}")

    def _request(self, pdu: Any, timeout_s: float | None = None) -> Response:
        pending = _Pending()
        with self._cond:
            sock = self._sock
            if self._state != "bound" or sock is None:
                raise NotBound("connection lost before sending")
            self._pending[pdu.sequence] = pending
        try:
            self._write(sock, pdu.generate())
        except OSError as exc:
            # sendall failed part-way at most: an SMSC never acts on a PDU shorter than its command_length
            with self._cond:
                self._pending.pop(pdu.sequence, None)
            shutdown(sock)
            raise NotBound(f"write failed: {exc}") from exc
        wait_s = self.config.timeout_s if timeout_s is None else timeout_s
        if not pending.done.wait(wait_s):
            with self._cond:
                self._pending.pop(pdu.sequence, None)
            raise NoResponse(f"no {pdu.command}_resp within {wait_s} s")
        if pending.response is None:
            raise ConnectionLost(f"connection closed before the {pdu.command}_resp")
        return pending.response

    def _write(self, sock: socket.socket, data: bytes) -> None:
        with self._write_lock:
            sock.sendall(data)

    # -- the session thread ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._keep_bound()
        finally:  # also after a bug: a dead thread must not leave a "bound" session behind
            with self._cond:
                sock = self._sock
            if sock is not None:
                self._drop(sock)
            self._set_state("closed", NotBound("session closed"))

    def _keep_bound(self) -> None:
        """Connect, bind, read until the link ends; again after a backoff, until ``close()``."""
        delay = self.config.reconnect_min_s
        while not self._stop.is_set():
            self._set_state("connecting")
            try:
                sock = self._connect_and_bind()
            except NotBound as failure:
                self._set_state("backoff", failure)
                log.warning("smpp %s:%s bind failed (%s); retry in %.1f s", *self._where(), failure, delay)
            else:
                self._set_state("bound", sock=sock)
                started = time.monotonic()
                self._read_loop(sock)
                self._drop(sock)
                if self._stop.is_set() or self._closing:
                    break
                self.reconnects += 1
                if time.monotonic() - started > delay:
                    delay = self.config.reconnect_min_s  # the link held for a while: start over
                self._set_state("backoff", NotBound("connection lost; reconnecting"))
                log.warning("smpp %s:%s link lost; reconnect in %.1f s", *self._where(), delay)
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.config.reconnect_max_s)

    def _where(self) -> tuple[str, int]:
        return self.config.host, self.config.port

    def _set_state(
        self, state: str, failure: NotBound | None = None, sock: socket.socket | None = None
    ) -> None:
        with self._cond:
            self._state, self._failure, self._sock = state, failure, sock
            self._cond.notify_all()

    def _connect_and_bind(self) -> socket.socket:
        config = self.config
        try:
            sock = socket.create_connection((config.host, config.port), timeout=config.timeout_s)
        except OSError as exc:
            raise NotBound(f"cannot connect: {exc}") from exc
        bind = smpp.make_pdu(
            "bind_transceiver",
            client=self._sequence,
            system_id=config.system_id,
            password=config.password,
            system_type=config.system_type,
            addr_ton=0,
            addr_npi=0,
            address_range="",
        )
        try:
            sock.sendall(bind.generate())
            answer = read_pdu(sock)
        except (OSError, MalformedPdu) as exc:
            shutdown(sock)
            raise NotBound(f"no bind_transceiver_resp: {exc}") from exc
        if answer.command != "bind_transceiver_resp" or answer.status != ESME_ROK:
            shutdown(sock)
            raise NotBound(f"bind rejected by the SMSC ({answer.command})", status=answer.status or None)
        return sock

    def _read_loop(self, sock: socket.socket) -> None:
        """Read and dispatch PDUs until the link breaks, the SMSC unbinds or ``close()`` is called."""
        last_heard, enquiry_sent = time.monotonic(), 0.0
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([sock], [], [], _POLL_S)
                now = time.monotonic()
                if not readable:
                    if enquiry_sent and now - enquiry_sent > self.config.timeout_s:
                        log.warning("smpp no enquire_link_resp within %s s", self.config.timeout_s)
                        return
                    if not enquiry_sent and now - last_heard >= self.config.enquire_link_s:
                        self._write(sock, smpp.make_pdu("enquire_link", client=self._sequence).generate())
                        enquiry_sent = now
                    continue
                pdu = read_pdu(sock)
            except (OSError, ValueError, MalformedPdu) as exc:
                log.log(logging.INFO if self._closing else logging.WARNING, "smpp link ended: %s", exc)
                return
            last_heard = now
            if pdu.command == "enquire_link_resp":
                enquiry_sent = 0.0
            elif not self._dispatch(sock, pdu):
                return

    def _dispatch(self, sock: socket.socket, pdu: Any) -> bool:
        """Act on one PDU from the SMSC; False when the link must be closed (the SMSC unbinds)."""
        command: str = pdu.command
        if command in ("submit_sm_resp", "generic_nack", "unbind_resp"):
            with self._cond:
                pending = self._pending.pop(pdu.sequence, None)
            if pending is None:
                log.warning("smpp late or unknown %s seq=%s ignored", command, pdu.sequence)
                return True
            message_id = getattr(pdu, "message_id", None) or b""
            pending.response = Response(command, pdu.status, text(message_id))
            pending.done.set()
        elif command == "deliver_sm":
            self._handler.submit(self._deliver, sock, pdu)
        elif command in ("enquire_link", "unbind"):
            self._respond(sock, pdu, f"{command}_resp", ESME_ROK)
            return command == "enquire_link"
        elif pdu.is_request() and command != "alert_notification":
            self._respond(sock, pdu, "generic_nack", ESME_RINVCMDID)
        return True

    def _deliver(self, sock: socket.socket, pdu: Any) -> None:
        try:
            status = self._on_deliver(pdu, self)
        except Exception:  # the handler thread's boundary: log the bug, let the SMSC redeliver later
            log.exception("smpp deliver_sm handler failed")
            status = ESME_RSYSERR
        self._respond(sock, pdu, "deliver_sm_resp", status)

    def _respond(self, sock: socket.socket, request: Any, command: str, status: int) -> None:
        response = smpp.make_pdu(command, client=self._sequence, status=status)
        response.sequence = request.sequence
        try:
            self._write(sock, response.generate())
        except OSError as exc:
            log.warning("smpp could not send %s: %s", command, exc)

    def _drop(self, sock: socket.socket) -> None:
        shutdown(sock)
        with self._cond:
            pending, self._pending = self._pending, {}
            self._sock = None if self._sock is sock else self._sock
        for waiter in pending.values():
            waiter.done.set()  # response stays None: ConnectionLost


_SESSIONS: dict[SmppConfig, SmppSession] = {}
_SESSIONS_LOCK = threading.Lock()


def session_for(config: SmppConfig, on_deliver: Callable[[Any, SmppSession], int]) -> SmppSession:
    """The process's session for ``config`` (created on first use; connecting starts on first submit).

    Settings changed (e.g. a corrected password): sessions of other configs are closed in the background,
    so an outdated one neither keeps binding with old credentials nor holds the SMSC's connection slot.
    """
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(config)
        if session is None or session._state == "closed":
            stale = [_SESSIONS.pop(old) for old in list(_SESSIONS) if old != config]
            for outdated in stale:
                threading.Thread(target=outdated.close, name="smpp-close", daemon=True).start()
            session = _SESSIONS[config] = SmppSession(config, on_deliver)
        return session


if hasattr(os, "register_at_fork"):  # a forked child must not use its parent's socket and dead threads
    os.register_at_fork(after_in_child=_SESSIONS.clear)


@atexit.register
def close_all() -> None:
    """Unbind and close every session of this process (at exit; tests call it between cases)."""
    with _SESSIONS_LOCK:
        sessions = list(_SESSIONS.values())
        _SESSIONS.clear()
    for session in sessions:
        session.close()
