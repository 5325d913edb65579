"""The vendor keys shipped in the package, and their settings overrides."""

from __future__ import annotations

import pyrage
from django.test import override_settings

from alphasms.conf import app_settings
from alphasms.licensing import envelope, vendor_keys


def test_shipped_keys_are_valid_public_keys():
    key = envelope.public_key_from_text(vendor_keys.VENDOR_SIGNING_PUBLIC_KEY)
    assert envelope.public_key_to_text(key) == vendor_keys.VENDOR_SIGNING_PUBLIC_KEY
    recipient = pyrage.x25519.Recipient.from_str(vendor_keys.VENDOR_AGE_RECIPIENT)
    assert str(recipient) == vendor_keys.VENDOR_AGE_RECIPIENT
    # Encrypting to it works (the support backup does this); only the vendor can decrypt.
    assert pyrage.encrypt(b"x", [recipient]).startswith(b"age-encryption.org/v1")


def test_no_private_key_material_in_the_package():
    from pathlib import Path

    root = Path(envelope.__file__).resolve().parent
    marker = "AGE-SECRET-" + "KEY-1"  # how an age identity (a private key) starts
    for path in root.rglob("*.py"):
        assert marker not in path.read_text(encoding="utf-8"), path


def test_settings_default_to_shipped_keys_and_can_be_overridden(settings):
    alphasms = {**settings.ALPHASMS, "VENDOR_SIGNING_PUBLIC_KEY": "", "VENDOR_AGE_RECIPIENT": ""}
    alphasms.pop("VENDOR_URL", None)
    with override_settings(ALPHASMS=alphasms):
        assert app_settings.VENDOR_SIGNING_PUBLIC_KEY == vendor_keys.VENDOR_SIGNING_PUBLIC_KEY
        assert app_settings.VENDOR_AGE_RECIPIENT == vendor_keys.VENDOR_AGE_RECIPIENT
        assert app_settings.VENDOR_URL == "https://update.alphasms.de"
    other = envelope.public_key_to_text(envelope.generate_private_key().public_key())
    with override_settings(
        ALPHASMS={
            **settings.ALPHASMS,
            "VENDOR_SIGNING_PUBLIC_KEY": other,
            "VENDOR_URL": "http://127.0.0.1:9/",
        }
    ):
        assert app_settings.VENDOR_SIGNING_PUBLIC_KEY == other
        assert app_settings.VENDOR_URL == "http://127.0.0.1:9"
