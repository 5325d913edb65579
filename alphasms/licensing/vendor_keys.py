"""The vendor's public keys, shipped in the client package (the protocol of issue 7).

* ``VENDOR_SIGNING_PUBLIC_KEY`` — Ed25519 (RFC 8032) public key, raw 32 bytes in base64url without
  padding. It verifies licence numbers and update manifests offline.
* ``VENDOR_AGE_RECIPIENT`` — the age X25519 recipient (``age1…``, age-encryption.org/v1) support
  backups are encrypted to.

Only the public halves are here. The private halves (the Ed25519 seed and the age identity) belong to
the vendor and are NEVER committed to this repository or shipped in the package; whoever issues licences
or reads support backups keeps them in the vendor server's key file. Settings override both keys
(``ALPHASMS["VENDOR_SIGNING_PUBLIC_KEY"]``, ``ALPHASMS["VENDOR_AGE_RECIPIENT"]`` or the environment
variables ``ALPHASMS_VENDOR_SIGNING_PUBLIC_KEY``/``ALPHASMS_VENDOR_AGE_RECIPIENT``), which tests use with
keys of their own; read them through ``alphasms.conf.app_settings``, never these constants directly.
"""

from __future__ import annotations

VENDOR_SIGNING_PUBLIC_KEY = "hj17i5S3CfU-0m25FSgWVZP-MFMAd97s7FhPNMrHKQ4"
VENDOR_AGE_RECIPIENT = "age129uyaeqw4dq8r75svejmvk4clddas694dxy55kujv0kxm29rz97qc2nwxe"
DEFAULT_VENDOR_URL = "https://update.alphasms.de"
