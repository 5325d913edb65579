"""The ``alphasms`` console script: Django's management commands behind one entry point.

``alphasms run`` starts web app and worker, ``alphasms import ics FILE`` imports a calendar, and so on;
any Django command (``migrate``, ``createsuperuser``) works too. ``alphasms`` alone or ``alphasms help``
lists the commands. Exit codes: 0 success, 1 some sends or rows failed, 2 usage error or unreadable
input (nothing changed), 3 nothing to do.
"""

from __future__ import annotations

import difflib
import os
import sys

from alphasms.cli_text import t

EXIT_USAGE = 2

# Sub-commands written as two words map to one management command: "import ics" → "import_ics".
GROUPS: dict[str, tuple[str, ...]] = {
    "import": ("ics", "csv"),
    "calendar": ("occurrences",),
    "sms": ("info", "spend"),
    "phone": ("normalize",),
    "privacy": ("export", "erase", "restrict", "unrestrict", "purge", "audit-verify", "link", "documents"),
    "licence": ("set", "show"),
    "update": ("check",),
    "backup": ("create", "restore", "list"),
    "support": ("backup", "receipt", "cases", "remote"),
}
_TWO_WORD = {
    (group, sub): f"{group}_{sub.replace('-', '_')}" for group, subs in GROUPS.items() for sub in subs
}
_DISPLAY = {command: f"{group} {sub}" for (group, sub), command in _TWO_WORD.items()}

