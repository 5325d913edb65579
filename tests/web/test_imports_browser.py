"""Browser flows of the imports page (Playwright, Debian's Chromium): import a real calendar export
(preview with counts, apply, progress finishes, the appointments are there), and a CSV whose bad row is
shown with its reason before anything is applied; the applied import is listed in the history.
Screenshots: imports-preview, imports-progress, imports-csv-rejected, imports-done, imports-history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.test import override_settings

from alphasms.appointments.models import Appointment, Customer, Location
from alphasms.appointments.services.ics_import import import_ics
from alphasms.jobs import run_pending
from alphasms.testing.web import make_web_user, sign_in_browser
from alphasms.web.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)

CALENDARS = Path(__file__).resolve().parent.parent / "data" / "calendars"
# The Potsdam makerspace's Google export was made in February 2019: its weekly series then lie ahead.
NOW = dt.datetime(2019, 2, 17, 8, 0, tzinfo=dt.UTC)
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def signed_in(browser_page, tmp_path, alphasms_settings):
    """An owner signed in through the browser (password, then the TOTP code) at ``NOW``."""
    with time_machine.travel(NOW, tick=True), override_settings(DATA_DIR=tmp_path, TASKS=IMMEDIATE):
        Location.objects.create(name="Praxis Sonnenhof")
        owner = make_web_user(Role.OWNER, username="chefin")
        page, url = browser_page
        sign_in_browser(page, url, owner)
        yield page, url


def test_an_owner_imports_a_calendar_export_after_seeing_what_will_change(signed_in, screenshot):
    page, url = signed_in
    data = (CALENDARS / "google-machbar-potsdam-2019.ics").read_bytes()
    expected = import_ics(data, Location.objects.get(), "x.ics", dry_run=True)  # the same dry run
    assert expected.created > 10

    page.get_by_role("link", name="Importe").click()
    page.wait_for_url(url + "/imports/")
    page.get_by_label("Datei (.ics oder .csv)").set_input_files(
        str(CALENDARS / "google-machbar-potsdam-2019.ics")
    )
    page.get_by_role("button", name="Hochladen und prüfen").click()
    page.wait_for_selector("section.preview")
    assert page.locator("h2#preview-title").inner_text() == "Was sich ändert"
    assert page.locator("dd[data-count='created']").inner_text() == str(expected.created)
    assert page.locator("dd[data-count='rejected']").inner_text() == "0"
    assert page.locator("table.changes tbody tr").count() == expected.created
    assert Appointment.objects.count() == 0  # a preview changes nothing
    screenshot(page, "imports-preview")

    # The import runs as a background job of the worker: the page polls its progress (htmx) until the
    # worker has run it, then shows the outcome.
    polls = []
    page.route("**/progress/", lambda route: (polls.append(1), route.abort()))  # hold the polls back
    with override_settings(TASKS=DATABASE):
        page.get_by_role("button", name="Import übernehmen").click()
        page.wait_for_selector("#import-progress")
        assert "Warten auf den Worker" in page.locator("#import-progress").inner_text()
        assert page.locator("#progress-title").inner_text() == "Import wird übernommen"
        assert page.locator("#import-progress progress").get_attribute("value") == "0"
        assert page.locator("#import-progress progress").count() == 1
        screenshot(page, "imports-progress")
        page.wait_for_timeout(1500)
        assert polls  # htmx asks every second
        assert run_pending() == 1  # what the worker's jobs thread does
    page.unroute("**/progress/")
    page.wait_for_selector("section.result")  # the next poll says "finished": the page reloads
    assert page.locator("h2#result-title").inner_text() == "Import übernommen"
    assert page.locator("dd[data-count='created']").inner_text() == str(expected.created)
    assert (
        Appointment.objects.filter(source_name="google-machbar-potsdam-2019.ics").count() == expected.created
    )
    screenshot(page, "imports-done")

    # the applied import stays reachable from the imports page's history
    page.get_by_role("link", name="Importe", exact=True).first.click()
    page.wait_for_url(url + "/imports/")
    row = page.locator("table.import-history tbody tr")
    assert row.count() == 1 and row.locator("td").nth(3).inner_text() == str(expected.created)
    screenshot(page, "imports-history")
    row.get_by_role("link", name="google-machbar-potsdam-2019.ics").click()
    page.wait_for_selector("section.result")
    assert page.locator("dd[data-count='created']").inner_text() == str(expected.created)


def test_a_csv_row_with_an_impossible_date_is_shown_with_its_reason_before_applying(signed_in, screenshot):
    page, url = signed_in
    csv = (
        "Kundennummer;Nachname;Vorname;Mobil;Datum;Uhrzeit\n"
        "3001;Weiß;Anna;0171 2345678;20.02.2019;09:30\n"
        "3002;Groß;Ben;0171 3456789;30.02.2019;10:00\n"
    ).encode("cp1252")
    page.goto(url + "/imports/")
    page.get_by_label("Datei (.ics oder .csv)").set_input_files(
        files=[{"name": "termine.csv", "mimeType": "text/csv", "buffer": csv}]
    )
    page.get_by_role("button", name="Hochladen und prüfen").click()
    page.wait_for_selector("section.preview")
    row = page.locator("table.rejected tbody tr")
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "3" and cells[1] == "Datum" and "30.02.2019" in cells[2]
    assert page.locator("dd[data-count='customers_created']").inner_text() == "1"
    assert Customer.objects.count() == 0
    screenshot(page, "imports-csv-rejected")

    page.get_by_role("button", name="Import übernehmen").click()
    page.wait_for_selector("section.result")
    assert list(Customer.objects.values_list("family_name", flat=True)) == ["Weiß"]
