"""Find the person an imported calendar event belongs to — exactly, never by guessing.

Accepted forms (after Unicode NFC normalisation, case folding and collapsing spaces):
- a customer number appearing as a word in SUMMARY or DESCRIPTION;
- SUMMARY "Given Family" or "Given Family, reason";
- SUMMARY "Family, Given".
Exactly one matching customer is a match; none or several leave the event unmatched, with the reason,
for staff to assign.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from alphasms.appointments.models import Customer

_WORD = re.compile(r"[\w-]+")


def norm(text: str) -> str:
    """NFC, case-folded, whitespace collapsed: "  JÖRG  Bäcker " → "jörg bäcker"."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


@dataclass(frozen=True)
class Match:
    """The customer found (or None), the reason text after the name (may be ""), and why not matched."""

    customer: Customer | None
    reason_text: str = ""
    problem: str = ""


class CustomerIndex:
    """In-memory lookup of all customers by number and by name forms; built once per import."""

    def __init__(self, customers: list[Customer]) -> None:
        self.by_number: dict[str, Customer] = {}
        self.by_name: dict[str, list[Customer]] = defaultdict(list)
        for customer in customers:
            self.add(customer)

    def add(self, customer: Customer) -> None:
        """Index ``customer`` under its number and its "given family" form."""
        if customer.customer_number:
            self.by_number[norm(customer.customer_number)] = customer
        if customer.family_name:
            self.by_name[norm(f"{customer.given_name} {customer.family_name}")].append(customer)

    def match(self, summary: str, description: str = "") -> Match:
        """Return the single customer the event names, or a Match with ``problem`` set."""
        for word in _WORD.findall(f"{summary} {description}"):
            if (customer := self.by_number.get(norm(word))) is not None:
                return Match(customer)
        found: dict[int, tuple[Customer, str]] = {}
        text = norm(summary)
        for customer in self.by_name.get(text, []):
            found[customer.pk] = (customer, "")
        if "," in summary:
            head, tail = (part.strip() for part in summary.split(",", 1))
            for customer in self.by_name.get(norm(head), []):  # "Given Family, reason"
                found[customer.pk] = (customer, tail)
            for customer in self.by_name.get(norm(f"{tail} {head}"), []):  # "Family, Given"
                found[customer.pk] = (customer, "")
        if len(found) == 1:
            customer, reason = next(iter(found.values()))
            return Match(customer, reason_text=reason)
        if found:
            return Match(None, problem=f"{len(found)} Kunden passen auf den Titel")
        return Match(None, problem="kein Kunde passt auf den Titel")
