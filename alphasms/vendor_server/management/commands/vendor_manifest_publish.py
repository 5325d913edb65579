"""``alphasms vendor manifest publish --version V --url URL (--sha256 HEX | --file FILE) [--notes TEXT]
[--expires-in DAYS] [--counter N] [--json]``: sign and publish the update manifest every update check
answers from now on. The counter rises by one on its own (clients refuse a lower one than they saw);
``--counter`` sets it explicitly (unused values only), ``--expires-in 0`` makes an already expired one —
both for testing clients. JSON: the signed envelope. Exit 2 on bad input (nothing published)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import UsageError, int_range
from alphasms.vendor_server.commands import VendorCommand
from alphasms.vendor_server.services.publishing import PublishError, publish_manifest


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of the file at ``path``; UsageError naming --file when unreadable."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                digest.update(chunk)
    except OSError as exc:
        raise UsageError(
            t(
                f"--file {path}: nicht lesbar ({exc.strerror})",
                f"--file {path}: not readable ({exc.strerror})",
            )
        ) from None
    return digest.hexdigest()


class Command(VendorCommand):
    help = "Signiert und veröffentlicht das Update-Manifest."
    help_en = "Signs and publishes the update manifest."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # Django always registers its own (hidden) --version; ours means the release being published.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--version", required=True, dest="latest_version", help=t("neue Version", "new version")
        )
        parser.add_argument("--notes", default="", help=t("Versionshinweise", "release notes"))
        parser.add_argument(
            "--url", required=True, help=t("Download-Adresse (https)", "download URL (https)")
        )
        digest = parser.add_mutually_exclusive_group(required=True)
        digest.add_argument(
            "--sha256", help=t("SHA-256 des Downloads (hex)", "SHA-256 of the download (hex)")
        )
        digest.add_argument(
            "--file", help=t("Download-Datei; SHA-256 wird berechnet", "download file; SHA-256 computed")
        )
        parser.add_argument(
            "--expires-in",
            type=int_range(0, 3650),
            default=30,
            help=t("gültig für TAGE (Standard 30)", "valid for DAYS (default 30)"),
        )
        parser.add_argument(
            "--counter",
            type=int_range(1, 2**31 - 1),
            help=t("Zähler ausdrücklich setzen", "set the counter explicitly"),
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        sha256 = options["sha256"] or file_sha256(Path(options["file"]))
        try:
            manifest = publish_manifest(
                version=options["latest_version"],
                notes=options["notes"],
                url=options["url"],
                sha256=sha256,
                expires_in=dt.timedelta(days=options["expires_in"]),
                counter=options["counter"],
            )
        except PublishError as exc:
            raise UsageError(str(exc)) from None
        if options["json"]:
            self.print_json(manifest.envelope)
            return
        payload = manifest.envelope["payload"]
        self.stdout.write(
            t(
                f"Manifest {payload['counter']} veröffentlicht: Version {payload['latest_version']}, "
                f"gültig bis {payload['expires_at']}, SHA-256 {payload['sha256']}",
                f"Manifest {payload['counter']} published: version {payload['latest_version']}, "
                f"valid until {payload['expires_at']}, SHA-256 {payload['sha256']}",
            )
        )
