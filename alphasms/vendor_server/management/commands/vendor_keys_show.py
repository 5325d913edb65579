"""``alphasms vendor keys show [--json]``: the public signing key (text form the client ships as
``VENDOR_SIGNING_PUBLIC_KEY``) and the age recipient (``VENDOR_AGE_RECIPIENT``). Generates both keys on
first use. Private halves are never shown. JSON: {"signing_public_key", "age_recipient",
"signing_key_file", "age_identity_file"}."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.vendor_server.commands import VendorCommand
from alphasms.vendor_server.conf import vendor_settings
from alphasms.vendor_server.keys import age_recipient, public_key_text
from alphasms.vendor_server.services.common import age_identity, signing_key


class Command(VendorCommand):
    help = "Zeigt den öffentlichen Signaturschlüssel und den age-Empfänger des Herstellers."
    help_en = "Shows the vendor's public signing key and age recipient."
    requires_migrations_checks = False  # needs no database

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        result = {
            "signing_public_key": public_key_text(signing_key()),
            "age_recipient": age_recipient(age_identity()),
            "signing_key_file": str(vendor_settings.SIGNING_KEY_FILE),
            "age_identity_file": str(vendor_settings.AGE_IDENTITY_FILE),
        }
        if options["json"]:
            self.print_json(result)
            return
        self.stdout.write(
            t(
                f"Signaturschlüssel (öffentlich): {result['signing_public_key']}\n"
                f"age-Empfänger: {result['age_recipient']}\n"
                f"Private Schlüssel: {result['signing_key_file']}, {result['age_identity_file']} "
                "(geheim halten und sichern)",
                f"Signing key (public): {result['signing_public_key']}\n"
                f"age recipient: {result['age_recipient']}\n"
                f"Private keys: {result['signing_key_file']}, {result['age_identity_file']} "
                "(keep secret, back up)",
            )
        )
