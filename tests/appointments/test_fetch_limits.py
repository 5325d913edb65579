"""Fetching staff-entered calendar URLs: bounded in size, time and memory; the checked address is the one
connected to; subscriptions are validated when saved, back off after failures and never log their URL."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from alphasms.appointments.models import Appointment, CalendarSubscription
from alphasms.appointments.services import subscriptions
from alphasms.appointments.services.ics_import import import_ics
from alphasms.appointments.services.subscriptions import refresh
from alphasms.messaging.gateways import http
from alphasms.messaging.gateways.errors import GatewayUnavailable
from alphasms.testing.fake_http import CannedResponse

UTC = dt.UTC
ICS = (Path(__file__).resolve().parent.parent / "data" / "practice" / "praxis.ics").read_bytes()
NOW = dt.datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
MB = 1024 * 1024


class StreamServer:
    """A loopback HTTP server whose handler is a function of (handler, path): for bodies generated on
    the fly (gigabytes that never exist in memory) and for answers dribbled out slowly."""

    def __init__(self, respond: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.hosts: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes

            def do_GET(self) -> None:
                server.hosts.append(self.headers.get("Host", ""))
                try:
                    respond(self)
                except OSError:
                    pass  # the client hung up: that is what these tests expect

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> StreamServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def endless(handler: BaseHTTPRequestHandler, total: int = 2 * 1024 * MB) -> None:
    """200 with a 2 GB body of calendar-ish bytes and no Content-Length."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/calendar")
    handler.end_headers()
    chunk = b"BEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n" * 1800  # ~64 KB, reused
    sent = 0
    while sent < total:
        handler.wfile.write(chunk)
        sent += len(chunk)


def get(url: str, **kwargs: Any) -> http.HttpResponse:
    kwargs.setdefault("allowed_hosts", ["127.0.0.1"])
    return http.get(url, headers={}, timeout_s=5.0, **kwargs)


# --- size -----------------------------------------------------------------------------------------------


def test_a_2_gb_calendar_stops_at_20_mb_with_a_clear_error_and_bounded_memory():
    assert http.MAX_DOWNLOAD_BYTES == 20 * MB
    with StreamServer(endless) as server:
        tracemalloc.start()
        try:
            started = time.monotonic()
            with pytest.raises(http.ResponseTooLarge) as caught:
                get(f"{server.url}/big.ics")
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert str(caught.value) == "response_too_large: Kalender größer als 20 MB – Abruf abgebrochen"
    assert caught.value.user_message_en == "calendar larger than 20 MB – download stopped"
    assert peak < 30 * MB, f"peak {peak / MB:.1f} MB"  # the limit plus one chunk and list growth, not 2 GB
    assert elapsed < 10


def test_an_announced_size_over_the_limit_is_refused_before_reading(alphasms_settings):
    def announce(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(2 * 1024 * MB))
        handler.end_headers()
        endless(handler, total=100 * MB)

    with StreamServer(announce) as server:
        tracemalloc.start()
        try:
            with pytest.raises(http.ResponseTooLarge, match=r"Kalender größer als 20 MB \(2147483648 Bytes"):
                get(f"{server.url}/big.ics")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 2 * MB