# The README's "Everyday commands": (usage de, usage en, what it does de, en).
_OVERVIEW = (
    ("run [--host H] [--port P]", "run [--host H] [--port P]",
     "Web-Anwendung und Worker zusammen (wendet vorher die Migrationen an)",
     "web app and worker together (applies migrations first)"),
    ("worker [--once]", "worker [--once]",
     "nur der Worker: Erinnerungen planen, Kalender-Abos abrufen, senden",
     "only the worker: plan reminders, refresh calendar subscriptions, send"),
    ("import ics DATEI_ODER_URL [--location L] [--subscribe] [--json]",
     "import ics FILE_OR_URL [--location L] [--subscribe] [--json]",
     "Kalender importieren; ganz oder gar nicht", "import a calendar; whole or nothing"),
    ("import csv DATEI [--location L] [--map FELD=Spalte] [--consent sms,email --wording V] [--json]",
     "import csv FILE [--location L] [--map FIELD=Header] [--consent sms,email --wording V] [--json]",
     "Kunden und Termine importieren; gültige Zeilen werden übernommen, jede abgelehnte aufgelistet",
     "import customers and appointments; valid rows apply, every rejected row is listed"),
    ("calendar occurrences DATEI --from ISO --to ISO [--tz Europe/Berlin] [--json]",
     "calendar occurrences FILE --from ISO --to ISO [--tz Europe/Berlin] [--json]",
     "was AlphaSMS aus einem Kalender liest, ohne die Datenbank zu berühren",
     "what the product reads from a calendar, without touching the database"),
    ("preview --until ISO [--json]", "preview --until ISO [--json]",
     "jede Nachricht, die bis zu diesem Zeitpunkt verschickt würde, mit Teilen und Kosten; ändert nichts",
     "every message that would go out until that instant, with parts and cost; changes nothing"),
    ("sms info TEXT [--smart] [--country DE] [--json]", "sms info TEXT [--smart] [--country DE] [--json]",
     "Kodierung (GSM-7/UCS-2), Teile, Einheiten, Ersetzungen und Kosten eines Textes",
     "encoding (GSM-7/UCS-2), parts, units, replacements and cost of a text"),
    ("sms spend [--json]", "sms spend [--json]",
     "SMS-Kosten des laufenden Monats je Standort und Budget",
     "this month's SMS spend per location against its budget"),
    ("phone normalize NUMMER [--country CC] [--json]", "phone normalize INPUT [--country CC] [--json]",
     "die Nummer als E.164, ihr Typ, ob eine SMS sie erreicht, und was zu prüfen ist",
     "the number as E.164, its type, whether an SMS reaches it, and every reason to check it"),
    ("privacy export|erase|restrict|unrestrict --customer NUMMER [--json]",
     "privacy export|erase|restrict|unrestrict --customer NUMBER [--json]",
     "Auskunft (Art. 15/20), Löschung (Art. 17), Einschränkung (Art. 18) für eine Person",
     "access (Art. 15/20), erasure (Art. 17), restriction (Art. 18) for one person"),
    ("privacy purge [--dry-run]", "privacy purge [--dry-run]",
     "abgelaufene Aufbewahrungsfristen anwenden (läuft auch täglich im Worker)",
     "apply expired retention periods (also runs daily in the worker)"),
    ("privacy audit-verify", "privacy audit-verify",
     "die Hash-Kette des Datenschutz-Protokolls prüfen", "verify the audit log's hash chain"),
    ("privacy link --customer NUMMER [--days N]", "privacy link --customer NUMBER [--days N]",
     "persönlichen, befristeten Datenschutz-Link eines Kunden ausgeben",
     "print a customer's personal, expiring privacy link"),
    ("privacy documents records|notice [--language de|en] [--format md|html]",
     "privacy documents records|notice [--language de|en] [--format md|html]",
     "Verzeichnis der Verarbeitungstätigkeiten (Art. 30) bzw. Datenschutzhinweise aus der Konfiguration",
     "records of processing (Art. 30) or privacy notice from the configuration"),
    ("licence set --name NAME --number LIZENZNUMMER [--json]",
     "licence set --name NAME --number LICENCE [--json]",
     "Lizenz offline prüfen und speichern (ohne Lizenz: Testmodus)",
     "verify a licence offline and store it (without one: evaluation mode)"),
    ("licence show [--json]", "licence show [--json]",
     "Lizenz oder Testmodus und die in diesem Monat verbleibenden Nachrichten",
     "the licence, or evaluation mode and the messages left this month"),
    ("update check [--yes] [--download ORDNER] [--json]", "update check [--yes] [--download DIR] [--json]",
     "nach Updates fragen: zeigt zuerst genau, was gesendet wird (nur auf Ihren Aufruf)",
     "ask for updates: shows first exactly what is sent (only when you run it)"),
    ("backup create [--passphrase-file DATEI | --recipient AGE1…] [--json]",
     "backup create [--passphrase-file FILE | --recipient AGE1…] [--json]",
     "verschlüsselte, geprüfte Sicherung der laufenden Datenbank (der Worker sichert täglich)",
     "encrypted, verified backup of the running database (the worker backs up daily)"),
    ("backup restore DATEI [--passphrase-file DATEI | --identity-file DATEI] [--verify-only]",
     "backup restore FILE [--passphrase-file FILE | --identity-file FILE] [--verify-only]",
     "Sicherung ganz prüfen, dann wiederherstellen; spätere Löschungen/Einschränkungen bleiben",
     "verify the whole backup, then restore it; later erasures/restrictions stay"),
    ("backup list [--json]", "backup list [--json]",
     "die Sicherungen im Sicherungsordner (7 tägliche, 4 wöchentliche werden behalten)",
     "the backups in the backup folder (7 daily, 4 weekly are kept)"),
    ("support backup --case FALL --token SCHLÜSSEL [--since ISO] [--until ISO] [--location L] [--real-names] "
     "[--output DATEI] [--yes] [--json]",
     "support backup --case CASE --token TOKEN [--since ISO] [--until ISO] [--location L] [--real-names] "
     "[--output FILE] [--yes] [--json]",
     "Support-Sicherung für einen Fall: nur Termindaten, pseudonymisiert, für den Hersteller verschlüsselt; "
     "zeigt vorher, was gesendet wird",
     "support backup for one case: appointment data only, pseudonymised, encrypted to the vendor; shows "
     "first what is sent"),
    ("support receipt --case FALL [--json]", "support receipt --case CASE [--json]",
     "signierten Löschbeleg des Herstellers abholen, prüfen, speichern und zeigen",
     "fetch, verify, store and show the vendor's signed deletion receipt"),
    ("support cases [--json]", "support cases [--json]",
     "Support-Sicherungen und ihr Stand (beim Hersteller bis …, gelöscht mit Beleg)",
     "support backups and their state (held by the vendor until …, deleted with receipt)"),
    ("support remote", "support remote",
     "Fernwartung mit RustDesk starten (ID und Einmal-Passwort im RustDesk-Fenster; protokolliert)",
     "start remote maintenance with RustDesk (ID and one-time password in its window; logged)"),
    ("send-test --gateway NAME --to NUMMER|ADRESSE", "send-test --gateway NAME --to NUMBER|ADDRESS",
     "eine Testnachricht senden; bei Fehlern: Zugangsdaten, Absender, Nummer, Netz oder TLS?",
     "send one test message; on failure: credentials, sender, number, network or TLS?"),
    ("vendor-server [--host H] [--port P]", "vendor-server [--host H] [--port P]",
     "der Server des Herstellers (eigene Einstellungen und Datenbank)",
     "the vendor's server (own settings and database)"),
    ("vendor licence|licences|manifest|checks|case|cases|keys …",
     "vendor licence|licences|manifest|checks|case|cases|keys …",
     "Befehle des Herstellers: Lizenzen, Manifeste, Abrechnung, Support-Fälle (alphasms vendor --help)",
     "the vendor's commands: licences, manifests, billing, support cases (alphasms vendor --help)"),
    ("createsuperuser, migrate, …", "createsuperuser, migrate, …",
     "Djangos eigene Befehle (Liste: alphasms help --commands)",
     "Django's own commands (list: alphasms help --commands)"),
)  # fmt: skip


