"""``alphasms privacy erase --customer NUMBER [--yes] [--json]``: erase a person (GDPR Art. 17).

Deletes or anonymises every row about the person (see ``privacy.registry``), writes the erasure ledger
and an audit entry, and on SQLite rewrites the database file and empties its WAL so the bytes are gone.
Asks for confirmation unless ``--yes`` is given. Backups made before keep the data until they rotate;
the ledger re-applies the erasure after a restore.

Exit codes: 0 erased, 1 a message of the person is being sent right now (nothing changed; try again),
2 unknown customer, no confirmation or usage error, 3 answered "no" (nothing changed).
JSON: {"customer_id", "counts": {model label: rows}, "file_compacted", "wal_truncated"}.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import CommandParser

from alphasms.appointments.models import Customer
from alphasms.cli_text import t
from alphasms.commands import EXIT_NOTHING_TO_DO, EXIT_SOME_FAILED, AlphaCommand, UsageError
from alphasms.privacy.management.commands._subject import actor, add_person_arguments, get_person
from alphasms.privacy.registry import REGISTRY
from alphasms.privacy.subject_rights import ErasureDeferred, ErasureReport, erase

YES = {"j", "ja", "y", "yes"}


class Command(AlphaCommand):
    help = "Löscht einen Kunden mit allen Terminen, Nachrichten und Einwilligungen endgültig (Art. 17 DSGVO)."
    help_en = "Erases a customer with all appointments, messages and consents for good (GDPR Art. 17)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_person_arguments(parser)
        parser.add_argument("--yes", action="store_true", help=t("ohne Rückfrage löschen", "do not ask"))

    def handle(self, *args: Any, **options: Any) -> None:
        customer = get_person(options)
        if not options["yes"] and not self.confirmed(customer):
            self.stdout.write(t("Abgebrochen, nichts gelöscht.", "Cancelled, nothing erased."))
            sys.exit(EXIT_NOTHING_TO_DO)
        try:
            report = erase(customer, actor())
        except ErasureDeferred as exc:
            self.stderr.write(
                t(
                    f"Gerade wird eine Nachricht an diese Person gesendet – in {exc.retry_after_s} Sekunden "
                    "erneut versuchen; nichts wurde gelöscht.",
                    f"A message to this person is being sent right now – try again in {exc.retry_after_s} "
                    "seconds; nothing was erased.",
                )
            )
            sys.exit(EXIT_SOME_FAILED)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
        else:
            self.write_summary(report)

    def confirmed(self, customer: Customer) -> bool:
        """Show what will be erased and ask; UsageError when there is no one to ask."""
        counts = ", ".join(
            f"{registration.label}: {n}"
            for registration in REGISTRY.values()
            if (n := registration.rows(customer).count())
        )
        name = f"{customer.given_name} {customer.family_name}".strip()
        self.stdout.write(
            t(
                f"Kunde #{customer.pk} {customer.customer_number} {name} – {counts}",
                f"Customer #{customer.pk} {customer.customer_number} {name} – {counts}",
            )
        )
        try:
            answer = input(t("Endgültig löschen? [j/N] ", "Erase for good? [y/N] "))
        except EOFError:
            raise UsageError(
                t(
                    "Keine Bestätigung möglich (keine Eingabe) – mit --yes aufrufen, um ohne Rückfrage zu "
                    "löschen.",
                    "Cannot ask for confirmation (no input) – use --yes to erase without asking.",
                )
            ) from None
        return answer.strip().lower() in YES

    def write_summary(self, report: ErasureReport) -> None:
        counts = ", ".join(f"{label}: {n}" for label, n in report.counts.items() if n)
        self.stdout.write(
            t(
                f"Kunde #{report.customer_id} gelöscht ({counts}).",
                f"Customer #{report.customer_id} erased ({counts}).",
            )
        )
        if report.file_compacted and not report.wal_truncated:
            self.stderr.write(
                t(
                    "Hinweis: ein anderer AlphaSMS-Prozess liest noch; alte Seiten im Write-Ahead-Log "
                    "verschwinden beim nächsten Checkpoint.",
                    "Note: another AlphaSMS process is still reading; old pages in the write-ahead log go at "
                    "the next checkpoint.",
                )
            )
