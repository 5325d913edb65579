"""``alphasms vendor licence issue --name NAME --edition E --locations N --expires YYYY-MM-DD [--json]``:
issue a licence number signed with the vendor's key (protocol: ``AS1-<body>.<signature>``), with the
next free serial, and record it. Prints the number and the registration name exactly as the customer
must type it. JSON: {"licence_number", "registration_name", "edition", "locations", "expires",
"serial", "issued_at"}. Exit 2 on bad input (nothing issued)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import UsageError, int_range, shown
from alphasms.vendor_server.commands import VendorCommand
from alphasms.vendor_server.services.common import iso_z
from alphasms.vendor_server.services.publishing import PublishError, issue_licence


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(
            t(
                f"--expires: {shown(text)!r} ist kein Datum JJJJ-MM-TT (z. B. 2027-12-31).",
                f"--expires: {shown(text)!r} is not a date YYYY-MM-DD (e.g. 2027-12-31).",
            )
        ) from None


class Command(VendorCommand):
    help = "Stellt eine signierte Lizenznummer aus."
    help_en = "Issues a signed licence number."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help=t("Registrierungsname", "registration name"))
        parser.add_argument(
            "--edition", required=True, help=t("Edition, z. B. praxis", "edition, e.g. praxis")
        )
        parser.add_argument(
            "--locations", required=True, type=int_range(1, 100000), help=t("Standorte", "locations")
        )
        parser.add_argument("--expires", required=True, help=t("letzter gültiger Tag", "last valid day"))
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        expires = _date(options["expires"])
        try:
            licence = issue_licence(
                registration_name=options["name"],
                edition=options["edition"],
                locations=options["locations"],
                expires=expires,
            )
        except PublishError as exc:
            raise UsageError(str(exc)) from None
        if expires < dt.date.today():
            sys.stderr.write(
                t(
                    f"Hinweis: die Lizenz ist bereits abgelaufen ({expires}).\n",
                    f"Note: this licence has already expired ({expires}).\n",
                )
            )
        result = {
            "licence_number": licence.licence_number,
            "registration_name": licence.registration_name,
            "edition": licence.edition,
            "locations": licence.locations,
            "expires": licence.expires.isoformat(),
            "serial": licence.serial,
            "issued_at": iso_z(licence.issued_at),
        }
        if options["json"]:
            self.print_json(result)
            return
        self.stdout.write(
            t(
                f"Lizenznummer: {licence.licence_number}\nRegistrierungsname (genau so eingeben): "
                f"{licence.registration_name}\nEdition {licence.edition}, {licence.locations} Standort(e), "
                f"gültig bis {licence.expires}, Seriennummer {licence.serial}",
                f"Licence number: {licence.licence_number}\nRegistration name (to be typed exactly so): "
                f"{licence.registration_name}\nEdition {licence.edition}, {licence.locations} location(s), "
                f"valid until {licence.expires}, serial {licence.serial}",
            )
        )
