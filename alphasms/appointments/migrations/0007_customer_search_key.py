"""Customer.search_key: names and e-mail folded for search (``alphasms.appointments.folding``), filled
for existing customers; on PostgreSQL a trigram index (pg_trgm, a trusted extension since PostgreSQL 13)
so ``search_key LIKE '%…%'`` stays an index scan with 100,000 customers. Without the right to create the
extension the index is left out (the search stays correct, only slower) and the reason is printed."""

from typing import Any

from django.db import DatabaseError, migrations, models, transaction

from alphasms.appointments.folding import name_key

INDEX = "appointments_customer_search_key_trgm"
BATCH = 2000


def fill_keys(apps: Any, schema_editor: Any) -> None:
    Customer = apps.get_model("appointments", "Customer")
    rows = Customer.objects.using(schema_editor.connection.alias).order_by("pk")
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last).only("pk", "given_name", "family_name", "email")[:BATCH])
        if not batch:
            return
        last = batch[-1].pk
        for customer in batch:
            customer.search_key = name_key(customer.given_name, customer.family_name, customer.email)
        Customer.objects.using(schema_editor.connection.alias).bulk_update(batch, ["search_key"])


def add_trigram_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON appointments_customer "
                "USING gin (search_key gin_trgm_ops)"
            )
    except DatabaseError as exc:  # no right to create the extension: correct, only slower
        print(f"\n  Customer search: no trigram index ({type(exc).__name__}); searches scan the table.")


def drop_trigram_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0006_planning_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="search_key",
            field=models.CharField(blank=True, default="", editable=False, max_length=1000),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(add_trigram_index, drop_trigram_index),
    ]
