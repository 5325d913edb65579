"""Typed access to the ``ALPHASMS_VENDOR`` settings, read at call time (environment variables behind
them: :mod:`alphasms.vendor_server.settings`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings

_SETTING = "ALPHASMS_VENDOR"  # defined only in the vendor's settings module, unknown to the client's


class VendorSettings:
    def _get(self, name: str) -> Any:
        return getattr(settings, _SETTING)[name]

    @property
    def DATA_DIR(self) -> Path:
        """The vendor server's data folder (SQLite database, keys, support backups)."""
        return Path(self._get("DATA_DIR"))

    @property
    def CHECK_RETENTION(self) -> dt.timedelta:
        """How long an update check is kept for billing (days in the setting)."""
        return dt.timedelta(days=int(self._get("CHECK_RETENTION_DAYS")))

    @property
    def SUPPORT_RETENTION(self) -> dt.timedelta:
        """How long a support backup is held at most when its case is not closed earlier."""
        return dt.timedelta(days=int(self._get("SUPPORT_RETENTION_DAYS")))

    @property
    def SUPPORT_MAX_BYTES(self) -> int:
        """Largest support backup accepted, in bytes (larger → 413)."""
        return int(self._get("SUPPORT_MAX_BYTES"))

    @property
    def SUPPORT_DIR(self) -> Path:
        """Folder holding the received (still encrypted) support backups, one file per case."""
        return Path(self._get("SUPPORT_DIR"))

    @property
    def PURGE_INTERVAL_S(self) -> float:
        """Seconds between the running server's retention passes."""
        return float(self._get("PURGE_INTERVAL_S"))

    @property
    def SIGNING_KEY_FILE(self) -> Path:
        """File with the Ed25519 signing key (base64url seed); generated with mode 0600 when absent."""
        return Path(self._get("SIGNING_KEY_FILE"))

    @property
    def AGE_IDENTITY_FILE(self) -> Path:
        """File with the age X25519 identity (``AGE-SECRET-KEY-1…``); generated when absent."""
        return Path(self._get("AGE_IDENTITY_FILE"))

    @property
    def TRUSTED_PROXY(self) -> str:
        """Address of a reverse proxy whose ``X-Forwarded-For`` names the client ("" = none)."""
        return str(self._get("TRUSTED_PROXY"))

    @property
    def COUNT_CONNECTIONS(self) -> bool:
        """Whether accepted TCP connections are counted into ``DATA_DIR/connections.count``."""
        return bool(self._get("COUNT_CONNECTIONS"))


vendor_settings = VendorSettings()
