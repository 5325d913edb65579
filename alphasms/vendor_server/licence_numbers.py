"""Licence numbers as the vendor issues them (protocol of issue 7, "Licence number"). Framework-free.

Format: ``AS1-<b64url(canonical_json(body))>.<b64url(signature)>`` where ``body`` is
``{"edition": str, "locations": int, "expires": "YYYY-MM-DD", "serial": int}`` and the Ed25519 signature
(RFC 8032) covers ``canonical_json({**body, "registration_name": NAME})``. The registration name is not
inside the number: the customer types it, and a different name makes the signature fail (the client
then calls the licence forged). The client verifies offline (``alphasms.licensing``); this module only
issues, plus :func:`read_licence_number` for the vendor's own billing list.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from alphasms.licensing.envelope import EnvelopeError, b64url_decode, b64url_encode, canonical_json

PREFIX = "AS1-"
EDITION_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,31}")
NAME_MAX_CHARS = 200


@dataclass(frozen=True)
class LicenceBody:
    """What a licence number carries: edition slug, number of locations, last valid day, serial."""

    edition: str
    locations: int
    expires: dt.date
    serial: int

    def as_json(self) -> dict[str, Any]:
        return {
            "edition": self.edition,
            "locations": self.locations,
            "expires": self.expires.isoformat(),
            "serial": self.serial,
        }


def clean_registration_name(name: str) -> str:
    """``name`` as it is signed: NFC-normalised, surrounding spaces removed. Raises ValueError when it is
    empty, longer than 200 characters or holds control characters."""
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise ValueError("registration name is empty")
    if len(cleaned) > NAME_MAX_CHARS:
        raise ValueError(f"registration name is longer than {NAME_MAX_CHARS} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in cleaned):
        raise ValueError("registration name contains control characters")
    return cleaned


def issue_licence_number(private_key: Ed25519PrivateKey, registration_name: str, body: LicenceBody) -> str:
    """The licence number for ``registration_name`` (already cleaned) and ``body``, signed with
    ``private_key``. Raises ValueError for an edition that is not a lower-case slug or locations < 1."""
    if not EDITION_PATTERN.fullmatch(body.edition):
        raise ValueError("edition must be a lower-case slug such as 'praxis' or 'gruppe'")
    if body.locations < 1:
        raise ValueError("locations must be at least 1")
    fields = body.as_json()
    signature = private_key.sign(canonical_json({**fields, "registration_name": registration_name}))
    return f"{PREFIX}{b64url_encode(canonical_json(fields))}.{b64url_encode(signature)}"


@dataclass(frozen=True)
class ReadLicence:
    """A licence number taken apart: its body fields (None when unreadable) and whether the signature
    matches ``registration_name`` under the vendor's key."""

    body: dict[str, Any] | None
    valid: bool


def read_licence_number(
    public_key: Ed25519PublicKey, licence_number: str, registration_name: str
) -> ReadLicence:
    """Decode ``licence_number`` and check it against ``registration_name``. Never raises: a number that
    is not one of ours reads as ``ReadLicence(None, False)`` (billing lists show it as such)."""
    if not licence_number.startswith(PREFIX) or "." not in licence_number:
        return ReadLicence(None, False)
    body_text, _, signature_text = licence_number[len(PREFIX) :].partition(".")
    try:
        body = json.loads(b64url_decode(body_text))
        signature = b64url_decode(signature_text)
    except (EnvelopeError, ValueError):
        return ReadLicence(None, False)
    if not isinstance(body, dict):
        return ReadLicence(None, False)
    try:
        public_key.verify(signature, canonical_json({**body, "registration_name": registration_name}))
    except (InvalidSignature, ValueError):
        return ReadLicence(body, False)
    return ReadLicence(body, True)
