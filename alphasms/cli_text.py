"""Command-line wording: German by default, English where the user's locale is English.

The locale comes from LC_ALL, LC_MESSAGES or LANG (POSIX order) and ALPHASMS_LANGUAGE overrides it.
"""

from __future__ import annotations

import os


def cli_language() -> str:
    """ "en" when the locale asks for English, else "de"."""
    for name in ("ALPHASMS_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "en" if value.lower().startswith("en") else "de"
    return "de"


def t(de: str, en: str) -> str:
    """Pick the German or English text for the CLI."""
    return en if cli_language() == "en" else de
