"""``alphasms vendor case decrypt CASE --out FILE``: decrypt a held support backup with the vendor's age
identity into a new file (mode 0600; an existing file is never overwritten). The encrypted original stays
until the case is closed or expires; delete the decrypted copy yourself when done. Exit 2 for an
unknown or already deleted case, or when FILE exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import UsageError, shown
from alphasms.vendor_server.commands import VendorCommand
from alphasms.vendor_server.services.support import SupportError, decrypt_backup, find_case


class Command(VendorCommand):
    help = "Entschlüsselt eine Support-Sicherung mit dem age-Schlüssel des Herstellers."
    help_en = "Decrypts a support backup with the vendor's age identity."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("case", metavar=t("FALL", "CASE"))
        parser.add_argument("--out", required=True, metavar=t("DATEI", "FILE"))

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(options["out"])
        try:
            size = decrypt_backup(find_case(options["case"]), target)
        except SupportError as exc:
            raise UsageError(f"{shown(options['case'])!r}: {exc}") from None
        except FileExistsError:
            raise UsageError(
                t(
                    f"--out {target}: Datei existiert schon – anderen Namen wählen.",
                    f"--out {target}: file exists – choose another name.",
                )
            ) from None
        self.stdout.write(
            t(f"{size} Bytes entschlüsselt nach {target}.", f"{size} bytes decrypted to {target}.")
        )
