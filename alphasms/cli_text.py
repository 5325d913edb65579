"""Command-line wording: German by default, English where the user's locale is English.

The locale comes from LC_ALL, LC_MESSAGES or LANG (POSIX order) and ALPHASMS_LANGUAGE overrides it.
Web views that show a service's bilingual sentence run it inside ``use_language(request language)``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar

_language: ContextVar[str] = ContextVar("alphasms_cli_language", default="")


@contextlib.contextmanager
def use_language(code: str | None) -> Iterator[None]:
    """Within the block (this thread or task only), ``t`` picks English for a code starting with "en"
    and German otherwise, whatever the locale says."""
    token = _language.set("en" if (code or "").lower().startswith("en") else "de")
    try:
        yield
    finally:
        _language.reset(token)


def cli_language() -> str:
    """ "en" when ``use_language`` or the locale asks for English, else "de"."""
    if chosen := _language.get():
        return chosen
    for name in ("ALPHASMS_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "en" if value.lower().startswith("en") else "de"
    return "de"


def t(de: str, en: str) -> str:
    """Pick the German or English text for the CLI."""
    return en if cli_language() == "en" else de


def tn(count: int, de: tuple[str, str], en: tuple[str, str]) -> str:
    """``count`` with the right noun form: ``de``/``en`` are (singular, plural) and may hold
    ``{count}``; German and English both use the singular for exactly 1 (CLDR plural rules).
    ``tn(1, ("{count} Nachricht", "{count} Nachrichten"), ("{count} message", "{count} messages"))``."""
    one, other = en if cli_language() == "en" else de
    return (one if count == 1 else other).format(count=count)
