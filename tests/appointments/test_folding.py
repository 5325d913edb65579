"""Customer search keys (alphasms.appointments.folding, Customer.search_key): folding, upkeep on
save and on the bulk paths, and the data migration's result for rows written without the key."""

from __future__ import annotations

import pytest

from alphasms.appointments.folding import fold, fold_umlauts, name_key, search_words
from alphasms.appointments.models import Customer


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("  ÖZTÜRK ", "ozturk"),
        ("Ayşe", "ayse"),
        ("Groß", "gross"),
        ("GROSS", "gross"),
        ("ẞ", "ss"),
        ("Øre Łukasz Æsir", "ore lukasz aesir"),
        ("Cafe\u0301", "cafe"),  # decomposed accent
        ("", ""),
    ],
)
def test_fold_ignores_case_accents_and_sharp_s(text, folded):
    assert fold(text) == folded


def test_umlauts_are_also_spelt_out():
    assert fold_umlauts("Öztürk Bäcker") == "oeztuerk baecker"
    assert name_key("Ayşe", "Öztürk", "Ayse@Example.ORG") == "ayse ozturk oeztuerk|ayse@example.org"
    assert name_key("Jürgen", "Groß") == "jurgen gross juergen|"
    assert search_words("Groß, Jürgen") == ["gross", "jurgen"]
    assert search_words("a|b") == ["a", "b"]


def test_the_key_follows_save_update_fields_and_the_bulk_paths(db):
    customer = Customer.objects.create(given_name="Ayşe", family_name="Öztürk", email="a@example.org")
    assert customer.search_key == "ayse ozturk oeztuerk|a@example.org"
    customer.family_name = "Müller"
    customer.save(update_fields=["family_name"])
    assert Customer.objects.get(pk=customer.pk).search_key == "ayse muller mueller|a@example.org"

    made = Customer.objects.bulk_create([Customer(given_name="Jürgen", family_name="Groß")])
    assert Customer.objects.get(pk=made[0].pk).search_key == "jurgen gross juergen|"
    made[0].email = "J@Example.org"
    Customer.objects.bulk_update(made, ["email"])
    assert Customer.objects.get(pk=made[0].pk).search_key == "jurgen gross juergen|j@example.org"

    Customer.objects.filter(pk=customer.pk).update(given_name="Zoë", search_key="")  # SQL cannot fold
    assert Customer.objects.all().refresh_search_keys(batch_size=1) == 1
    assert Customer.objects.get(pk=customer.pk).search_key == "zoe muller mueller|a@example.org"
    assert Customer.objects.all().refresh_search_keys() == 0


def test_the_migration_fills_keys_of_existing_rows(db):
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    migration = import_module("alphasms.appointments.migrations.0007_customer_search_key")
    customer = Customer.objects.create(given_name="Ayşe", family_name="Öztürk")
    Customer.objects.filter(pk=customer.pk).update(search_key="")
    migration.fill_keys(apps, SimpleNamespace(connection=connection))  # uses only the connection
    assert Customer.objects.get(pk=customer.pk).search_key == "ayse ozturk oeztuerk|"


def test_postgresql_has_a_trigram_index_on_the_key(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %s", ["appointments_customer_search_key_trgm"]
        )
        (definition,) = cursor.fetchone()
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM appointments_customer WHERE search_key LIKE '%ozt%'")
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "gin_trgm_ops" in definition
    assert "appointments_customer_search_key_trgm" in plan


def test_the_benchmark_data_has_the_keys_save_would_write(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the benchmark's SQL is PostgreSQL's")
    import datetime as dt

    from bench import data

    data.ensure_data(60, 60, now=dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC), log=lambda line: None)
    customers = list(Customer.objects.all())
    assert len(customers) == 60
    assert all(c.search_key == c.compute_search_key() for c in customers)
    assert Customer.objects.all().refresh_search_keys() == 0
