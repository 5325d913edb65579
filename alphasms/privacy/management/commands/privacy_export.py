"""``alphasms privacy export --customer NUMBER [--json] [--output FILE] [--language de|en]``: everything
stored about one person (GDPR Art. 15 access, Art. 20 portability).

Without ``--output`` the export goes to standard output: JSON with ``--json``, else plain text. With
``--output FILE`` it is written to FILE (JSON with ``--json``, else a readable HTML page), readable by the
file's owner only. Every export writes an audit entry.

Exit codes: 0 done, 2 unknown customer or usage error. JSON: see ``privacy.subject_rights.ExportDict``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import cli_language, t
from alphasms.commands import AlphaCommand, UsageError
from alphasms.privacy.management.commands._subject import actor, add_person_arguments, get_person
from alphasms.privacy.subject_rights import export_person, render_export_html, render_export_text


class Command(AlphaCommand):
    help = "Auskunft (Art. 15/20 DSGVO): alle gespeicherten Daten eines Kunden als Text, HTML oder JSON."
    help_en = "Access (GDPR Art. 15/20): all data stored about a customer as text, HTML or JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        add_person_arguments(parser)
        parser.add_argument(
            "--output",
            metavar=t("DATEI", "FILE"),
            help=t(
                "in diese Datei schreiben (HTML, mit --json JSON)", "write to FILE (HTML, JSON with --json)"
            ),
        )
        parser.add_argument(
            "--language",
            choices=["de", "en"],
            help=t("Sprache der Auskunft (Standard: die der Kommandozeile)", "language (default: the CLI's)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        customer = get_person(options)
        language = options["language"] or cli_language()
        data = export_person(customer, actor())
        if options["json"]:
            text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        elif options["output"]:
            text = render_export_html(data, language)
        else:
            text = render_export_text(data, language)
        if not options["output"]:
            self.stdout.write(text, ending="")
            return
        write_private(Path(options["output"]), text)
        kind = "JSON" if options["json"] else "HTML"
        self.stdout.write(
            t(
                f"Auskunft für Kunde #{customer.pk} geschrieben: {options['output']} ({kind})",
                f"Export of customer #{customer.pk} written: {options['output']} ({kind})",
            )
        )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``, created readable by its owner only (it holds personal data)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(
            t(
                f"--output: {path} lässt sich nicht schreiben ({exc.strerror}) – Pfad und Rechte prüfen.",
                f"--output: cannot write {path} ({exc.strerror}) – check the path and permissions.",
            )
        ) from None
