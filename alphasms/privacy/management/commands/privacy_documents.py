"""``alphasms privacy documents records|notice``: the records of processing (GDPR Art. 30) or the privacy
notice for the business's customers (Art. 13/14), generated from the current configuration.

Exit codes: 0 written; 2 usage error or a setting that names no known SMS gateway (nothing written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alphasms.cli_text import cli_language, t
from alphasms.messaging.gateways.errors import GatewayMisconfigured
from alphasms.privacy.documents import FORMATS, KINDS, LANGUAGES, render_document

EXIT_USAGE = 2


class Command(BaseCommand):
    help = t(
        "Erzeugt aus der aktuellen Konfiguration das Verzeichnis von Verarbeitungstätigkeiten (records, "
        "Art. 30 DSGVO) oder die Datenschutzhinweise für Kunden (notice, Art. 13/14 DSGVO).",
        "Generates the records of processing (records, Art. 30 GDPR) or the privacy notice for customers "
        "(notice, Art. 13/14 GDPR) from the current configuration.",
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS, help=t("records oder notice", "records or notice"))
        parser.add_argument(
            "--language", choices=LANGUAGES, default=cli_language(), help=t("Sprache", "language")
        )
        parser.add_argument("--format", dest="fmt", choices=FORMATS, default="md", help="md | html")
        parser.add_argument(
            "--output", metavar="FILE", default="", help=t("Datei statt Ausgabe", "file instead of stdout")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = render_document(options["kind"], options["language"], options["fmt"])
        except GatewayMisconfigured as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from exc
        output = options["output"]
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(
                t(f"{output}: nicht schreibbar ({exc.strerror})", f"{output}: cannot write ({exc.strerror})"),
                returncode=EXIT_USAGE,
            ) from exc
        self.stdout.write(t(f"Geschrieben: {output}", f"Written: {output}"))
