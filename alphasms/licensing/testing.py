"""Test helpers: a vendor key of the test's own and licence numbers / manifests signed with it.

The production private key is never available; tests point ``ALPHASMS["VENDOR_SIGNING_PUBLIC_KEY"]`` at
:class:`TestVendor`'s public key and mint what the vendor server would issue (issue 7 protocol).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from alphasms.licensing import envelope


def licence_number(
    private_key: Ed25519PrivateKey,
    registration_name: str,
    *,
    edition: str = "praxis",
    locations: int = 1,
    expires: str = "2099-12-31",
    serial: int = 1,
) -> str:
    """``AS1-<b64url(canonical_json(body))>.<b64url(sig)>``, sig over body plus the registration name."""
    body = {"edition": edition, "locations": locations, "expires": expires, "serial": serial}
    signature = private_key.sign(envelope.canonical_json({**body, "registration_name": registration_name}))
    return f"AS1-{envelope.b64url_encode(envelope.canonical_json(body))}.{envelope.b64url_encode(signature)}"


def manifest_payload(
    *,
    latest_version: str = "0.2.0",
    counter: int = 7,
    sha256: str = "0" * 64,
    download_url: str = "https://downloads.alphasms.de/alphasms-0.2.0-py3-none-any.whl",
    issued_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    release_notes: str = "Neu: Lizenz und Update-Prüfung.",
) -> dict[str, Any]:
    """A manifest payload as the vendor server signs it; instants default to now and now + 7 days."""
    issued = issued_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
    expires = expires_at or issued + dt.timedelta(days=7)
    return {
        "type": "alphasms-manifest",
        "latest_version": latest_version,
        "release_notes": release_notes,
        "download_url": download_url,
        "sha256": sha256,
        "issued_at": issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "counter": counter,
    }


class TestVendor:
    """A vendor key pair for one test: ``public_key_text`` goes into the settings."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.private_key = envelope.generate_private_key()
        self.public_key_text = envelope.public_key_to_text(self.private_key.public_key())

    def licence(self, registration_name: str, **body: Any) -> str:
        return licence_number(self.private_key, registration_name, **body)

    def sign(self, payload: dict[str, Any]) -> dict[str, Any]:
        return envelope.sign_envelope(self.private_key, payload)