def translate(argv: list[str]) -> list[str]:
    """Map ``alphasms`` words to Django command names; everything else passes through unchanged."""
    if argv and argv[0] == "send-test":
        return ["send_test", *argv[1:]]
    if len(argv) >= 2 and (argv[0], argv[1]) in _TWO_WORD:
        return [_TWO_WORD[(argv[0], argv[1])], *argv[2:]]
    return argv


def display_name(command: str) -> str:
    """The name users type: "import_ics" → "import ics"; other commands unchanged."""
    return _DISPLAY.get(command, command)


def group_usage(group: str) -> str:
    """ "import ics|csv" for the group "import"."""
    return f"{group} {'|'.join(GROUPS[group])}"


def overview(prog: str = "alphasms", only: str = "") -> str:
    """The command list of the README in the user's language; ``only`` limits it to one group."""
    lines = [] if only else [t("AlphaSMS – Befehle:", "AlphaSMS – commands:"), ""]
    for usage_de, usage_en, what_de, what_en in _OVERVIEW:
        if only and not usage_en.startswith(f"{only} "):
            continue
        lines += [f"  {prog} {t(usage_de, usage_en)}", f"      {t(what_de, what_en)}"]
    lines += [
        "",
        t(
            f"Optionen eines Befehls: {prog} BEFEHL --help, z. B. {prog} import ics --help",
            f"Options of a command: {prog} COMMAND --help, e.g. {prog} import ics --help",
        ),
    ]
    if not only:
        lines.append(
            t(
                "Exit-Codes: 0 Erfolg; 1 einige Nachrichten oder Zeilen fehlgeschlagen (der Rest ist "
                "übernommen); 2 Aufruf- oder Eingabefehler (nichts geändert); 3 nichts zu tun.",
                "Exit codes: 0 success; 1 some messages or rows failed (the rest applied); 2 usage error "
                "or unreadable input (nothing changed); 3 nothing to do.",
            )
        )
    return "\n".join(lines) + "\n"


def _suggestion(word: str, commands: list[str]) -> str:
    """The closest command as users type it ("import ics|csv"), or ""."""
    words = [*GROUPS, *(c for c in commands if c not in _DISPLAY)]
    match = difflib.get_close_matches(word.replace("_", " ").split(" ")[0], words, n=1, cutoff=0.6)
    if not match:
        return ""
    return group_usage(match[0]) if match[0] in GROUPS else match[0]


