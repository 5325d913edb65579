"""A local mail sink for the embedded default: an SMTP server on 127.0.0.1 that stores every mail in a
Maildir in the data directory, so e-mail reminders work end to end without an account."""

from __future__ import annotations

from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


def start_mail_sink(host: str, port: int, maildir: Path) -> Controller:
    """Start the sink (SMTPUTF8 enabled) and return its controller; ``controller.stop()`` ends it.

    Raises OSError when the port is taken.
    """
    maildir.parent.mkdir(parents=True, exist_ok=True)
    for sub in ("tmp", "new", "cur"):  # a Maildir (mailbox.Maildir creates them only for a new folder)
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(maildir), hostname=host, port=port, enable_SMTPUTF8=True)
    controller.start()
    return controller
