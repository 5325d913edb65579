"""``alphasms worker [--once]``: plan reminders, refresh calendar subscriptions and send due messages.

While it runs, a heartbeat row (``alphasms.support.running``) tells ``alphasms backup restore`` so."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import AlphaCommand
from alphasms.messaging.services.worker import Worker
from alphasms.support.running import Heartbeat


class Command(AlphaCommand):
    help = (
        "Plant Erinnerungen, ruft Kalender-Abos ab und versendet fällige Nachrichten (Strg-C beendet sauber)."
    )
    help_en = (
        "Plans reminders, refreshes calendar subscriptions and sends due messages (Ctrl-C stops cleanly)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help=t("nur einen Durchlauf, dann beenden", "one pass, then stop")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker = Worker()
        if not options["once"]:
            worker.install_signal_handlers()
        with Heartbeat("worker"):  # so `alphasms backup restore` knows a worker is running
            worker.run(once=options["once"])
