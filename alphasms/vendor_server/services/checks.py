"""Update checks: validate and record one (for billing), list them, purge them after the retention, and
derive the active licences of a month.

The body must be exactly the four fields of the protocol (DESIGN invariant 6: only version, operating
system, registration name and licence number leave the client); anything else is refused *before*
anything is stored, so a client that sends more is noticed, not silently recorded.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, TypedDict

from django.db.models import Count, Max, Min

from alphasms.vendor_server.licence_numbers import read_licence_number
from alphasms.vendor_server.models import UpdateCheck
from alphasms.vendor_server.periods import month_bounds
from alphasms.vendor_server.services.common import iso_z, now, signing_key

CHECK_FIELDS = ("client_version", "os", "registration_name", "licence_number")
_MAX_CHARS = {"client_version": 64, "os": 200, "registration_name": 200, "licence_number": 2000}


class CheckRejected(ValueError):
    """The body is not exactly the four protocol fields as strings; the message names the field."""


@dataclass(frozen=True)
class CheckBody:
    """The four fields of an update check, as sent."""

    client_version: str
    os: str
    registration_name: str
    licence_number: str


def parse_check_body(raw: bytes) -> CheckBody:
    """Parse an update-check body: a JSON object with exactly the keys ``client_version``, ``os``,
    ``registration_name`` and ``licence_number``, each a string (the last two "" in evaluation mode).
    Raises CheckRejected naming the unexpected, missing or malformed key."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CheckRejected("body is not JSON (UTF-8)") from None
    if not isinstance(data, dict):
        raise CheckRejected("body must be a JSON object with exactly the keys " + ", ".join(CHECK_FIELDS))
    unexpected = sorted(set(data) - set(CHECK_FIELDS))
    if unexpected:
        raise CheckRejected(
            f"unexpected key {unexpected[0]!r}: an update check carries only " + ", ".join(CHECK_FIELDS)
        )
    missing = [name for name in CHECK_FIELDS if name not in data]
    if missing:
        raise CheckRejected(f"missing key {missing[0]!r}")
    for name in CHECK_FIELDS:
        value = data[name]
        if not isinstance(value, str):
            raise CheckRejected(f"{name!r} must be a string")
        if len(value) > _MAX_CHARS[name]:
            raise CheckRejected(f"{name!r} is longer than {_MAX_CHARS[name]} characters")
    if not data["client_version"] or not data["os"]:
        raise CheckRejected("'client_version' and 'os' must not be empty")
    return CheckBody(**data)


def record_check(body: CheckBody, client_ip: str | None) -> UpdateCheck:
    """Store one update check with ``client_ip`` and the current instant (one database write)."""
    return UpdateCheck.objects.create(
        client_version=body.client_version,
        os=body.os,
        registration_name=body.registration_name,
        licence_number=body.licence_number,
        client_ip=client_ip or None,
        checked_at=now(),
    )


class CheckDict(TypedDict):
    checked_at: str
    licence_number: str
    registration_name: str
    client_version: str
    os: str
    client_ip: str | None


def list_checks(month: str | None = None) -> list[CheckDict]:
    """Recorded checks, oldest first; only those of ``month`` (YYYY-MM, UTC) when given."""
    checks = UpdateCheck.objects.all()
    if month:
        start, end = month_bounds(month)
        checks = checks.filter(checked_at__gte=start, checked_at__lt=end)
    return [
        {
            "checked_at": iso_z(check.checked_at),
            "licence_number": check.licence_number,
            "registration_name": check.registration_name,
            "client_version": check.client_version,
            "os": check.os,
            "client_ip": check.client_ip,
        }
        for check in checks
    ]


def active_licences(month: str) -> list[dict[str, Any]]:
    """The licences that checked for updates in ``month`` (YYYY-MM, UTC) — the billing list.

    One entry per distinct (licence number, registration name), evaluation installs (empty licence
    number) left out: ``{"licence_number", "registration_name", "check_count", "first_check_at",
    "last_check_at", "valid", "edition", "locations", "expires", "serial"}``. ``valid`` says whether the
    number verifies with the vendor's key for that name; the body fields are None when unreadable."""
    start, end = month_bounds(month)
    rows = (
        UpdateCheck.objects.filter(checked_at__gte=start, checked_at__lt=end)
        .exclude(licence_number="")
        .values("licence_number", "registration_name")
        .annotate(check_count=Count("id"), first=Min("checked_at"), last=Max("checked_at"))
        .order_by("registration_name", "licence_number")
    )
    public_key = signing_key().public_key()
    result = []
    for row in rows:
        read = read_licence_number(public_key, row["licence_number"], row["registration_name"])
        body = read.body or {}
        result.append(
            {
                "licence_number": row["licence_number"],
                "registration_name": row["registration_name"],
                "check_count": row["check_count"],
                "first_check_at": iso_z(row["first"]),
                "last_check_at": iso_z(row["last"]),
                "valid": read.valid,
                **{key: body.get(key) for key in ("edition", "locations", "expires", "serial")},
            }
        )
    return result


def purge_checks(retention: dt.timedelta, at: dt.datetime | None = None) -> int:
    """Delete checks recorded before ``at - retention``; returns how many were deleted."""
    cutoff = (at or now()) - retention
    deleted, _ = UpdateCheck.objects.filter(checked_at__lt=cutoff).delete()
    return deleted
