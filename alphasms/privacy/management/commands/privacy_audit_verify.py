"""``alphasms privacy audit-verify``: recompute the audit log's hash chain.

Exit codes: 0 intact, 1 broken (the first entry that does not match is named).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from alphasms.cli_text import t
from alphasms.privacy.audit import verify_chain
from alphasms.privacy.models import AuditEntry


class Command(BaseCommand):
    help = "Prüft die Hash-Kette des Datenschutz-Protokolls und nennt den ersten veränderten Eintrag."

    def handle(self, *args: Any, **options: Any) -> None:
        problem = verify_chain()
        count = AuditEntry.objects.count()
        if problem is None:
            self.stdout.write(
                t(f"Protokoll unversehrt: {count} Einträge.", f"Audit log intact: {count} entries.")
            )
            return
        self.stderr.write(
            t(f"Protokoll verändert: {problem.reason}", f"Audit log tampered with: {problem.reason}")
        )
        sys.exit(1)
