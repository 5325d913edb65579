"""Helpers shared by the vendor services: the clock, UTC text form, the keys in use."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone
from pyrage import x25519

from alphasms.vendor_server import keys
from alphasms.vendor_server.conf import vendor_settings


def now() -> dt.datetime:
    """The current instant (aware, UTC)."""
    return timezone.now()


def iso_z(instant: dt.datetime) -> str:
    """``instant`` as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds), the protocol's form."""
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_seconds(instant: dt.datetime) -> dt.datetime:
    """``instant`` without microseconds, so what is stored equals what is signed and sent."""
    return instant.replace(microsecond=0)


@functools.lru_cache(maxsize=4)
def _signing_key(path: Path) -> Ed25519PrivateKey:
    return keys.load_signing_key(path)


@functools.lru_cache(maxsize=4)
def _age_identity(path: Path) -> x25519.Identity:
    return keys.load_age_identity(path)


def signing_key() -> Ed25519PrivateKey:
    """The vendor's Ed25519 key (``ALPHASMS_VENDOR_SIGNING_KEY_FILE``; generated when absent)."""
    return _signing_key(vendor_settings.SIGNING_KEY_FILE)


def age_identity() -> x25519.Identity:
    """The vendor's age identity (``ALPHASMS_VENDOR_AGE_IDENTITY_FILE``; generated when absent)."""
    return _age_identity(vendor_settings.AGE_IDENTITY_FILE)
