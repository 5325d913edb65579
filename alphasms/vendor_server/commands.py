"""Base of the vendor's management commands: AlphaCommand's errors and exit codes, the vendor's command
words in usage lines, and a database that migrates itself (the vendor's tool owns it; a licence can be
issued before the server ever ran)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from alphasms.commands import AlphaCommand
from alphasms.vendor_server.words import display_name


class VendorCommand(AlphaCommand):
    """A vendor command: ``help``/``help_en`` as in AlphaCommand; ``print_json`` for ``--json``."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, display_name(subcommand), **kwargs)

    def check_migrations(self) -> None:
        """Apply the vendor database's migrations when some are missing (instead of refusing)."""
        migrate_vendor_database()

    def print_json(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, ensure_ascii=False, indent=2))


def migrate_vendor_database() -> None:
    """Bring the vendor database up to date; quiet, and a no-op when it is."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0)
