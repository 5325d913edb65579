"""Environment-variable readers shared by the client's and the vendor server's Django settings.

Framework-free and without side effects on import (no Django, no data folder), so
``alphasms.vendor_server.settings`` can use them without importing the client's settings, which create
the client's data folder. Secrets also accept ``NAME_FILE`` (the path of a file holding the value), as
hc's ``envsecret`` does.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["env", "env_bool", "env_int", "env_or_generated_secret"]

_TRUE = frozenset({"1", "true", "yes", "on"})


def env(name: str, default: str = "") -> str:
    """Return environment variable ``name``, or the content of the file named by ``name_FILE``.

    The file's content is stripped of surrounding whitespace; ``name_FILE`` wins over ``name``.
    Raises ``OSError`` when ``name_FILE`` names a file that cannot be read.
    """
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """Return a boolean environment variable ("1", "true", "yes", "on" are true).

    Unset or empty: ``default``; any other value is false.
    """
    value = env(name)
    return default if value == "" else value.strip().lower() in _TRUE


def env_int(name: str, default: int) -> int:
    """Return an integer environment variable (unset or empty: ``default``).

    Raises ``ValueError`` when the value is not an integer.
    """
    value = env(name)
    return default if value == "" else int(value)


def env_or_generated_secret(name: str, key_file: Path) -> str:
    """Return ``env(name)`` when set, else the secret kept in ``key_file``: generated on first use
    (``secrets.token_urlsafe(50)``, about 67 characters) and written with mode 0600, read back later.

    Raises ``OSError`` when the file cannot be written or read (its folder must exist).
    """
    configured = env(name)
    if configured:
        return configured
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()
