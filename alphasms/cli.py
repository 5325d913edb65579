"""The ``alphasms`` console script: Django's management commands behind one entry point.

``alphasms run`` starts web app and worker, ``alphasms import ics FILE`` imports a calendar, and so on;
any Django command (``migrate``, ``createsuperuser``) works too. Exit codes: 0 success, 1 some sends or
rows failed, 2 usage error, 3 nothing to do.
"""

from __future__ import annotations

import os
import sys

# Sub-commands written as two words map to one management command: "import ics" → "import_ics".
_TWO_WORD = {
    ("import", "ics"): "import_ics",
    ("import", "csv"): "import_csv",
    ("calendar", "occurrences"): "calendar_occurrences",
    ("sms", "info"): "sms_info",
    ("privacy", "audit-verify"): "privacy_audit_verify",
    ("sms", "spend"): "sms_spend",
    ("phone", "normalize"): "phone_normalize",
}


def translate(argv: list[str]) -> list[str]:
    """Map ``alphasms`` words to Django command names; everything else passes through unchanged."""
    if len(argv) >= 2 and (argv[0], argv[1]) in _TWO_WORD:
        return [_TWO_WORD[(argv[0], argv[1])], *argv[2:]]
    return argv


def main(argv: list[str] | None = None, prog: str = "alphasms") -> int:
    """Run one command; returns the process exit code."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphasms.project.settings")
    from django.core.management import execute_from_command_line

    args = translate(list(sys.argv[1:] if argv is None else argv))
    try:
        execute_from_command_line([prog, *args])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return 0
