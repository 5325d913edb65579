"""``alphasms privacy link --customer NUMBER [--days N]``: print a person's own signed link for staff to
send them (GDPR Art. 12(2): make exercising the rights easy). The link carries only the customer id and
expires after N days (default 14, at most 90). Nothing is stored; printing the link writes one audit
entry (who made a link for whom, ids only).

Exit codes: 0 printed; 2 unknown customer number or a bad ``--days`` (nothing printed).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alphasms.appointments.models import Customer
from alphasms.cli_text import t
from alphasms.privacy.audit import audit
from alphasms.privacy.links import DEFAULT_MAX_AGE_DAYS, MAX_AGE_DAYS_LIMIT, expires_at, make_link
from alphasms.privacy.models import AuditAction

EXIT_USAGE = 2


class Command(BaseCommand):
    help = t(
        "Gibt den persönlichen Datenschutz-Link eines Kunden aus (Auskunft, Download, Widerruf, "
        "Widerspruch, Einschränkung, Berichtigung, Löschung), befristet auf --days Tage.",
        "Prints a customer's personal privacy link (access, download, withdrawal, objection, "
        "restriction, rectification, erasure), valid for --days days.",
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customer", required=True, metavar="NUMBER", help=t("Kundennummer", "customer number")
        )
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_MAX_AGE_DAYS,
            help=t(
                f"Gültigkeit in Tagen (1–{MAX_AGE_DAYS_LIMIT}, Standard {DEFAULT_MAX_AGE_DAYS})",
                f"validity in days (1–{MAX_AGE_DAYS_LIMIT}, default {DEFAULT_MAX_AGE_DAYS})",
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        number, days = options["customer"].strip(), options["days"]
        if not 1 <= days <= MAX_AGE_DAYS_LIMIT:
            raise CommandError(
                t(
                    f"--days {days}: erlaubt sind 1 bis {MAX_AGE_DAYS_LIMIT} Tage.",
                    f"--days {days}: allowed are 1 to {MAX_AGE_DAYS_LIMIT} days.",
                ),
                returncode=EXIT_USAGE,
            )
        customer = Customer.objects.filter(customer_number=number).first() if number else None
        if customer is None:
            raise CommandError(
                t(
                    f"Keinen Kunden mit der Nummer {number!r} gefunden.",
                    f"No customer with number {number!r}.",
                ),
                returncode=EXIT_USAGE,
            )
        link = make_link(customer, max_age_days=days)
        audit("cli", AuditAction.LINK, "customer", customer.pk, f"days={days}")
        expiry = expires_at(link.rstrip("/").rsplit("/", 1)[-1])
        self.stdout.write(link)
        if expiry is not None:
            self.stderr.write(
                t(
                    f"Gültig bis {expiry:%Y-%m-%d %H:%M} UTC. Nur an die Person selbst senden.",
                    f"Valid until {expiry:%Y-%m-%d %H:%M} UTC. Send it to the person only.",
                )
            )
