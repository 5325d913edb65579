"""The vendor's two keys, kept in files: the Ed25519 signing key (licences, manifests, deletion receipts)
and the age X25519 identity (decrypts support backups the clients encrypted to its recipient).

Framework-free. A missing file is generated on first use with mode 0600, written completely before it
becomes visible (temporary file + ``os.link``), so a server and a CLI starting at the same moment end
up with the same key rather than two. The private halves never appear in output or logs; only the
public key text and the ``age1…`` recipient are shown (``alphasms vendor keys show``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyrage import x25519

from alphasms.licensing.envelope import (
    generate_private_key,
    private_key_from_text,
    private_key_to_text,
    public_key_to_text,
)


class KeyFileError(ValueError):
    """A key file exists but does not hold a key of the expected kind (message names the file)."""


def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The stripped text of ``path``; when absent, ``make()`` is written there with mode 0600 first."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            os.chmod(temp_name, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(make() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temp_name, path)  # fails if another process created it meanwhile: theirs wins
            except FileExistsError:
                pass
        finally:
            os.unlink(temp_name)
    return path.read_text(encoding="utf-8").strip()


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key stored in ``path`` (base64url seed), generated there if absent.

    Raises KeyFileError when the file holds something else."""
    text = _read_or_create(path, lambda: private_key_to_text(generate_private_key()))
    try:
        return private_key_from_text(text)
    except ValueError:
        raise KeyFileError(
            f"{path} does not hold an Ed25519 signing key (32-byte seed in base64url); "
            "fix ALPHASMS_VENDOR_SIGNING_KEY_FILE"
        ) from None


def load_age_identity(path: Path) -> x25519.Identity:
    """The age X25519 identity stored in ``path`` (``AGE-SECRET-KEY-1…``), generated there if absent.

    Raises KeyFileError when the file holds something else."""
    text = _read_or_create(path, lambda: str(x25519.Identity.generate()))
    try:
        return x25519.Identity.from_str(text)
    except Exception:  # pyrage raises its own IdentityError, not a ValueError
        raise KeyFileError(
            f"{path} does not hold an age identity (AGE-SECRET-KEY-1…); fix ALPHASMS_VENDOR_AGE_IDENTITY_FILE"
        ) from None


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The public half of ``key`` in the protocol's text form (what the client ships)."""
    return public_key_to_text(key.public_key())


def age_recipient(identity: x25519.Identity) -> str:
    """The ``age1…`` recipient of ``identity`` (clients encrypt support backups to it)."""
    return str(identity.to_public())
