"""Models of the support app (backups, support backup receipts, remote maintenance)."""

from __future__ import annotations
