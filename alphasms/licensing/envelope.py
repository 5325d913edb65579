"""Signed envelopes: a JSON payload with an Ed25519 signature (RFC 8032) over its canonical form.

Framework-free (no Django import): the vendor server and the client both use it. Shape::

    {"payload": {...}, "signature": "<base64url without padding of the 64-byte Ed25519 signature>"}

The signature covers ``canonical_json(payload)``: ``json.dumps`` with sorted keys, no whitespace and
UTF-8 output (a subset of RFC 8785, sufficient for payloads of strings, integers, booleans, lists and
objects; floats are not used). Keys travel as text: the raw 32 bytes (RFC 8032 §5.1.5 public key,
§5.1.5 private seed) in base64url without padding (RFC 4648 §5).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "EnvelopeError",
    "EnvelopeForged",
    "EnvelopeUnsigned",
    "b64url_decode",
    "b64url_encode",
    "canonical_json",
    "generate_private_key",
    "private_key_from_text",
    "private_key_to_text",
    "public_key_from_text",
    "public_key_to_text",
    "sign_envelope",
    "verify_envelope",
]


class EnvelopeError(ValueError):
    """A signed envelope (or a key in text form) is malformed."""


class EnvelopeUnsigned(EnvelopeError):
    """The envelope has no signature, or an empty one."""


class EnvelopeForged(EnvelopeError):
    """The signature does not verify with the given public key (other key, or altered payload)."""


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 4648 §5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url_encode`; accepts missing padding. Raises ``EnvelopeError`` on bad input."""
    if not isinstance(text, str):
        raise EnvelopeError("malformed base64url: expected text")
    try:
        raw = text.encode("ascii")
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise EnvelopeError("malformed base64url text") from exc


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, ``(",", ":")`` separators, UTF-8, non-ASCII kept."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_envelope(private_key: Ed25519PrivateKey, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``{"payload": payload, "signature": b64url(Ed25519(canonical_json(payload)))}``."""
    signature = private_key.sign(canonical_json(payload))
    return {"payload": dict(payload), "signature": b64url_encode(signature)}


def verify_envelope(public_key: Ed25519PublicKey, envelope: Mapping[str, Any]) -> dict[str, Any]:
    """Verify ``envelope`` against ``public_key`` and return its payload.

    Raises ``EnvelopeUnsigned`` (no or empty ``signature``), ``EnvelopeForged`` (signature does not
    verify: another key or an altered payload) or ``EnvelopeError`` (malformed: not an object, payload
    not an object, signature not base64url of 64 bytes).
    """
    if not isinstance(envelope, Mapping):
        raise EnvelopeError("malformed envelope: expected a JSON object with 'payload' and 'signature'")
    payload = envelope.get("payload")
    if not isinstance(payload, Mapping):
        raise EnvelopeError("malformed envelope: 'payload' must be a JSON object")
    signature_text = envelope.get("signature")
    if signature_text in (None, ""):
        raise EnvelopeUnsigned("the envelope carries no signature")
    if not isinstance(signature_text, str):
        raise EnvelopeError("malformed envelope: 'signature' must be base64url text")
    signature = b64url_decode(signature_text)
    if len(signature) != 64:
        raise EnvelopeError("malformed envelope: 'signature' must be 64 bytes (Ed25519)")
    try:
        public_key.verify(signature, canonical_json(payload))
    except InvalidSignature as exc:
        raise EnvelopeForged("the signature does not match the vendor's public key") from exc
    return dict(payload)


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """Public key from its raw 32 bytes in base64url (no padding). Raises ``EnvelopeError``."""
    raw = b64url_decode(text.strip() if isinstance(text, str) else text)
    if len(raw) != 32:
        raise EnvelopeError("malformed public key: expected 32 bytes in base64url")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_to_text(key: Ed25519PublicKey) -> str:
    """Raw 32-byte public key in base64url without padding."""
    return b64url_encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    """Private key from its raw 32-byte seed in base64url (no padding). Raises ``EnvelopeError``."""
    raw = b64url_decode(text.strip() if isinstance(text, str) else text)
    if len(raw) != 32:
        raise EnvelopeError("malformed private key: expected a 32-byte seed in base64url")
    return Ed25519PrivateKey.from_private_bytes(raw)


def private_key_to_text(key: Ed25519PrivateKey) -> str:
    """Raw 32-byte private seed in base64url without padding. A secret: never log or export it."""
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return b64url_encode(raw)


def generate_private_key() -> Ed25519PrivateKey:
    """A new random Ed25519 private key."""
    return Ed25519PrivateKey.generate()
