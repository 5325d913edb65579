"""Options and lookups shared by ``alphasms privacy export|erase|restrict|unrestrict``."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import CommandParser

from alphasms.appointments.models import Customer
from alphasms.cli_text import t
from alphasms.commands import UsageError, shown


def add_person_arguments(parser: CommandParser) -> None:
    """``--customer NUMBER`` (the customer number) or ``--id ID`` (for a customer without one), and
    ``--json``."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--customer", metavar=t("NUMMER", "NUMBER"), help=t("Kundennummer", "customer number"))
    which.add_argument(
        "--id",
        type=int,
        metavar="ID",
        help=t("interne Nummer eines Kunden ohne Kundennummer", "internal id of a customer without a number"),
    )
    parser.add_argument("--json", action="store_true", help=t("Ausgabe als JSON", "output as JSON"))


def get_person(options: dict[str, Any]) -> Customer:
    """The customer named by ``--customer`` or ``--id``; UsageError (exit 2) when there is none."""
    number, pk = options.get("customer"), options.get("id")
    found = (
        Customer.objects.filter(pk=pk).first()
        if pk is not None
        else Customer.objects.filter(customer_number=str(number).strip()).exclude(customer_number="").first()
    )
    if found is not None:
        return found
    if pk is not None:
        raise UsageError(
            t(
                f"--id: keinen Kunden mit der internen Nummer {pk} gefunden – Nummer prüfen.",
                f"--id: no customer with internal id {pk} – check the id.",
            )
        )
    raise UsageError(
        t(
            f"--customer: Kundennummer {shown(str(number))!r} unbekannt – Nummer prüfen (Liste: Verwaltung → "
            "Kunden).",
            f"--customer: unknown customer number {shown(str(number))!r} – check the number (list: admin → "
            "customers).",
        )
    )


def actor() -> str:
    """Who runs the command, for the audit log: "cli:<login name>"."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in the environment or the password database
        return "cli"
