"""``alphasms worker [--once]``: plan reminders, refresh calendar subscriptions and send due messages."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from alphasms.messaging.services.worker import Worker


class Command(BaseCommand):
    help = (
        "Plant Erinnerungen, ruft Kalender-Abos ab und versendet fällige Nachrichten (Strg-C beendet sauber)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="nur einen Durchlauf, dann beenden")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = Worker()
        if not options["once"]:
            worker.install_signal_handlers()
        worker.run(once=options["once"])
