"""``alphasms support remote``: start RustDesk for attended remote maintenance, on the user's action.

RustDesk's own window shows the ID and the one-time password, which the user reads to the supporter;
AlphaSMS never reads or logs them. Start and end (with the duration) go to the audit log. The command
waits until RustDesk is closed; Ctrl-C closes it too. Client, vendor server and rules:
``alphasms.support.remote``.

Exit codes: 0 the session ended; 1 RustDesk could not be started; 2 RustDesk missing or settings
incomplete (nothing started; the message names https://rustdesk.com/download and ALPHASMS_RUSTDESK_PATH);
130 ended with Ctrl-C.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import EXIT_INTERRUPTED, AlphaCommand
from alphasms.support.management.commands._support_common import CommandFailed
from alphasms.support.remote import RemoteProblem, RemoteSessionResult, start_remote_session


class Command(AlphaCommand):
    help = (
        "Startet RustDesk für eine Fernwartung: ID und Einmal-Passwort stehen im RustDesk-Fenster; Beginn "
        "und Ende werden protokolliert. Wartet, bis RustDesk geschlossen ist."
    )
    help_en = (
        "Starts RustDesk for remote maintenance: ID and one-time password are in RustDesk's window; start "
        "and end are logged. Waits until RustDesk is closed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        pass

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            session = start_remote_session(actor="cli")
        except RemoteProblem as exc:
            raise CommandFailed(exc.user_message, exc.exit_code) from exc
        if session.plan.note:
            self.stderr.write(session.plan.note)
        self.stdout.write(
            t(
                f"Fernwartung gestartet ({session.client.path}). Im RustDesk-Fenster stehen ID und "
                "Einmal-Passwort: nur dem Support-Mitarbeiter am Telefon nennen. Er sieht und bedient "
                "diesen Bildschirm, solange die Sitzung läuft; jede Verbindung muss in RustDesk "
                "angenommen werden. Beenden: RustDesk schließen (oder hier Strg-C). Beginn und Ende "
                "stehen im Protokoll.",
                f"Remote maintenance started ({session.client.path}). RustDesk's window shows the ID and "
                "one-time password: tell them only to the support person on the phone. They see and "
                "operate this screen while the session runs; each connection must be accepted in "
                "RustDesk. To end: close RustDesk (or Ctrl-C here). Start and end are logged.",
            )
        )
        self.stdout.flush()
        interrupted = False
        try:
            result = session.wait()
        except KeyboardInterrupt:
            interrupted = True
            session.stop()
            result = session.wait()
        self._report(result)
        if interrupted:
            sys.exit(EXIT_INTERRUPTED)

    def _report(self, result: RemoteSessionResult | None) -> None:
        if result is None:
            return
        minutes, seconds = divmod(int(result.duration_s), 60)
        self.stdout.write(
            t(
                f"Fernwartung beendet nach {minutes} min {seconds} s.",
                f"Remote maintenance ended after {minutes} min {seconds} s.",
            )
        )
