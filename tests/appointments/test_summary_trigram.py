"""PostgreSQL: appointment titles have a trigram index that a search inside titles (``icontains``) can use;
SQLite searches the same way without it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from alphasms.appointments.models import Appointment
from tests.conftest import make_appointment, make_customer

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=dt.UTC)


def test_a_title_search_finds_words_inside_titles_on_either_database(location):
    person = make_customer()
    wanted = make_appointment(location, person, START)
    wanted.summary = "Manuelle Lymphdrainage (Müller)"
    wanted.save()
    other = make_appointment(location, person, START + dt.timedelta(hours=1))
    other.summary = "Krankengymnastik"
    other.save()
    assert list(Appointment.objects.filter(summary__icontains="müller")) == [wanted]
    assert list(Appointment.objects.filter(summary__icontains="DRAINAGE")) == [wanted]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's")
def test_postgresql_uses_the_trigram_index_for_a_title_search(location):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'appointment_summary_trgm'")
        (definition,) = cursor.fetchone()
        assert "gin_trgm_ops" in definition and "upper" in definition.lower()
        query = Appointment.objects.filter(summary__icontains="Müller").order_by().values("pk")
        sql, params = query.query.sql_with_params()
        # A tiny table: leave the planner only bitmap scans, which need an index the condition can use.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "appointment_summary_trgm" in plan
