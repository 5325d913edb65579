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