def test_a_small_limit_applies_to_the_decoded_body():
    def small(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(b"x" * 1000)

    with StreamServer(small) as server:
        assert get(f"{server.url}/a", max_bytes=1000).body == b"x" * 1000
        with pytest.raises(http.ResponseTooLarge, match=r"Kalender größer als 0\.0009"):
            get(f"{server.url}/a", max_bytes=999)


# --- time -----------------------------------------------------------------------------------------------


def test_a_body_dribbled_out_byte_by_byte_is_stopped_at_the_overall_deadline():
    def dribble(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()
        for _ in range(1000):  # never silent long enough for the 5 s read timeout
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.05)

    with StreamServer(dribble) as server:
        started = time.monotonic()
        with pytest.raises(http.DownloadTooSlow) as caught:
            get(f"{server.url}/slow.ics", deadline_s=1.0)
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 2.5
    assert "nicht innerhalb von 1 s vollständig geladen" in str(caught.value)


def test_headers_dribbled_out_are_stopped_at_the_overall_deadline_too():
    def slow_headers(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.0 200 OK\r\n")
        for i in range(1000):
            handler.wfile.write(f"X-Pad-{i}: x\r\n".encode())
            handler.wfile.flush()
            time.sleep(0.05)

    with StreamServer(slow_headers) as server:
        started = time.monotonic()
        with pytest.raises(http.DownloadTooSlow):
            get(f"{server.url}/slow.ics", deadline_s=1.0)
    assert time.monotonic() - started < 2.5


def test_the_default_deadline_is_60_seconds():
    assert http.DOWNLOAD_DEADLINE_S == 60.0


# --- the checked address is the connected one (DNS rebinding) --------------------------------------------


class Answers(dict[str, list[list[str]]]):
    """DNS answers per host name, and the lookups made."""

    lookups: list[str]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> Answers:
    """Host name → successive DNS answers, each a list of IPv4 addresses (the last answer repeats); other
    names resolve for real. Every lookup of a fake name is appended to ``lookups``."""
    answers = Answers()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        queue = answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    lookups: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answers.lookups = lookups
    return answers


def hello(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "5")
    handler.end_headers()
    handler.wfile.write(b"hello")


def test_it_connects_to_the_address_it_checked_not_to_a_second_dns_answer(fake_dns):
    with StreamServer(hello) as server:
        port = server.httpd.server_address[1]
        # checked: 127.0.0.1 (allowed by the admin); a second lookup says 127.0.0.2, where nothing listens
        fake_dns["rebind.test"] = [["127.0.0.1"], ["127.0.0.2"]]
        response = get(f"http://rebind.test:{port}/cal.ics", allowed_hosts=["127.0.0.1"])
    assert response.body == b"hello"
    assert fake_dns.lookups == ["rebind.test"]  # resolved once, by the guard
    assert server.hosts == [f"rebind.test:{port}"]  # the server still sees the name it was asked for


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_over_https_the_pinned_address_is_verified_against_the_host_name(fake_dns, tmp_path, monkeypatch):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=rebind.test",
         "-addext", "subjectAltName=DNS:rebind.test", "-keyout", str(tmp_path / "key.pem"),
         "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))  # trust only this certificate
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment]
    with StreamServer(hello) as server:
        server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
        port = server.httpd.server_address[1]
        fake_dns["rebind.test"] = [["127.0.0.1"], ["127.0.0.2"]]
        fake_dns["other.test"] = [["127.0.0.1"]]
        assert get(f"https://rebind.test:{port}/cal.ics").body == b"hello"
        assert (names, server.hosts) == (["rebind.test"], [f"rebind.test:{port}"])  # SNI and Host: the name
        with pytest.raises(GatewayUnavailable, match="SSLError"):  # the certificate is for another name
            get(f"https://other.test:{port}/cal.ics")
    assert fake_dns.lookups == ["rebind.test", "other.test"]


def test_a_name_that_resolves_to_a_private_address_is_refused_before_connecting(fake_dns):
    fake_dns["intranet.test"] = [["93.184.216.34", "10.0.0.5"]]  # one private answer is enough
    with pytest.raises(http.BlockedAddress) as caught:
        get("https://intranet.test/cal.ics", allowed_hosts=[])
    assert "10.0.0.5" in str(caught.value)
    assert caught.value.user_message.startswith(
        "Der Host intranet.test zeigt auf die nicht-öffentliche Adresse"
    )


def test_the_next_checked_address_is_tried_when_one_refuses(fake_dns):
    fake_dns["two.test"] = [["127.0.0.2", "127.0.0.1"]]
    allowed = ["127.0.0.1", "127.0.0.2"]
    with StreamServer(hello) as server:
        port = server.httpd.server_address[1]
        assert get(f"http://two.test:{port}/x", allowed_hosts=allowed).body == b"hello"
    with pytest.raises(GatewayUnavailable):
        get(f"http://two.test:{port}/x", allowed_hosts=allowed)  # the server is gone: both refuse


def test_log_urls_keep_scheme_and_host_only():
    assert http.url_for_log("https://u:pw@cal.example:8443/private-abc/basic.ics?token=S") == (
        "https://cal.example:8443/…"
    )
    assert http.url_for_log("praxis.ics") == "praxis.ics"


# --- subscriptions: validation when saved ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_refresh_interval_below_60_seconds_is_refused(alphasms_settings, location):
    for seconds, ok in ((0, False), (59, False), (60, True), (900, True)):
        subscription = CalendarSubscription(
            name="x", url="http://127.0.0.1/x.ics", location=location, refresh_interval_s=seconds
        )
        if ok:
            subscription.full_clean()
        else:
            with pytest.raises(ValidationError) as caught:
                subscription.full_clean()
            assert caught.value.message_dict == {
                "refresh_interval_s": ["Das Abrufintervall muss mindestens 60 Sekunden betragen."]
            }


@pytest.mark.django_db
def test_a_private_address_is_refused_when_the_subscription_is_saved(alphasms_settings, location):
    alphasms_settings["ALLOWED_PRIVATE_HOSTS"] = []
    for url in ("http://10.1.2.3/x.ics", "http://[::1]/x.ics", "http://127.0.0.1:8080/x.ics"):
        with pytest.raises(ValidationError) as caught:
            CalendarSubscription(name="x", url=url, location=location).full_clean()
        (message,) = caught.value.message_dict["url"]
        assert "nicht-öffentliche Adresse" in message and "ALPHASMS_ALLOWED_PRIVATE_HOSTS" in message
    alphasms_settings["ALLOWED_PRIVATE_HOSTS"] = ["10.1.2.3"]
    CalendarSubscription(name="x", url="http://10.1.2.3/x.ics", location=location).full_clean()


# --- subscriptions: results, backoff, logs --------------------------------------------------------------


def wait_of(subscription: CalendarSubscription) -> dt.timedelta:
    subscription.refresh_from_db()
    assert subscription.next_refresh_at is not None and subscription.last_sync_at is not None
    return subscription.next_refresh_at - subscription.last_sync_at


@pytest.mark.django_db
def test_failures_back_off_doubling_and_a_success_resets_the_interval(alphasms_settings, location, fake_http):
    fake_http.enqueue(*[CannedResponse(500)] * 3, CannedResponse(200, {}, ICS), CannedResponse(503))
    subscription = CalendarSubscription.objects.create(
        name="x", url=f"{fake_http.url}/x.ics", location=location, refresh_interval_s=600
    )
    at, waits = NOW, []
    for _ in range(5):
        refresh(subscription, at)
        wait = wait_of(subscription)
        waits.append(wait.total_seconds())
        at += wait
    assert waits == [1200, 2400, 4800, 600, 1200]
    subscription.refresh_from_db()
    assert subscription.last_result.startswith("Fehler: HTTP 503 – nächster Versuch ")
    assert Appointment.objects.count() == 6  # the one good answer was imported


@pytest.mark.django_db
def test_the_backoff_stops_at_24_hours(alphasms_settings, location, fake_http):
    fake_http.enqueue(*[CannedResponse(500)] * 3)
    subscription = CalendarSubscription.objects.create(
        name="x", url=f"{fake_http.url}/x.ics", location=location, refresh_interval_s=8 * 3600
    )
    waits = []
    for i in range(3):
        refresh(subscription, NOW + dt.timedelta(days=i))
        waits.append(wait_of(subscription) / dt.timedelta(hours=1))
    assert waits == [16, 24, 24]


@pytest.mark.django_db
def test_an_interval_stored_below_the_minimum_still_waits_60_seconds(alphasms_settings, location, fake_http):
    fake_http.enqueue(CannedResponse(304))
    subscription = CalendarSubscription.objects.create(
        name="x", url=f"{fake_http.url}/x.ics", location=location, refresh_interval_s=0
    )
    assert refresh(subscription, NOW) == "unverändert (304)"
    assert wait_of(subscription) == dt.timedelta(seconds=60)


@pytest.mark.django_db
def test_an_oversized_calendar_is_a_failed_refresh_that_changes_nothing(alphasms_settings, location):
    with StreamServer(endless) as server:
        subscription = CalendarSubscription.objects.create(
            name="x", url=f"{server.url}/big.ics", location=location, refresh_interval_s=900
        )
        result = refresh(subscription, NOW)
    assert result.startswith("Fehler: response_too_large: Kalender größer als 20 MB – Abruf abgebrochen")
    assert Appointment.objects.count() == 0
    assert wait_of(subscription) == dt.timedelta(seconds=1800)


@pytest.mark.django_db
def test_an_unexpected_error_is_recorded_and_does_not_stop_the_worker(
    alphasms_settings, location, fake_http, monkeypatch, caplog
):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(subscriptions, "import_ics", broken)
    fake_http.enqueue(CannedResponse(200, {}, ICS))
    subscription = CalendarSubscription.objects.create(
        name="x", url=f"{fake_http.url}/x.ics?token=SECRET", location=location
    )
    with caplog.at_level(logging.INFO, logger="alphasms"):
        result = refresh(subscription, NOW)
    assert result.startswith("Fehler: interner Fehler (RuntimeError) – siehe Protokoll – nächster Versuch")
    assert "SECRET" not in caplog.text


@pytest.mark.django_db
def test_logs_name_the_subscription_and_host_never_the_url_with_its_token(
    alphasms_settings, location, fake_http, caplog
):
    fake_http.enqueue(CannedResponse(200, {}, ICS), CannedResponse(500))
    subscription = CalendarSubscription.objects.create(
        name="x", url=f"{fake_http.url}/private-TOKENPATH/basic.ics?token=SECRETQUERY", location=location
    )
    with caplog.at_level(logging.INFO, logger="alphasms"):
        refresh(subscription, NOW)
        refresh(subscription, NOW + dt.timedelta(hours=1))
        import_ics(ICS, location, subscription.url, now=NOW)
    assert fake_http.requests[0].path == "/private-TOKENPATH/basic.ics?token=SECRETQUERY"  # sent, not logged
    assert "SECRETQUERY" not in caplog.text and "TOKENPATH" not in caplog.text
    assert f"subscription {subscription.pk} (http://127.0.0.1:{fake_http.port}/…) refreshed" in caplog.text
    assert f"source=http://127.0.0.1:{fake_http.port}/…" in caplog.text
    assert any(r.levelno == logging.WARNING and "HTTP 500" in r.getMessage() for r in caplog.records)
