"""The vendor's command words (``alphasms vendor-server``, ``alphasms vendor GROUP SUB``) mapped to the
management commands of the vendor settings. Framework-free: runs before Django is set up, because the
words decide which settings module Django gets."""

from __future__ import annotations

import sys

from alphasms.cli_text import t

VENDOR_SETTINGS = "alphasms.vendor_server.settings"
EXIT_USAGE = 2

GROUPS: dict[str, tuple[str, ...]] = {
    "licence": ("issue",),
    "licences": ("active",),
    "manifest": ("publish",),
    "checks": ("list", "purge"),
    "case": ("open", "close", "decrypt"),
    "cases": ("list", "purge"),
    "keys": ("show",),
}

# (usage de, usage en, what de, what en) — README "The vendor's server" lists the same.
OVERVIEW = (
    ("vendor-server [--host H] [--port P] [--ready-file DATEI]",
     "vendor-server [--host H] [--port P] [--ready-file FILE]",
     "der Server des Herstellers (eigene Einstellungen und Datenbank; wendet Migrationen an)",
     "the vendor's server (own settings and database; applies its migrations)"),
    ("vendor licence issue --name NAME --edition E --locations N --expires JJJJ-MM-TT [--json]",
     "vendor licence issue --name NAME --edition E --locations N --expires YYYY-MM-DD [--json]",
     "Lizenznummer ausstellen und signieren", "issue and sign a licence number"),
    ("vendor manifest publish --version V --url URL (--sha256 HEX | --file DATEI) [--notes T] "
     "[--expires-in TAGE] [--json]",
     "vendor manifest publish --version V --url URL (--sha256 HEX | --file FILE) [--notes T] "
     "[--expires-in DAYS] [--json]",
     "Update-Manifest signieren und veröffentlichen (Zähler steigt automatisch)",
     "sign and publish the update manifest (counter increases by itself)"),
    ("vendor checks list [--month JJJJ-MM] [--json]", "vendor checks list [--month YYYY-MM] [--json]",
     "aufgezeichnete Update-Prüfungen", "recorded update checks"),
    ("vendor checks purge [--json]", "vendor checks purge [--json]",
     "Update-Prüfungen nach Ablauf der Aufbewahrung löschen", "delete update checks past their retention"),
    ("vendor licences active --month JJJJ-MM [--json]", "vendor licences active --month YYYY-MM [--json]",
     "Lizenzen, die in dem Monat nach Updates gefragt haben (Abrechnung)",
     "licences that checked for updates in that month (billing)"),
    ("vendor cases list [--json]", "vendor cases list [--json]",
     "Support-Fälle mit Sicherung, Status und Löschfrist", "support cases with backup, status and deadline"),
    ("vendor case open FALL [--json]", "vendor case open CASE [--json]",
     "Fall eröffnen: zeigt einmalig den Upload-Schlüssel für die Praxis",
     "open a case: shows the practice's upload token, once"),
    ("vendor case close FALL [--json]", "vendor case close CASE [--json]",
     "Fall schließen: Support-Sicherung löschen, Quittung signieren",
     "close a case: delete its support backup, sign the receipt"),
    ("vendor case decrypt FALL --out DATEI", "vendor case decrypt CASE --out FILE",
     "Support-Sicherung mit dem age-Schlüssel des Herstellers entschlüsseln",
     "decrypt a support backup with the vendor's age identity"),
    ("vendor cases purge [--json]", "vendor cases purge [--json]",
     "abgelaufene Support-Sicherungen löschen (läuft auch im Server)",
     "delete expired support backups (also runs inside the server)"),
    ("vendor keys show [--json]", "vendor keys show [--json]",
     "öffentlicher Signaturschlüssel und age-Empfänger", "public signing key and age recipient"),
)  # fmt: skip


def overview(prog: str, only: str = "") -> str:
    """The vendor commands in the user's language; ``only`` limits them to one group."""
    lines = (
        [] if only else [t("AlphaSMS – Befehle des Herstellers:", "AlphaSMS – the vendor's commands:"), ""]
    )
    for usage_de, usage_en, what_de, what_en in OVERVIEW:
        if only and not usage_en.startswith(f"vendor {only} "):
            continue
        lines += [f"  {prog} {t(usage_de, usage_en)}", f"      {t(what_de, what_en)}"]
    return "\n".join(lines) + "\n"


def command_name(group: str, sub: str) -> str:
    """The management command behind ``vendor GROUP SUB``: "vendor_licence_issue"."""
    return f"vendor_{group}_{sub}"


def display_name(command: str) -> str:
    """``vendor_licence_issue`` → ``vendor licence issue``; ``vendor_server`` → ``vendor-server``."""
    if command == "vendor_server":
        return "vendor-server"
    return command.replace("_", " ")


def translate(args: list[str], prog: str) -> list[str] | int:
    """``args`` starting with ``vendor-server`` or ``vendor`` as Django command arguments, or the exit
    code after help or a usage error was printed (0 for help, 2 otherwise)."""
    if args[0] == "vendor-server":
        return ["vendor_server", *args[1:]]
    if len(args) == 1 or args[1] in ("-h", "--help", "help"):
        sys.stdout.write(overview(prog))
        return 0 if len(args) > 1 else EXIT_USAGE
    group = args[1]
    if group not in GROUPS:
        sys.stderr.write(
            t(
                f"{prog} vendor: Gruppe {group!r} gibt es nicht – möglich: {', '.join(GROUPS)} "
                f"(Hilfe: {prog} vendor --help).\n",
                f"{prog} vendor: there is no group {group!r} – possible: {', '.join(GROUPS)} "
                f"(help: {prog} vendor --help).\n",
            )
        )
        return EXIT_USAGE
    if len(args) >= 3 and args[2] in ("-h", "--help"):
        sys.stdout.write(overview(prog, only=group))
        return 0
    if len(args) < 3 or args[2] not in GROUPS[group]:
        subs = "|".join(GROUPS[group])
        sys.stderr.write(
            t(
                f"{prog} vendor {group} braucht einen Unterbefehl: {prog} vendor {group} {subs}.\n",
                f"{prog} vendor {group} needs a sub-command: {prog} vendor {group} {subs}.\n",
            )
        )
        return EXIT_USAGE
    return [command_name(group, args[2]), *args[3:]]
