"""Run an ``alphasms`` command in-process for tests, as a user would type it.

``run_cli("licence", "show", "--json")`` maps the two command words to their management command
(``alphasms.cli.translate``, e.g. ``licence_show``) and runs it with ``call_command`` in the test's
database; returns ``(exit code, stdout, stderr)``.
"""

from __future__ import annotations

import io

from django.core.management import call_command

from alphasms.cli import translate


def run_cli(*args: str) -> tuple[int, str, str]:
    """``alphasms ARGS`` in-process → (exit code, stdout, stderr). A ``SystemExit`` (the commands' exit
    codes 1–3, README "Everyday commands") is returned as its code, 0 when it carries none; any other
    exception propagates."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*translate(list(args)), stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()
