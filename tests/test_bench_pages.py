"""The page benchmark (bench/pages.py) keeps working as pages and columns appear: it generates a tiny
data set with its set-based SQL on the test database and measures every main page once. No timing is
asserted — that is what the script is for — only that it measured and printed."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.db import connection

from bench import data, pages

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark's SQL is PostgreSQL's"),
]


def test_it_prints_a_median_for_the_dashboard_and_measures_every_built_page(monkeypatch):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    out = io.StringIO()

    results = pages.run(customers=50, appointments=500, repeats=2, warmups=0, out=out)

    text = out.getvalue()
    assert re.search(r"^Dashboard\s+\d+\.\d ms\s+\d+\.\d ms\s+\d+ ", text, re.MULTILINE), text
    built = [r for r in results if r.built]
    assert [r.key for r in results] == [p.key for p in pages.PAGES]
    assert built[0].key == "dashboard" and built[0].queries and built[0].queries > 3
    assert {r.key: (r.status, r.error) for r in built} == {r.key: (200, "") for r in built}
    assert all(len(r.samples_ms) == 2 for r in built)


def test_the_data_has_the_asked_size_with_reminders_and_is_kept_on_the_next_run(monkeypatch):
    first = data.ensure_data(40, 400, now=pages_now(), log=lambda line: None)
    again = data.ensure_data(40, 400, now=pages_now(), log=lambda line: None)

    assert first.generated and not again.generated
    counts = again.counts
    assert (counts["customers"], counts["appointments"]) == (40, 400)
    assert 300 < counts["messages"] < 600  # an SMS for 93 % of appointments, e-mail for some
    assert counts["attempts"] > 100 and counts["events"] > counts["attempts"]


def test_it_measures_only_the_chosen_pages_as_json():
    out = io.StringIO()
    pages.run(customers=20, appointments=100, repeats=1, warmups=0, only={"dashboard"}, as_json=True, out=out)
    payload = json.loads(out.getvalue())
    (page,) = payload["pages"]
    assert page["key"] == "dashboard" and page["status"] == 200 and page["median_ms"] > 0
    assert payload["counts"]["customers"] == 20


def test_it_refuses_to_wipe_a_database_with_other_locations(location):
    with pytest.raises(data.NotBenchmarkData, match="1 locations not created by the benchmark"):
        data.ensure_data(10, 10, now=pages_now(), log=lambda line: None)
    assert location.__class__.objects.filter(pk=location.pk).exists()


@pytest.mark.parametrize("url", ["postgres://postgres@127.0.0.1/test", "postgres://p@127.0.0.1/test_x"])
def test_it_never_uses_a_test_database(url, monkeypatch):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    with pytest.raises(SystemExit, match="belongs to the tests"):
        pages.ensure_database(url)


def pages_now():
    from django.utils import timezone

    return timezone.now()
