"""The local mail sink of the embedded default stores mails in a Maildir, from an empty data folder."""

from __future__ import annotations

import mailbox
import smtplib
import socket

from alphasms.messaging.mailsink import start_mail_sink


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_sink_stores_a_mail_in_a_maildir_it_creates(tmp_path):
    folder = tmp_path / "not-yet" / "mail"
    port = free_port()
    sink = start_mail_sink("127.0.0.1", port, folder)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.sendmail("a@example.org", ["b@example.org"], b"Subject: Hallo\r\n\r\nText\r\n")
    finally:
        sink.stop()
    (stored,) = mailbox.Maildir(folder).values()
    assert stored["Subject"] == "Hallo"
