"""SMPP 3.4 on the wire: reading whole PDUs from a socket, sequence numbers, pacing (no Django).

PDU encoding and decoding is smpplib's (``smpplib.smpp.make_pdu`` / ``parse_pdu``, 2.2.4); this module adds
what its single-threaded ``Client`` lacks: a thread-safe sequence, a pacer shared by threads, and a reader
that turns bytes that are no PDU into ``MalformedPdu`` instead of a crash. Source: SMPP v3.4 Issue 1.2
(https://smpp.org/SMPP_v3_4_Issue1_2.pdf, read 2026-11-30), the 16-octet PDU header of command_length,
command_id, command_status and sequence_number (1..0x7FFFFFFF).
"""

from __future__ import annotations

import functools
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

from smpplib import exceptions as smpp_exceptions  # type: ignore[import-untyped]
from smpplib import smpp

from alphasms.messaging import encoding

MAX_PDU_OCTETS = 64 * 1024  # far above any 3.4 PDU (short_message <= 254 octets); more is garbage


class MalformedPdu(Exception):
    """Bytes that are no SMPP PDU: the link is out of step and must be dropped."""


@dataclass(frozen=True)
class Response:
    """A response PDU: ``command`` (``submit_sm_resp`` or ``generic_nack``), ``status``, ``message_id``."""

    command: str
    status: int
    message_id: str = ""


@dataclass(frozen=True)
class UnknownPdu:
    """A PDU whose command_id smpplib does not know (vendor-specific): answered with generic_nack."""

    command_id: int
    status: int
    sequence: int
    command: str = "unknown"

    def is_request(self) -> bool:
        return not self.command_id & 0x80000000


class Sequence:
    """Thread-safe sequence numbers 1..0x7FFFFFFF, in the shape smpplib's PDUs ask a client for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sequence = 0

    def next_sequence(self) -> int:
        with self._lock:
            self.sequence = self.sequence % 0x7FFFFFFF + 1
            return self.sequence


class Pacer:
    """Spaces ``wait()`` calls at least ``1 / rate_per_s`` apart across threads (0 = no limit)."""

    def __init__(self, rate_per_s: float) -> None:
        self._interval_s = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval_s
        if slot > now:
            time.sleep(slot - now)


_PARSER_SEQUENCE = Sequence()  # parsing a request PDU draws a number it then overwrites


def read_pdu(sock: socket.socket) -> Any:
    """Read one whole PDU; raises MalformedPdu, ConnectionError (closed) or OSError/TimeoutError."""
    header = _recv_exact(sock, 4)
    (length,) = struct.unpack(">L", header)
    if not 16 <= length <= MAX_PDU_OCTETS:
        raise MalformedPdu(f"command_length {length}")
    raw = header + _recv_exact(sock, length - 4)
    command_id, status, sequence = struct.unpack(">LLL", raw[4:16])
    try:
        return smpp.parse_pdu(raw, client=_PARSER_SEQUENCE, allow_unknown_opt_params=True)
    except smpp_exceptions.UnknownCommandError:
        return UnknownPdu(command_id, status, sequence)
    except (smpp_exceptions.PDUError, struct.error, IndexError, ValueError) as exc:
        raise MalformedPdu(str(exc)) from exc


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks, received = [], 0
    while received < size:
        chunk = sock.recv(size - received)
        if not chunk:
            raise ConnectionError("closed by the SMSC")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the peer
    sock.close()


def text(value: bytes | str) -> str:
    """A C-octet string field as text (Latin-1: never fails; SMPP ids and receipts are ASCII)."""
    return value.decode("latin-1") if isinstance(value, bytes) else value


def decode_text(payload: bytes, data_coding: int) -> str:
    """Decode ``short_message`` by ``data_coding`` (§5.2.19): 0 GSM-7 unpacked (SMSC default, as we send),
    1 IA5/ASCII, 3 Latin-1, 8 UCS-2 (read as UTF-16-BE); anything else as Latin-1. Never raises."""
    if data_coding == 0x08:
        return payload.decode("utf-16-be", "replace")
    if data_coding == 0x00:
        table = _gsm_decoding_table()
        out, escape = [], False
        for septet in payload:
            char = table.get((0x1B, septet) if escape else (septet,), "")
            escape = septet == 0x1B and not escape
            out.append("" if escape else char or "?")
        return "".join(out)
    return payload.decode("ascii" if data_coding == 0x01 else "latin-1", "replace")


@functools.cache
def _gsm_decoding_table() -> dict[tuple[int, ...], str]:
    # Built from the core encoder (encoding.py has no decoder): every GSM-7 character is Latin-1, Greek
    # (U+0393–U+03A9) or the euro sign.
    chars = [chr(c) for c in range(0x400)] + ["€"]
    return {
        tuple(encoding.encode_part(c, encoding.SmsEncoding.GSM7)): c for c in chars if encoding.is_gsm7(c)
    }
