"""Shared by the ``alphasms support …`` commands: errors of the service modules as exit codes."""

from __future__ import annotations

from django.core.management.base import CommandError

from alphasms.commands import UsageError


class CommandFailed(UsageError):
    """One sentence for staff with the exit code the service error carries (1 failed, 2 usage,
    3 nothing to do). A ``UsageError`` subclass so ``AlphaCommand.report_error`` keeps its code."""

    def __init__(self, message: str, returncode: int) -> None:
        CommandError.__init__(self, message, returncode=returncode)
