"""``alphasms update check [--yes] [--download DIR] [--json]``: ask the vendor for updates, by hand only.

Shows first exactly what will be sent and where, asks for confirmation (``--yes`` skips it; without a
terminal ``--yes`` is required), then sends the four fields and verifies the signed manifest.

Exit codes: 0 checked (with or without an update); 1 the check failed or its answer was refused
(unreachable, unsigned, foreign key, expired, rolled back, download hash mismatch); 2 usage error
(no terminal and no ``--yes``, vendor URL not https, ``--download`` folder unusable) – nothing sent;
3 not confirmed – nothing sent.
JSON (``--json``; the preview then goes to stderr): the keys of ``UpdateResult.as_dict`` plus
``downloaded`` (path or null) and ``install_command``; on failure ``{"error": code, "message": …}`` on
stdout (the sentence on stderr too) – also for the refusals of exit 2, whose codes are ``no_terminal``,
``vendor_url_refused`` and ``download_folder``, and for "no" (exit 3, ``not_confirmed``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import EXIT_NOTHING_TO_DO, EXIT_SOME_FAILED, AlphaCommand, UsageError
from alphasms.licensing.update import (
    UpdateCheckError,
    VendorUrlRefused,
    download_update,
    install_command,
    preview_update_request,
    run_update_check,
)


def _plain(text: str) -> str:
    return text


class _Refused(UsageError):
    """A refusal (exit 2, nothing sent) with ``code``, the ``error`` value of the ``--json`` answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_usage = _Refused


class Command(AlphaCommand):
    help = "Fragt beim Hersteller nach Updates – zeigt vorher genau, was gesendet wird."
    help_en = "Asks the vendor for updates – shows first exactly what will be sent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--yes", action="store_true", help=t("ohne Rückfrage senden", "send without asking")
        )
        parser.add_argument(
            "--download",
            metavar=t("ORDNER", "DIR"),
            help=t(
                "die neue Version in diesen Ordner laden und ihre SHA-256-Prüfsumme prüfen",
                "download the new version into this folder and verify its SHA-256",
            ),
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._check(options)
        except UsageError as exc:
            if options["json"]:  # the same shape as a failed check, so a script reads one thing
                code = exc.code if isinstance(exc, _Refused) else "usage"
                self.stdout.write(json.dumps({"error": code, "message": str(exc)}, ensure_ascii=False))
            raise

    def _check(self, options: dict[str, Any]) -> None:
        folder = self._download_folder(options["download"])
        try:
            preview = preview_update_request()
        except VendorUrlRefused as exc:
            raise _usage("vendor_url_refused", str(exc)) from None
        shown = self.stderr if options["json"] else self.stdout
        shown.write(preview.text(), style_func=_plain)  # information, not an error, even on stderr
        if not options["yes"] and not self._confirmed():
            shown.write(t("Nichts gesendet.", "Nothing sent."), style_func=_plain)
            if options["json"]:
                message = t("Nicht bestätigt – nichts gesendet.", "Not confirmed – nothing sent.")
                self.stdout.write(
                    json.dumps({"error": "not_confirmed", "message": message}, ensure_ascii=False)
                )
            sys.exit(EXIT_NOTHING_TO_DO)
        try:
            result = run_update_check(preview)
            downloaded = None
            if folder is not None and result.update_available:
                downloaded = download_update(result.manifest, folder)
        except UpdateCheckError as exc:
            if options["json"]:
                self.stdout.write(json.dumps({"error": exc.code, "message": str(exc)}, ensure_ascii=False))
            self.stderr.write(str(exc))
            sys.exit(EXIT_SOME_FAILED)
        if options["json"]:
            data = result.as_dict()
            data["downloaded"] = str(downloaded) if downloaded else None
            data["install_command"] = install_command(downloaded) if downloaded else data["pip_command"]
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        m = result.manifest
        if not result.update_available:
            self.stdout.write(
                t(
                    f"AlphaSMS {result.current_version} ist aktuell (neueste Version: {m.latest_version}).",
                    f"AlphaSMS {result.current_version} is up to date (latest version: {m.latest_version}).",
                )
            )
            return
        self.stdout.write(
            t(
                f"Neue Version {m.latest_version} verfügbar (installiert: {result.current_version}).",
                f"New version {m.latest_version} available (installed: {result.current_version}).",
            )
        )
        if m.release_notes:
            self.stdout.write(t("Änderungen:", "Changes:") + "\n" + m.release_notes)
        if downloaded is not None:
            self.stdout.write(
                t(
                    f"Heruntergeladen und geprüft (SHA-256 {m.sha256}): {downloaded}\nInstallieren mit:",
                    f"Downloaded and verified (SHA-256 {m.sha256}): {downloaded}\nInstall with:",
                )
            )
            self.stdout.write(f"  {install_command(downloaded)}")
            return
        self.stdout.write(t("Aktualisieren mit:", "Update with:"))
        self.stdout.write(f"  {result.pip_command}")
        self.stdout.write(
            t(
                f"oder die Datei laden und prüfen: alphasms update check --download ORDNER "
                f"({m.download_url}, SHA-256 {m.sha256})",
                f"or download and verify the file: alphasms update check --download DIR "
                f"({m.download_url}, SHA-256 {m.sha256})",
            )
        )

    def _download_folder(self, value: str | None) -> Path | None:
        if value is None:
            return None
        folder = Path(value)
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise _usage(
                "download_folder",
                t(
                    f"--download: {value!r} ist kein beschreibbarer Ordner – einen vorhandenen angeben.",
                    f"--download: {value!r} is not a writable folder – give an existing folder.",
                ),
            )
        return folder

    def _confirmed(self) -> bool:
        if not sys.stdin.isatty():
            raise _usage(
                "no_terminal",
                t(
                    "Keine Rückfrage möglich (kein Terminal) – mit --yes bestätigen, dass diese Angaben "
                    "gesendet werden dürfen; nichts gesendet.",
                    "Cannot ask (no terminal) – confirm with --yes that this may be sent; nothing sent.",
                ),
            )
        # A question, not an error: plain text (stderr's default style is bold red on a terminal).
        self.stderr.write(t("Jetzt senden? [j/N] ", "Send now? [y/N] "), style_func=_plain, ending="")
        self.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        return answer in {"j", "ja", "y", "yes"}
