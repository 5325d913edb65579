"""Helpers shared by ``alphasms backup create|restore|list``."""

from __future__ import annotations

import getpass


def actor() -> str:
    """Who runs the command, for the audit log: "cli:<login name>"."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli:unknown"


def human_size(size: int) -> str:
    """``size`` bytes as "512 B", "3.4 MB" (decimal units)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"
