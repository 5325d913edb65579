"""What the vendor signs: update manifests (answered to every update check) and licence numbers."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse

from django.db import IntegrityError, transaction
from django.db.models import Max

from alphasms.licensing.envelope import sign_envelope
from alphasms.vendor_server.licence_numbers import LicenceBody, clean_registration_name, issue_licence_number
from alphasms.vendor_server.models import IssuedLicence, Manifest
from alphasms.vendor_server.services.common import iso_z, now, signing_key, whole_seconds

SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
VERSION_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+-]{0,63}")
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class PublishError(ValueError):
    """An input to publishing or issuing is wrong; the message names the option and the fix."""


def check_download_url(url: str) -> str:
    """``url`` if it is https (http only for a loopback host, as tests use). Raises PublishError."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return url
    raise PublishError("--url must be an https:// address (http only for 127.0.0.1, ::1, localhost)")


def publish_manifest(
    *,
    version: str,
    notes: str,
    url: str,
    sha256: str,
    expires_in: dt.timedelta,
    counter: int | None = None,
) -> Manifest:
    """Sign and store a manifest; it becomes the answer to every update check from now on.

    ``counter`` defaults to one more than the highest so far (clients refuse a counter lower than the
    highest they saw: roll-back protection); an explicit one must be unused. ``expires_in`` ≥ 0 (0 makes
    a manifest that is already expired, which clients refuse — useful to test them). Raises
    PublishError naming the option."""
    if not VERSION_PATTERN.fullmatch(version):
        raise PublishError("--version must look like 0.2.0 (letters, digits, '.', '+', '-')")
    if not SHA256_PATTERN.fullmatch(sha256.lower()):
        raise PublishError("--sha256 must be 64 hex digits (or give --file to compute it)")
    if expires_in < dt.timedelta(0):
        raise PublishError("--expires-in must not be negative")
    check_download_url(url)
    issued_at = whole_seconds(now())
    with transaction.atomic():
        if counter is None:
            counter = (Manifest.objects.aggregate(top=Max("counter"))["top"] or 0) + 1
        elif Manifest.objects.filter(counter=counter).exists():
            raise PublishError(f"--counter {counter} was published before; every counter is used once")
        payload = {
            "type": "alphasms-manifest",
            "latest_version": version,
            "release_notes": notes,
            "download_url": url,
            "sha256": sha256.lower(),
            "issued_at": iso_z(issued_at),
            "expires_at": iso_z(issued_at + expires_in),
            "counter": counter,
        }
        return Manifest.objects.create(
            counter=counter,
            latest_version=version,
            release_notes=notes,
            download_url=url,
            sha256=sha256.lower(),
            issued_at=issued_at,
            expires_at=issued_at + expires_in,
            envelope=sign_envelope(signing_key(), payload),
        )


def current_manifest() -> Manifest | None:
    """The manifest published last, or None before the first ``vendor manifest publish``."""
    return Manifest.objects.order_by("-id").first()


def issue_licence(*, registration_name: str, edition: str, locations: int, expires: dt.date) -> IssuedLicence:
    """Issue and record a licence number with the next free serial (starting at 1).

    ``registration_name`` is cleaned (NFC, stripped) and must be typed exactly so by the customer.
    Raises PublishError naming the option."""
    try:
        name = clean_registration_name(registration_name)
    except ValueError as exc:
        raise PublishError(f"--name: {exc}") from None
    for _ in range(5):  # another issuer may take the same serial at the same moment: retry
        serial = (IssuedLicence.objects.aggregate(top=Max("serial"))["top"] or 0) + 1
        body = LicenceBody(edition=edition, locations=locations, expires=expires, serial=serial)
        try:
            number = issue_licence_number(signing_key(), name, body)
        except ValueError as exc:
            raise PublishError(str(exc)) from None
        try:
            with transaction.atomic():
                return IssuedLicence.objects.create(
                    serial=serial,
                    registration_name=name,
                    edition=edition,
                    locations=locations,
                    expires=expires,
                    licence_number=number,
                    issued_at=now(),
                )
        except IntegrityError:
            continue
    raise PublishError("could not reserve a licence serial; try again")