def _unknown(prog: str, word: str, commands: list[str]) -> int:
    hint = _suggestion(word, commands)
    did_you_mean = t(f" Meinten Sie „{prog} {hint}“?", f" Did you mean '{prog} {hint}'?") if hint else ""
    sys.stderr.write(
        t(
            f"Unbekannter Befehl {word!r}.{did_you_mean} Alle Befehle: {prog} help\n",
            f"Unknown command {word!r}.{did_you_mean} All commands: {prog} help\n",
        )
    )
    return EXIT_USAGE


def _group_only(prog: str, args: list[str]) -> int | None:
    """Handle ``alphasms import`` (and ``import --help``, ``import ical``); None when it is no such case."""
    group = args[0]
    if len(args) >= 2 and (group, args[1]) in _TWO_WORD:
        return None
    if len(args) >= 2 and args[1] in ("-h", "--help"):
        sys.stdout.write(overview(prog, only=group))
        return 0
    subs = ", ".join(f"„{prog} {group} {s}“" for s in GROUPS[group])
    subs_en = ", ".join(f"'{prog} {group} {s}'" for s in GROUPS[group])
    if len(args) >= 2:
        sys.stderr.write(
            t(
                f"{prog} {group}: Unterbefehl {args[1]!r} gibt es nicht – möglich: {subs}.\n",
                f"{prog} {group}: there is no sub-command {args[1]!r} – possible: {subs_en}.\n",
            )
        )
    else:
        sys.stderr.write(
            t(
                f"{prog} {group} braucht einen Unterbefehl: {prog} {group_usage(group)} "
                f"(Hilfe: {prog} {group} --help).\n",
                f"{prog} {group} needs a sub-command: {prog} {group_usage(group)} "
                f"(help: {prog} {group} --help).\n",
            )
        )
    return EXIT_USAGE


def main(argv: list[str] | None = None, prog: str = "alphasms") -> int:
    """Run one command; returns the process exit code. No Python traceback reaches the user
    (except with ``--traceback``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("vendor", "vendor-server"):  # the vendor's side: own settings and database
        from alphasms.vendor_server import words

        os.environ["DJANGO_SETTINGS_MODULE"] = words.VENDOR_SETTINGS
        vendor_args = words.translate(args, prog)
        if isinstance(vendor_args, int):
            return vendor_args
        args = vendor_args
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphasms.project.settings")
    try:
        return _main(args, prog)
    except KeyboardInterrupt:
        sys.stderr.write(t("Abgebrochen.\n", "Interrupted.\n"))
        return 130
    except Exception as exc:  # a crash in Django's own commands or in setup
        if "--traceback" in args:
            raise
        from django.core.exceptions import ImproperlyConfigured

        if isinstance(exc, ImproperlyConfigured):
            sys.stderr.write(t(f"Einstellungen fehlerhaft: {exc}\n", f"Settings are wrong: {exc}\n"))
            return EXIT_USAGE
        sys.stderr.write(
            t(
                f"Interner Fehler ({type(exc).__name__}: {str(exc)[:200]}) – bitte melden; "
                "Einzelheiten zeigt derselbe Aufruf mit --traceback.\n",
                f"Internal error ({type(exc).__name__}: {str(exc)[:200]}) – please report it; "
                "the same call with --traceback shows the details.\n",
            )
        )
        return 1


def _main(args: list[str], prog: str) -> int:
    if not args or args in (["help"], ["-h"], ["--help"]):
        sys.stdout.write(overview(prog))
        return 0 if args else EXIT_USAGE
    if args[0] == "help" and args[1] in GROUPS:
        if len(args) >= 3 and (args[1], args[2]) in _TWO_WORD:
            args = ["help", _TWO_WORD[(args[1], args[2])]]
        else:
            sys.stdout.write(overview(prog, only=args[1]))
            return 0
    if args[0] in GROUPS:
        code = _group_only(prog, args)
        if code is not None:
            return code
    args = translate(args)

    import django
    from django.core.management import execute_from_command_line, get_commands

    django.setup()
    commands = sorted(get_commands())
    word = args[1] if args[0] == "help" and len(args) > 1 else args[0]
    if word not in commands and not word.startswith("-") and word not in ("help", "version"):
        return _unknown(prog, word, commands)
    try:
        execute_from_command_line([prog, *args])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    return 0
