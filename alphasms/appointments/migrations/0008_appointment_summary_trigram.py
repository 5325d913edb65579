"""PostgreSQL only: a trigram index on the upper-cased appointment title, so a search for a word inside
titles (``summary__icontains``: ``UPPER(summary) LIKE UPPER('%…%')``) reads the index instead of every
appointment of the range. Needs the ``pg_trgm`` extension (in PostgreSQL's contrib, trusted since 13:
the database owner may create it); where it cannot be created the search works as before, without the
index. SQLite: nothing to do (its LIKE scans; SQLite installations are small).
"""

from __future__ import annotations

import logging

from django.db import migrations, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

log = logging.getLogger("alphasms.migrations")

INDEX = "appointment_summary_trgm"
TABLE = "appointments_appointment"


def create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # no contrib package, or no right to create it: search works unindexed
            log.warning("pg_trgm not available (%s); appointment titles are searched without an index", exc)
            return
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON {TABLE} USING gin (UPPER(summary::text) gin_trgm_ops)"
        )


def drop(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    # Also merges the two 0007 migrations written at the same time.
    dependencies = [
        ("appointments", "0007_appointment_location_start"),
        ("appointments", "0007_customer_search_key"),
    ]

    operations = [migrations.RunPython(create, drop)]
