"""The update check, the update download and the support backup's vendor requests end at an overall
deadline, not per read (security review: a server trickling 1 byte every 0.5 s held
``run_update_check(timeout_s=2.0)`` for 30 s). Real local servers on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import urllib3

from alphasms.licensing import update

pytestmark = pytest.mark.django_db


@pytest.fixture
def trickling_server() -> Iterator[int]:
    """Answers 200 with Content-Length 100,000 and then one space every 0.2 s (for 30 s at most)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
            try:
                for _ in range(150):
                    if stop.is_set():
                        break
                    conn.sendall(b" ")
                    time.sleep(0.2)
            except OSError:
                pass
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    stop.set()
    srv.close()


def test_update_check_gives_up_at_its_deadline(trickling_server, alphasms_settings) -> None:
    alphasms_settings["VENDOR_URL"] = f"http://127.0.0.1:{trickling_server}"
    started = time.monotonic()
    with pytest.raises(update.VendorUnreachable):
        update.run_update_check(timeout_s=2.0)
    elapsed = time.monotonic() - started
    # Upper bound far from the old 30 s but loose enough for a loaded CI machine.
    assert 1.9 < elapsed < 15, elapsed  # before the fix: 30 s, until the server stopped (2 s per read)


def test_read_within_returns_a_complete_answer_and_one_byte_too_many() -> None:
    body = b'{"ok": true}' * 1000

    class Answer:
        connection = None

        def __init__(self) -> None:
            self.data = body

        def read1(self, amt: int) -> bytes:
            chunk, self.data = self.data[:amt], self.data[amt:]
            return chunk

    assert update.read_within(Answer(), 20_000, time.monotonic() + 5) == body  # type: ignore[arg-type]
    assert len(update.read_within(Answer(), 100, time.monotonic() + 5)) == 101  # type: ignore[arg-type]
    with pytest.raises(urllib3.exceptions.TimeoutError):
        update.read_within(Answer(), 100, time.monotonic() - 1)  # type: ignore[arg-type]


def test_download_gives_up_at_its_deadline(trickling_server, tmp_path) -> None:
    manifest = type(
        "M", (), {"download_url": f"http://127.0.0.1:{trickling_server}/a.whl", "sha256": "0" * 64}
    )
    started = time.monotonic()
    with pytest.raises(update.DownloadFailed):
        update.download_update(manifest(), tmp_path, timeout_s=1.5)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 15, elapsed
    assert list(tmp_path.iterdir()) == []  # the partial file is gone


def test_support_backup_request_gives_up_at_its_deadline(trickling_server, monkeypatch) -> None:
    from alphasms.support import support_backup

    monkeypatch.setattr(support_backup, "TIMEOUT_S", 1.5)
    started = time.monotonic()
    with pytest.raises(support_backup.VendorUnreachable):
        support_backup._request("GET", f"http://127.0.0.1:{trickling_server}/receipt")
    elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 15, elapsed  # before the fix: 30 s, until the server stopped
