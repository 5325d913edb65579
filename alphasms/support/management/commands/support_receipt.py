"""``alphasms support receipt --case CASE [--json]``: the vendor's signed deletion receipt for a support
backup — fetched, verified (Ed25519 signature of the vendor key, case id, SHA-256 of the file sent),
stored and shown. A receipt already verified is shown from the database without asking the server.

Exit codes: 0 verified and stored (or shown); 1 the server was unreachable, or the receipt is forged or
does not match (it is not stored, each with its own message); 2 unknown case or bad case id; 3 the
vendor still holds the backup (no receipt yet; the latest deletion date is shown).
JSON: {"case", "state": "held"|"deleted", "delete_by", "deleted_at", "reason", "receipt_verified_at",
"receipt" (the signed envelope)}.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import EXIT_NOTHING_TO_DO, AlphaCommand
from alphasms.support.management.commands._support_common import CommandFailed
from alphasms.support.models import SupportCase
from alphasms.support.support_backup import (
    SupportBackupError,
    case_state,
    fetch_receipt,
    validate_case_id,
)


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


class Command(AlphaCommand):
    help = (
        "Holt den signierten Löschbeleg des Herstellers für die Support-Sicherung eines Falls, prüft "
        "Signatur, Fallnummer und Prüfsumme, speichert und zeigt ihn."
    )
    help_en = (
        "Fetches the vendor's signed deletion receipt for a case's support backup, checks signature, "
        "case id and checksum, stores and shows it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", required=True, metavar="CASE", help=t("Fallnummer", "case id"))
        parser.add_argument("--json", action="store_true", help=t("Ergebnis als JSON", "result as JSON"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            case = validate_case_id(options["case"])
            record = SupportCase.objects.filter(case=case).first()
            if record is None or record.receipt_verified_at is None:
                result = fetch_receipt(record if record is not None else case)
                record = result.record
        except SupportBackupError as exc:
            raise CommandFailed(exc.user_message, exc.exit_code) from exc
        held = record.receipt_verified_at is None
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "case": record.case,
                        "state": "held" if held else "deleted",
                        "delete_by": _iso(record.delete_by),
                        "deleted_at": _iso(record.deleted_at),
                        "reason": record.deletion_reason,
                        "receipt_verified_at": _iso(record.receipt_verified_at),
                        "receipt": record.receipt,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            self.stdout.write(
                t(f"Fall {record.case}: {case_state(record)}.", f"Case {record.case}: {case_state(record)}.")
            )
            if not held and record.receipt is not None:
                self.stdout.write(
                    t(
                        f"  Beleg signiert vom Hersteller, SHA-256 {record.sha256}, geprüft am "
                        f"{record.receipt_verified_at:%Y-%m-%d %H:%M} UTC.",
                        f"  receipt signed by the vendor, SHA-256 {record.sha256}, verified on "
                        f"{record.receipt_verified_at:%Y-%m-%d %H:%M} UTC.",
                    )
                )
        if held:
            raise CommandFailed(
                t(
                    "Noch kein Löschbeleg: die Sicherung liegt noch beim Hersteller.",
                    "No deletion receipt yet: the vendor still holds the backup.",
                ),
                EXIT_NOTHING_TO_DO,
            )
