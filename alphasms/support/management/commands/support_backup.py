"""``alphasms support backup --case CASE --token TOKEN [--since ISO] [--until ISO] [--location L]
[--real-names] [--output FILE] [--yes] [--json]``: the support backup for one case, encrypted to the vendor.
``--token`` is the case's upload token the support gives with the case id (the vendor server takes a
backup only with it); not needed with ``--output``.

Shows exactly what would be sent (counts per kind, size, destination) and asks before anything leaves
the machine; ``--yes`` answers for scripts (without a terminal it is required). ``--output FILE`` writes
the encrypted file instead of uploading it. Contents and pseudonymisation:
``alphasms.support.support_backup``.

Exit codes: 0 sent (or written); 1 the vendor server was unreachable or refused it; 2 bad option,
no confirmation, or the case was sent before (nothing sent); 3 the user answered no.
JSON: {"case", "sha256", "size_bytes", "counts", "pseudonymised", "destination_url" ("" for a file),
"uploaded_at", "delete_by", "output"}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import EXIT_NOTHING_TO_DO, AlphaCommand, UsageError, parse_instant
from alphasms.support.management.commands._support_common import CommandFailed
from alphasms.support.support_backup import (
    DEFAULT_DAYS_AFTER,
    DEFAULT_DAYS_BEFORE,
    SupportBackupError,
    SupportBackupPreview,
    UsageProblem,
    case_state,
    preview_support_backup,
    upload_support_backup,
    validate_case_token,
    write_support_backup,
)

_KIND_LABELS = {
    "locations": ("Standorte", "locations"),
    "reminder_rules": ("Erinnerungsregeln", "reminder rules"),
    "appointment_types": ("Terminarten", "appointment types"),
    "appointments": ("Termine", "appointments"),
    "customers": ("Kunden (nur die dieser Termine)", "customers (only those of these appointments)"),
}


class Command(AlphaCommand):
    help = (
        "Erstellt die Support-Sicherung für einen Fall (Standorte, Regeln, Termine im Zeitraum und deren "
        "Kunden – nie Zugangsdaten oder Schlüssel), verschlüsselt für den Hersteller, zeigt, was gesendet "
        "würde, und lädt sie erst nach Bestätigung hoch."
    )
    help_en = (
        "Makes the support backup for one case (locations, rules, appointments in the range and their "
        "customers – never credentials or keys), encrypted to the vendor, shows what would be sent and "
        "uploads it only after confirmation."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--case", required=True, metavar="CASE", help=t("Fallnummer des Supports", "support case id")
        )
        parser.add_argument(
            "--token",
            metavar="TOKEN",
            help=t(
                "Upload-Schlüssel des Falls, vom Support mit der Fallnummer genannt "
                "(nicht nötig mit --output)",
                "the case's upload token the support gave with the case id (not needed with --output)",
            ),
        )
        parser.add_argument(
            "--since",
            metavar="ISO",
            help=t(
                f"Termine ab diesem Zeitpunkt (Standard: vor {DEFAULT_DAYS_BEFORE} Tagen)",
                f"appointments from this instant (default: {DEFAULT_DAYS_BEFORE} days ago)",
            ),
        )
        parser.add_argument(
            "--until",
            metavar="ISO",
            help=t(
                f"Termine bis zu diesem Zeitpunkt (Standard: in {DEFAULT_DAYS_AFTER} Tagen)",
                f"appointments until this instant (default: in {DEFAULT_DAYS_AFTER} days)",
            ),
        )
        parser.add_argument(
            "--location",
            metavar="L",
            help=t("nur dieser Standort (Nummer oder Name)", "only this location (id or name)"),
        )
        parser.add_argument(
            "--real-names",
            action="store_true",
            help=t(
                "echte Namen, Nummern und E-Mail-Adressen senden (Standard: pseudonymisiert)",
                "send real names, numbers and e-mail addresses (default: pseudonymised)",
            ),
        )
        parser.add_argument(
            "--output",
            metavar="FILE",
            help=t(
                "verschlüsselte Datei hierhin schreiben statt hochzuladen",
                "write the encrypted file here instead of uploading it",
            ),
        )
        parser.add_argument(
            "--yes", action="store_true", help=t("ohne Rückfrage senden", "send without asking")
        )
        parser.add_argument("--json", action="store_true", help=t("Ergebnis als JSON", "result as JSON"))

    def handle(self, *args: Any, **options: Any) -> None:
        since = parse_instant(options["since"], "--since") if options["since"] else None
        until = parse_instant(options["until"], "--until") if options["until"] else None
        output = Path(options["output"]).expanduser() if options["output"] else None
        token = ""
        try:
            if output is None:
                if not options["token"]:
                    raise UsageProblem(
                        t(
                            "--token fehlt: der Hersteller-Server nimmt eine Support-Sicherung nur mit "
                            "dem Upload-Schlüssel des Falls an – ihn beim Support erfragen (oder --output "
                            "DATEI).",
                            "--token is missing: the vendor server takes a support backup only with the "
                            "case's upload token – ask the support for it (or use --output FILE).",
                        )
                    )
                token = validate_case_token(options["token"])
            preview = preview_support_backup(
                options["case"],
                since=since,
                until=until,
                location=options["location"],
                pseudonymise=not options["real_names"],
            )
        except SupportBackupError as exc:
            raise CommandFailed(exc.user_message, exc.exit_code) from exc
        out = self.stderr if options["json"] else self.stdout
        out.write(self._describe(preview, output))
        if not options["yes"]:
            self._confirm(output)
        try:
            if output is not None:
                record = write_support_backup(preview, output)
            else:
                record = upload_support_backup(preview, token=token)
        except SupportBackupError as exc:
            raise CommandFailed(exc.user_message, exc.exit_code) from exc
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "case": record.case,
                        "sha256": record.sha256,
                        "size_bytes": record.size_bytes,
                        "counts": record.counts,
                        "pseudonymised": record.pseudonymised,
                        "destination_url": record.destination_url,
                        "uploaded_at": record.uploaded_at.isoformat() if record.uploaded_at else None,
                        "delete_by": record.delete_by.isoformat() if record.delete_by else None,
                        "output": str(output) if output else None,
                    },
                    ensure_ascii=False,
                )
            )
            return
        if output is not None:
            self.stdout.write(
                t(
                    f"Geschrieben: {output} (SHA-256 {record.sha256}). Nur für den Hersteller lesbar; "
                    "auf dem vereinbarten Weg an den Support geben.",
                    f"Written: {output} (SHA-256 {record.sha256}). Readable by the vendor only; give it "
                    "to the support the agreed way.",
                )
            )
        else:
            self.stdout.write(
                t(
                    f"Hochgeladen (SHA-256 {record.sha256}); {case_state(record)}. Den Löschbeleg zeigt "
                    f"„alphasms support receipt --case {record.case}“, sobald der Fall geschlossen ist.",
                    f"Uploaded (SHA-256 {record.sha256}); {case_state(record)}. "
                    f"'alphasms support receipt --case {record.case}' shows the deletion receipt once the "
                    "case is closed.",
                )
            )

    @staticmethod
    def _describe(preview: SupportBackupPreview, output: Path | None) -> str:
        lines = [t(f"Support-Sicherung für Fall {preview.case}:", f"Support backup for case {preview.case}:")]
        lines.append(
            t(
                f"  Zeitraum: {preview.since} bis {preview.until}",
                f"  range: {preview.since} to {preview.until}",
            )
        )
        for kind, count in preview.counts.items():
            de, en = _KIND_LABELS.get(kind, (kind, kind))
            lines.append(f"  {t(de, en)}: {count}")
        lines.append(
            t(
                "  Namen, Telefonnummern, E-Mail-Adressen: pseudonymisiert (Notizen weggelassen)",
                "  names, phone numbers, e-mail addresses: pseudonymised (notes left out)",
            )
            if preview.pseudonymised
            else t(
                "  ACHTUNG: echte Namen, Telefonnummern, E-Mail-Adressen und Notizen",
                "  CAUTION: real names, phone numbers, e-mail addresses and notes",
            )
        )
        lines.append(
            t(
                "  nie enthalten: Zugangsdaten, Schlüssel, Benutzer, Einwilligungsnachweise, Nachrichten",
                "  never included: credentials, keys, users, consent evidence, messages",
            )
        )
        lines.append(
            t(
                f"  Größe (verschlüsselt): {preview.size_bytes} Bytes",
                f"  size (encrypted): {preview.size_bytes} bytes",
            )
        )
        target = str(output) if output is not None else preview.destination_url
        lines.append(t(f"  Ziel: {target}", f"  destination: {target}"))
        return "\n".join(lines)

    def _confirm(self, output: Path | None) -> None:
        if not sys.stdin.isatty():
            raise UsageError(
                t(
                    "Keine Rückfrage möglich (keine Konsole): nach Prüfung der Angaben oben mit --yes "
                    "erneut aufrufen. Nichts gesendet.",
                    "Cannot ask (no terminal): after checking the details above, run again with --yes. "
                    "Nothing sent.",
                )
            )
        question = (
            t("Datei schreiben? [j/N] ", "Write the file? [y/N] ")
            if output is not None
            else t("Jetzt an den Hersteller senden? [j/N] ", "Send to the vendor now? [y/N] ")
        )
        self.stdout.write(question, ending="")
        self.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("j", "ja", "y", "yes"):
            raise CommandFailed(t("Nichts gesendet.", "Nothing sent."), EXIT_NOTHING_TO_DO)
