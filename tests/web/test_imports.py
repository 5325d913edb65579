"""The imports page: upload, dry-run preview with every rejected row, apply once from the kept file,
progress through the worker's background jobs, and calendar subscriptions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from alphasms.appointments.models import Appointment, CalendarSubscription, Customer
from alphasms.jobs import run_pending
from alphasms.testing.fake_http import CannedResponse
from alphasms.web.roles import Role
from alphasms.web.services import imports
from alphasms.web.services.calendar_subscriptions import mask_url

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
PRACTICE = Path(__file__).resolve().parent.parent / "data" / "practice"
NOW = dt.datetime(2026, 12, 5, 6, 0, tzinfo=dt.UTC)
CSV = (
    "Kundennummer;Nachname;Vorname;Mobil;Datum;Uhrzeit\n"
    "3001;Weiß;Anna;0171 2345678;07.12.2026;09:30\n"
    "3002;Groß;Ben;0171 3456789;31.02.2026;10:00\n"
    "3003;Klein;Cem;0171 4567890;08.12.26;8:15\n"
).encode()


@pytest.fixture
def job_dir(tmp_path):
    with override_settings(DATA_DIR=tmp_path):
        yield tmp_path / "tmp" / "imports"


@pytest.fixture
def owner(web_client, alphasms_settings, location, job_dir):
    with override_settings(TASKS=IMMEDIATE), time_machine.travel(NOW, tick=True):
        yield web_client(Role.OWNER)


def _upload(client, location, data: bytes, name: str, **extra):
    return client.post(
        "/imports/", {"file": SimpleUploadedFile(name, data), "location": location.pk, **extra}
    )


def test_staff_and_readonly_users_may_not_import(web_client, location):
    assert web_client(Role.STAFF).get("/imports/").status_code == 403
    assert web_client(Role.READONLY).get("/imports/").status_code == 403
    assert _upload(web_client(Role.STAFF), location, CSV, "x.csv").status_code == 403


def test_a_csv_preview_shows_new_customers_and_the_rejected_row_and_changes_nothing(owner, location, job_dir):
    response = _upload(owner, location, CSV, "termine.csv")
    assert response.status_code == 302
    job_url = response["Location"]
    page = owner.get(job_url)
    html = page.content.decode()
    preview = page.context["preview"]
    assert (preview["customers"]["created"], preview["created"]) == (2, 2)
    assert [(r["line"], r["field"]) for r in preview["rejected"]] == [(3, "date")]
    assert "31.02.2026" in html
    assert 'data-count="rejected">1<' in html
    assert Customer.objects.count() == 0 and Appointment.objects.count() == 0
    job = imports.load(job_url.rstrip("/").split("/")[-1])
    assert (job_dir / job.id / "upload.bin").read_bytes() == CSV


def test_applying_uses_the_kept_file_once_and_then_deletes_it(owner, location, job_dir):
    job_url = _upload(owner, location, CSV, "termine.csv")["Location"]
    job_id = job_url.rstrip("/").split("/")[-1]
    assert owner.post(job_url + "apply/").status_code == 302
    job = imports.load(job_id)
    assert job.state == imports.JobState.DONE
    assert job.result["created"] == 2 and len(job.result["rejected"]) == 1
    assert Customer.objects.count() == 2 and Appointment.objects.count() == 2
    assert not (job_dir / job_id / "upload.bin").exists()
    assert not (job_dir / job_id / "applying.bin").exists()
    # a second click applies nothing
    response = owner.post(job_url + "apply/", follow=True)
    assert "bereits" in response.content.decode() or "already" in response.content.decode()
    assert Appointment.objects.count() == 2
    assert "Import übernommen" in owner.get(job_url).content.decode()


def test_csv_column_mapping_and_consent_from_the_form_reach_the_import(owner, location):
    data = "Nachname;Vorname;Tel. mobil\nWeiß;Anna;0171 2345678\n".encode()
    job_url = _upload(
        owner,
        location,
        data,
        "kunden.csv",
        map_mobile="Tel. mobil",
        consent_sms="on",
        consent_wording="2026-01",
    )["Location"]
    owner.post(job_url + "apply/")
    customer = Customer.objects.get()
    assert customer.mobile_e164 == "+491712345678"
    assert customer.consents.get().wording_version == "2026-01"


def test_consent_without_a_wording_version_is_refused_with_the_fix(owner, location, job_dir):
    response = _upload(owner, location, CSV, "x.csv", consent_sms="on")
    assert response.status_code == 400
    assert response.context["form"].errors["consent_wording"]
    assert not job_dir.exists() or not any(job_dir.iterdir())


def test_an_unreadable_calendar_fails_with_its_reason_and_nothing_changes(owner, location):
    job_url = _upload(owner, location, b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:x\r\n", "k.ics")[
        "Location"
    ]
    page = owner.get(job_url).content.decode()
    assert "Kalender nicht lesbar" in page
    assert Appointment.objects.count() == 0


def test_a_binary_file_is_refused_before_anything_is_kept(owner, location, job_dir):
    response = _upload(owner, location, b"PK\x03\x04\x00\x00binary", "liste.csv")
    assert response.status_code == 400
    assert "Binärdaten" in response.content.decode()


def test_another_users_job_is_not_found(owner, web_client, location):
    job_url = _upload(owner, location, CSV, "termine.csv")["Location"]
    assert web_client(Role.OWNER).get(job_url).status_code == 404
    assert web_client(Role.OWNER).post(job_url + "apply/").status_code == 404


def test_an_ics_import_runs_in_the_worker_with_progress(web_client, alphasms_settings, location, job_dir):
    import_csv_customers = (PRACTICE / "kunden.csv").read_bytes()
    with override_settings(TASKS=DATABASE), time_machine.travel(NOW, tick=True):
        client = web_client(Role.OWNER)
        from alphasms.appointments.services.csv_import import import_csv

        import_csv(import_csv_customers, location, "kunden.csv")
        job_url = _upload(client, location, (PRACTICE / "praxis.ics").read_bytes(), "praxis.ics")["Location"]
        job_id = job_url.rstrip("/").split("/")[-1]
        fragment = client.get(job_url + "progress/", HTTP_HX_REQUEST="true")
        assert "Warten auf den Worker" in fragment.content.decode()
        assert "HX-Refresh" not in fragment
        run_pending()  # what `alphasms worker` does in its jobs thread
        fragment = client.get(job_url + "progress/", HTTP_HX_REQUEST="true")
        assert fragment["HX-Refresh"] == "true"
        progress = imports.progress(imports.load(job_id))
        assert progress.done == progress.total > 0
        preview = imports.load(job_id).preview
        assert preview["created"] > 0 and Appointment.objects.count() == 0

        client.post(job_url + "apply/")
        assert imports.load(job_id).state == imports.JobState.APPLY_QUEUED
        run_pending()
        assert imports.load(job_id).state == imports.JobState.DONE
        assert Appointment.objects.count() == preview["created"]


def test_stale_jobs_are_removed(owner, location, job_dir):
    job_url = _upload(owner, location, CSV, "termine.csv")["Location"]
    job_id = job_url.rstrip("/").split("/")[-1]
    assert imports.purge_stale() == 0
    import time

    assert imports.purge_stale(time.time() + imports.JOB_TTL_S + 1) == 1
    assert imports.load(job_id) is None


# --- calendar subscriptions ---------------------------------------------------------------------


def test_subscription_urls_are_shown_without_their_secrets():
    assert (
        mask_url(
            "https://u:pw@calendar.google.com/calendar/ical/x%40g/private-0a1b2c3d4e5f6a7b8c9d/basic.ics?t=1"
        )
        == "https://calendar.google.com/calendar/ical/x%40g/priv…/basic.ics?t=…"
    )
    assert mask_url("https://cloud.example/remote.php/dav/public-calendars/Ab3dEf6hIj9kLm2n") == (
        "https://cloud.example/remote.php/dav/public-calendars/Ab3d…"
    )


def test_a_subscription_to_a_private_address_is_refused(owner, location, alphasms_settings):
    alphasms_settings["ALLOWED_PRIVATE_HOSTS"] = []
    response = owner.post(
        "/imports/subscriptions/add/",
        {"name": "Intern", "url": "http://127.0.0.1:8080/k.ics", "location": location.pk, "interval_min": 15},
    )
    assert response.status_code == 400
    assert response.context["subscription_form"].errors["url"]
    assert CalendarSubscription.objects.count() == 0


def test_a_subscription_is_added_refreshed_changed_and_removed(owner, location, fake_http):
    fake_http.enqueue(CannedResponse(200, {"ETag": '"v1"'}, (PRACTICE / "praxis.ics").read_bytes()))
    url = fake_http.url + "/cal/private-0a1b2c3d4e5f6a7b8c9d/basic.ics"
    response = owner.post(
        "/imports/subscriptions/add/",
        {"name": "Praxis", "url": url, "location": location.pk, "interval_min": 30},
    )
    assert response.status_code == 302
    subscription = CalendarSubscription.objects.get()
    assert subscription.refresh_interval_s == 1800
    page = owner.get("/imports/").content.decode()
    assert "private-0a1b" not in page and "/cal/priv…/basic.ics" in page

    owner.post(f"/imports/subscriptions/{subscription.pk}/refresh/")
    subscription.refresh_from_db()
    assert subscription.last_result.startswith("neu ")
    assert Appointment.objects.filter(source_name=url).count() > 0
    assert subscription.last_result in owner.get("/imports/").content.decode()

    owner.post(f"/imports/subscriptions/{subscription.pk}/interval/", {"interval_min": 5})
    subscription.refresh_from_db()
    assert subscription.refresh_interval_s == 300

    owner.post(f"/imports/subscriptions/{subscription.pk}/remove/")
    assert CalendarSubscription.objects.count() == 0
    assert Appointment.objects.filter(source_name=url).count() > 0  # the appointments stay


# --- entries outside the window, unmatched entries, the history, the preselected location ---------------

CALENDARS = PRACTICE.parent / "calendars"


def _ics(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e}END:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{body}END:VCALENDAR\r\n".encode()


def test_a_calendar_wholly_in_the_past_says_so_with_the_imported_period(owner, location):
    data = (CALENDARS / "exchange-cdo-weekday-series.ics").read_bytes()  # one series of July 2015
    job_url = _upload(owner, location, data, "exchange.ics")["Location"]
    page = owner.get(job_url)
    html = page.content.decode()
    assert page.context["preview"]["events"] == {
        "read": 1, "before": 1, "after": 0, "outside": 1, "none_inside": True
    }  # fmt: skip
    assert 'data-events-read="1" data-events-before="1" data-events-after="0"' in html
    # the window: one day back (4 December 2026) up to the 60-day planning horizon (3 February 2027)
    assert "1 Eintrag gelesen" in html and "er liegt vor dem 4. Dezember 2026." in html
    assert "Importiert werden Termine vom 4. Dezember 2026 bis zum 3. Februar 2027" in html
    owner.post(job_url + "apply/")
    result = owner.get(job_url).content.decode()
    assert "er liegt vor dem 4. Dezember 2026." in result and Appointment.objects.count() == 0


def test_entries_partly_outside_the_window_are_counted(owner, location):
    data = _ics(
        "UID:past\r\nDTSTART:20150101T090000Z\r\nSUMMARY:a\r\n",
        "UID:soon\r\nDTSTART:20261210T090000Z\r\nSUMMARY:b\r\n",
        "UID:later\r\nDTSTART:20270601T090000Z\r\nSUMMARY:c\r\n",
    )
    html = owner.get(_upload(owner, location, data, "k.ics")["Location"]).content.decode()
    assert 'data-events-read="3" data-events-before="1" data-events-after="1"' in html
    assert "2 von 3 Einträgen liegen außerhalb des importierten Zeitraums" in html


def test_entries_without_a_customer_show_their_local_date_and_time_sorted_with_how_matching_works(
    owner, location
):
    data = _ics(
        "UID:c\r\nDTSTART:20261209T150000Z\r\nSUMMARY:Zahnreinigung\r\n",
        "UID:a\r\nDTSTART:20261208T080000Z\r\nSUMMARY:Frau Berg\r\n",
        "UID:b\r\nDTSTART:20261208T123000Z\r\nSUMMARY:Herr Tal\r\n",
    )
    page = owner.get(_upload(owner, location, data, "k.ics")["Location"])
    rows = [(u["summary"], u["local"]) for u in page.context["preview"]["unmatched"]]
    assert rows == [
        ("Frau Berg", dt.datetime(2026, 12, 8, 9, 0)),  # Berlin wall-clock time (UTC+1 in December)
        ("Herr Tal", dt.datetime(2026, 12, 8, 13, 30)),
        ("Zahnreinigung", dt.datetime(2026, 12, 9, 16, 0)),
    ]
    html = page.content.decode()
    table = html[html.index('<table class="unmatched">') :]
    table = table[: table.index("</table>")]
    assert table.count("Di 8. Dez 2026") == 1  # the date once per day
    assert table.index("09:00") < table.index("13:30") < table.index("Mi 9. Dez 2026") < table.index("16:00")
    assert "kein Kunde passt auf den Titel" in table
    assert 'href="/customers/"' in html and "Kundennummer" in html and "Abschnitt „Calendars“" in html


def test_applied_imports_are_listed_with_a_link_to_their_result_after_the_job_is_gone(
    owner, web_client, location, job_dir
):
    from alphasms.web.models import ImportRecord

    job_url = _upload(owner, location, CSV, "termine.csv")["Location"]
    job_id = job_url.rstrip("/").split("/")[-1]
    assert ImportRecord.objects.count() == 0  # a preview is no import
    page = owner.get("/imports/").content.decode()
    assert f'href="{job_url}"' in page  # the own upload not applied yet
    owner.post(job_url + "apply/")

    entry = ImportRecord.objects.get()
    assert (entry.job_id, entry.file_name, entry.kind, entry.ok) == (job_id, "termine.csv", "csv", True)
    assert entry.counts["created"] == 2 and entry.counts["customers_created"] == 2
    assert entry.rejected_lines == [[3, "date"]]  # line and field only: no reason, no value
    assert "31.02" not in str(entry.counts) + str(entry.rejected_lines)

    colleague = web_client(Role.OWNER)  # the history is the practice's, not the uploader's
    page = colleague.get("/imports/").content.decode()
    record_url = f"/imports/history/{entry.pk}/"
    assert f'href="{record_url}"' in page and "termine.csv" in page
    detail = colleague.get(record_url).content.decode()
    assert "31.02.2026" in detail  # the full result while the job folder lives
    assert 'data-count="created">2<' in detail

    imports.purge_stale(dt.datetime(2026, 12, 6, 0, 0, tzinfo=dt.UTC).timestamp())
    assert imports.load(job_id) is None
    detail = colleague.get(record_url).content.decode()
    assert "31.02.2026" not in detail and 'data-count="created">2<' in detail
    assert "<td>3</td><td>Datum</td>" in detail
    assert web_client(Role.STAFF).get(record_url).status_code == 403


def test_the_history_keeps_the_newest_imports_only(owner, location):
    from alphasms.web.models import ImportRecord

    for number in range(imports.HISTORY_SIZE + 2):
        job = imports.stage(CSV, f"t{number}.csv", location, 99)  # a user deleted since: kept as "–"
        job.state = imports.JobState.DONE
        job.result = {"created": number}
        imports.record(job)
    names = list(ImportRecord.objects.values_list("file_name", flat=True))
    assert len(names) == imports.HISTORY_SIZE and "t0.csv" not in names and "t21.csv" in names
    assert not ImportRecord.objects.filter(user__isnull=False).exists()


def test_the_only_location_is_preselected_in_both_forms(owner, location):
    from alphasms.appointments.models import Location

    html = owner.get("/imports/").content.decode()
    assert "---------" not in html
    assert html.count(f'<option value="{location.pk}" selected>') == 2
    Location.objects.create(name="Filiale")
    html = owner.get("/imports/").content.decode()
    assert html.count("---------") == 2 and f'value="{location.pk}" selected' not in html
