"""Read the whole test database with SQL, independently of the ORM and the privacy registry: every table,
its text and JSON columns and its foreign keys (Django's introspection), so tests can find every row
about a person by its content and by the rows that point at it, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection

TEXT_TYPES = {"CharField", "TextField", "JSONField"}


def norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


@dataclass
class Table:
    name: str
    pk: str | None
    text_columns: list[str]
    relations: dict[str, tuple[str, str]]  # column → (referenced column, referenced table)
    rows: list[dict[str, Any]]


def snapshot() -> dict[str, Table]:
    """Every table of the default database with all its rows."""
    tables = {}
    introspection = connection.introspection
    with connection.cursor() as cursor:
        for name in introspection.table_names(cursor):
            description = introspection.get_table_description(cursor, name)
            text = [c.name for c in description if introspection.get_field_type(c.type_code, c) in TEXT_TYPES]
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(name)}")
            columns = [d[0] for d in cursor.description]
            rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
            relations = introspection.get_relations(cursor, name)
            tables[name] = Table(
                name, introspection.get_primary_key_column(cursor, name), text, relations, rows
            )
    return tables


def leaves(value: Any) -> Iterator[str]:
    """The scalar values inside a stored text or JSON value, as strings ("" and None skipped)."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value) if value[:1] in "[{" else value
        except ValueError:
            parsed = value
        if not isinstance(parsed, str):
            yield from leaves(parsed)
        elif parsed:
            yield parsed
    elif isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    elif value is not None and value != "":
        yield str(value)


def texts(table: Table, row: dict[str, Any]) -> list[str]:
    return [leaf for column in table.text_columns for leaf in leaves(row[column])]


def matcher(given: str, family: str, mobile: str, email: str) -> re.Pattern[str]:
    """Finds a person in normalised text: full name (either order), the number's subscriber digits,
    the e-mail address."""
    g, f = re.escape(norm(given)), re.escape(norm(family))
    digits = re.escape(mobile.lstrip("+")[2:])  # without "+" and country code: any national or E.164 form
    return re.compile(rf"(?<!\w)({g} {f}|{f},? {g})(?!\w)|{digits}|{re.escape(norm(email))}")


def rows_about(
    tables: dict[str, Table], customer_pk: int, pattern: re.Pattern[str]
) -> list[tuple[str, dict[str, Any]]]:
    """Rows that name the person (``pattern`` in a text value), the customer row, and every row pointing
    at one of those (transitively)."""
    found: dict[str, dict[Any, dict[str, Any]]] = {name: {} for name in tables}
    for table in tables.values():
        for row in table.rows:
            is_customer = table.name == "appointments_customer" and row[table.pk] == customer_pk
            if is_customer or any(pattern.search(norm(text)) for text in texts(table, row)):
                found[table.name][row[table.pk] if table.pk else id(row)] = row
    changed = True
    while changed:
        changed = False
        for table in tables.values():
            for column, (ref_column, ref_table) in table.relations.items():
                targets = {row[ref_column] for row in found.get(ref_table, {}).values()}
                for row in table.rows:
                    key = row[table.pk] if table.pk else id(row)
                    if row[column] in targets and key not in found[table.name]:
                        found[table.name][key] = row
                        changed = True
    return [(name, row) for name, rows in found.items() for row in rows.values()]


def export_leaves(data: Any) -> set[str]:
    """Every scalar in an export, as strings (UUIDs also without dashes, as SQLite stores them)."""
    out = set(leaves(data))
    for leaf in list(out):
        if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", leaf):
            out.add(uuid.UUID(leaf).hex)
    return out
