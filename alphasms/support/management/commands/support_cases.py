"""``alphasms support cases [--json]``: every support backup made here and where it is now (held by the
vendor until …, deleted with verified receipt, or only written to a file).

Exit code 0. JSON: [{"case", "created_at", "size_bytes", "counts", "pseudonymised", "uploaded_at",
"delete_by", "deleted_at", "reason", "receipt_verified", "state"}].
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import AlphaCommand
from alphasms.support.models import SupportCase
from alphasms.support.support_backup import case_state


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


class Command(AlphaCommand):
    help = "Listet die Support-Sicherungen und ihren Stand (beim Hersteller, gelöscht mit Beleg, nur Datei)."
    help_en = (
        "Lists the support backups and their state (held by the vendor, deleted with receipt, file only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help=t("als JSON", "as JSON"))

    def handle(self, *args: Any, **options: Any) -> None:
        cases = list(SupportCase.objects.order_by("-created_at", "-pk"))
        if options["json"]:
            rows = [
                {
                    "case": c.case,
                    "created_at": _iso(c.created_at),
                    "size_bytes": c.size_bytes,
                    "counts": c.counts,
                    "pseudonymised": c.pseudonymised,
                    "uploaded_at": _iso(c.uploaded_at),
                    "delete_by": _iso(c.delete_by),
                    "deleted_at": _iso(c.deleted_at),
                    "reason": c.deletion_reason,
                    "receipt_verified": c.receipt_verified_at is not None,
                    "state": case_state(c),
                }
                for c in cases
            ]
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        if not cases:
            self.stdout.write(t("Keine Support-Sicherungen.", "No support backups."))
            return
        for c in cases:
            self.stdout.write(f"{c.case}  {c.created_at:%Y-%m-%d}  {c.size_bytes} B  {case_state(c)}")
