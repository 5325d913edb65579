"""``alphasms privacy purge [--dry-run] [--json]``: apply the retention periods now.

The worker does the same once a day; this command is for checking (``--dry-run``) and for installs
that run no worker. ``--help`` states every rule with its current period.

Exit codes: 0 something was (or, with ``--dry-run``, would be) purged, 3 nothing to do.
JSON: {"now_utc", "dry_run", "rules": [{"rule", "days" (0 = off), "cutoff_utc" (null = off), "count"}]}.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any

from django.core.management.base import BaseCommand, CommandParser, DjangoHelpFormatter
from django.utils import timezone

from alphasms.cli_text import t
from alphasms.privacy.retention import PurgeReport, Rule, purge

EXIT_NOTHING_TO_DO = 3

# rule → (setting, German label, English label)
_LABELS = {
    Rule.MESSAGE_TEXTS: ("ALPHASMS_RETENTION_MESSAGE_TEXT_DAYS", "Nachrichtentexte", "Message texts"),
    Rule.DELIVERY_REPORTS: (
        "ALPHASMS_RETENTION_DELIVERY_REPORTS_DAYS",
        "Zustellberichte",
        "Delivery reports",
    ),
    Rule.APPOINTMENTS: ("ALPHASMS_RETENTION_APPOINTMENTS_DAYS", "Vergangene Termine", "Past appointments"),
    Rule.CUSTOMERS: (
        "ALPHASMS_RETENTION_INACTIVE_CUSTOMERS_DAYS",
        "Kunden ohne Termine",
        "Customers without appointments",
    ),
}


def _label(rule: Rule) -> str:
    _, de, en = _LABELS[rule]
    return t(de, en)


def _what(rule: Rule, days: int) -> str:
    """What ``rule`` does, with its period of ``days`` (> 0)."""
    return {
        Rule.MESSAGE_TEXTS: t(
            f"{days} Tage nach dem Versandtermin werden Betreff und Text geleert und der Empfänger gekürzt "
            "(+49•••••••5678); Status, Zeiten, Kanal und Gateway bleiben",
            f"{days} days after a message was due, subject and body are blanked and the recipient is "
            "shortened (+49•••••••5678); status, times, channel and gateway stay",
        ),
        Rule.DELIVERY_REPORTS: t(
            f"{days} Tage nach Empfang gelöscht (Rohdaten und Angaben des Anbieters); die Nachricht "
            "behält ihren Status",
            f"deleted {days} days after receipt (raw payload and provider details); the message keeps "
            "its status",
        ),
        Rule.APPOINTMENTS: t(
            f"{days} Tage nach Terminende mit ihren Nachrichten gelöscht",
            f"deleted with their messages {days} days after they ended",
        ),
        Rule.CUSTOMERS: t(
            f"nach {days} Tagen ohne Termin und ohne offene Nachricht gelöscht (Art. 17 DSGVO)",
            f"erased after {days} days without an appointment and without a pending message (GDPR Art. 17)",
        ),
    }[rule]


def rules_text() -> str:
    """Every rule with its current period (or "off") and the setting that changes it."""
    lines = []
    for rule in Rule:
        setting = _LABELS[rule][0]
        days = rule.days
        what = _what(rule, days) + "." if days > 0 else t("aus", "off")
        lines.append(_fill(f"{_label(rule)} ({setting}={days}): {what}", indent="  "))
    return "\n".join(lines)


def _fill(text: str, indent: str = "") -> str:
    """``text`` wrapped at 100 columns; an indented item hangs two more spaces."""
    hang = indent + "  " if indent else ""
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=hang)


def help_text() -> str:
    intro = t(
        "Löscht personenbezogene Daten, deren Aufbewahrungsfrist abgelaufen ist (Art. 5 Abs. 1 lit. e "
        "DSGVO). Der Worker tut das einmal am Tag; 0 Tage schaltet eine Regel ab.",
        "Deletes personal data whose retention period has passed (GDPR Art. 5(1)(e)). The worker does "
        "this once a day; 0 days switches a rule off.",
    )
    kept = t(
        "Eingeschränkte Personen (Art. 18) bleiben mit Terminen und Zustellberichten erhalten; nur ihre "
        "Nachrichtentexte werden geleert. Anonyme Zählungen (Verbrauch, Statistik) bleiben unverändert. "
        "Jede Regel schreibt einen Eintrag ins Datenschutz-Protokoll.",
        "Restricted persons (Art. 18) are kept with their appointments and delivery reports; only their "
        "message texts are blanked. Anonymous counts (usage, statistics) stay unchanged. Every rule "
        "writes one entry to the privacy audit log.",
    )
    return "\n\n".join([_fill(intro), rules_text(), _fill(kept)])


class _Formatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of the rule list in ``--help``."""


class Command(BaseCommand):
    help = "Löscht personenbezogene Daten nach Ablauf der Aufbewahrungsfristen."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = help_text()  # the periods are settings: read them when the command is loaded

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", _Formatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=t("nur zählen, nichts ändern", "count only, change nothing"),
        )
        parser.add_argument("--json", action="store_true", help=t("Ausgabe als JSON", "output as JSON"))

    def handle(self, *args: Any, **options: Any) -> None:
        report = purge(timezone.now(), dry_run=options["dry_run"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.write_report(report)
        if report.total == 0:
            sys.exit(EXIT_NOTHING_TO_DO)

    def write_report(self, report: PurgeReport) -> None:
        if report.dry_run:
            self.stdout.write(t("Probelauf – nichts wurde geändert.", "Dry run – nothing was changed."))
        for result in report.results:
            if result.cutoff_at is None:
                self.stdout.write(f"{_label(result.rule)}: {t('Regel aus', 'rule off')}")
                continue
            done, todo, scope = _OUTCOME[result.rule]
            before = timezone.localtime(result.cutoff_at).strftime("%Y-%m-%d %H:%M")
            outcome = t(*todo) if report.dry_run else t(*done)
            self.stdout.write(f"{_label(result.rule)} – {outcome}: {result.count} ({t(*scope)} {before})")


# rule → ((done de, en), (dry run de, en), (which rows de, en), each followed by the cutoff in local time)
_OUTCOME = {
    Rule.MESSAGE_TEXTS: (("geleert", "blanked"), ("zu leeren", "to blank"), ("fällig vor", "due before")),
    Rule.DELIVERY_REPORTS: (
        ("gelöscht", "deleted"),
        ("zu löschen", "to delete"),
        ("empfangen vor", "received before"),
    ),
    Rule.APPOINTMENTS: (
        ("gelöscht", "deleted"),
        ("zu löschen", "to delete"),
        ("beendet vor", "ended before"),
    ),
    Rule.CUSTOMERS: (
        ("gelöscht", "erased"),
        ("zu löschen", "to erase"),
        ("ohne Termin seit", "no appointment since"),
    ),
}
