"""Import jobs of the web app: an uploaded .ics or CSV file, its dry run, its application, its progress.

A job is a folder ``<data dir>/tmp/imports/<id>/`` (the data directory is shared by the web app and the
worker process, which may be different processes or hosts with a shared disk):

* ``upload.bin`` — the uploaded bytes, at most ``MAX_UPLOAD_BYTES``; renamed to ``applying.bin`` when a
  person clicks "apply" (an atomic rename, so a double click applies once) and deleted when the
  application ends, however it ends. The apply step reads this file, never a second upload;
* ``job.json`` — who uploaded what for which location with which options, the state, and the reports of
  the dry run and of the application (``ImportReport.as_dict`` plus ``changes``);
* ``progress.json`` — rows or occurrences done of total, written by the running job outside the import's
  transaction (other processes cannot see rows of an uncommitted transaction).

Both steps run as background jobs (``import_job_task``, Django's Tasks API, ``alphasms.jobs``), using the
same service code: ``import_ics``/``import_csv`` with ``dry_run=True`` for the preview, without it to apply
(then ``plan()``). Folders older than ``JOB_TTL_S`` are removed when the imports page is opened or a file
is uploaded, so uploaded personal data does not linger.

When an application ends, an :class:`~alphasms.web.models.ImportRecord` keeps who/when/which file and the
numbers (ids and counts only, the newest ``HISTORY_SIZE``) for the imports page's history; the full
result with its reasons is shown from ``job.json`` while the folder lives.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tasks import task

from alphasms.appointments.csvparse import CsvFormatError
from alphasms.appointments.ical import CalendarError
from alphasms.appointments.management.commands._sources import looks_binary
from alphasms.appointments.models import Location
from alphasms.appointments.services.csv_import import import_csv
from alphasms.appointments.services.ics_import import ImportReport, import_ics
from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.http import MAX_DOWNLOAD_BYTES
from alphasms.web.models import ImportRecord

log = logging.getLogger("alphasms.web.imports")

#: Largest file accepted for upload, in bytes (the same limit as a calendar download).
MAX_UPLOAD_BYTES = MAX_DOWNLOAD_BYTES
#: A job folder older than this (seconds since its last change) is removed.
JOB_TTL_S = 6 * 3600
#: Progress is written at most this often (seconds), and always at the end.
PROGRESS_EVERY_S = 0.25
#: How many applied imports the history keeps.
HISTORY_SIZE = 20
KINDS = ("ics", "csv")
CONSENT_CHANNELS = ("sms", "email")


class JobState(enum.StrEnum):
    """Where a job stands. ``*_QUEUED`` waits for the worker; ``PREVIEWING``/``APPLYING`` run."""

    PREVIEW_QUEUED = "preview_queued"
    PREVIEWING = "previewing"
    PREVIEWED = "previewed"
    APPLY_QUEUED = "apply_queued"
    APPLYING = "applying"
    DONE = "done"
    FAILED = "failed"


RUNNING_STATES = frozenset(
    {JobState.PREVIEW_QUEUED, JobState.PREVIEWING, JobState.APPLY_QUEUED, JobState.APPLYING}
)


class UploadRefused(ValueError):
    """The uploaded file cannot be imported at all (empty, too large, binary, wrong kind); nothing was
    kept. ``message_de``/``message_en`` name the fix."""

    def __init__(self, message_de: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_de = message_de
        self.message_en = message_en


@dataclass
class ImportJob:
    """One uploaded file and what became of it (``job.json``). ``preview`` and ``result`` are report
    dicts (``report_dict``); ``error_de``/``error_en`` say why a step failed (state ``FAILED``)."""

    id: str
    kind: str
    file_name: str
    location_id: int
    user_id: int
    created_at: str
    mapping: dict[str, str] = field(default_factory=dict)
    consent_channels: list[str] = field(default_factory=list)
    consent_wording: str = ""
    state: str = JobState.PREVIEW_QUEUED
    preview: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error_de: str = ""
    error_en: str = ""

    @property
    def running(self) -> bool:
        """True while a step waits for the worker or runs."""
        return self.state in RUNNING_STATES


@dataclass(frozen=True)
class Progress:
    """Rows (CSV) or occurrences (.ics) ``done`` of ``total`` in the running step (``phase``
    "preview" or "apply"); ``total`` 0 until the file has been read."""

    phase: str
    done: int
    total: int

    @property
    def percent(self) -> int:
        """Whole percent done (0 before the total is known)."""
        return round(100 * self.done / self.total) if self.total else 0


def jobs_root() -> Path:
    """``<data dir>/tmp/imports`` (created on demand)."""
    root = Path(settings.DATA_DIR) / "tmp" / "imports"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _folder(job_id: str) -> Path | None:
    # ids are token_urlsafe: anything else (a path, "..") is no job
    if not job_id or not all(c.isalnum() or c in "-_" for c in job_id) or len(job_id) > 64:
        return None
    return jobs_root() / job_id


def kind_of(file_name: str, data: bytes) -> str:
    """ "ics" or "csv" from the file name's extension, else from the content (``BEGIN:VCALENDAR``)."""
    suffix = Path(file_name).suffix.lower()
    if suffix in (".ics", ".ical", ".ifb", ".icalendar"):
        return "ics"
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].upper()
    return "ics" if head.startswith(b"BEGIN:VCALENDAR") else "csv"


def stage(
    data: bytes,
    file_name: str,
    location: Location,
    user_id: int,
    *,
    mapping: dict[str, str] | None = None,
    consent_channels: tuple[str, ...] = (),
    consent_wording: str = "",
) -> ImportJob:
    """Keep an uploaded file as a new job and queue its dry run.

    Raises UploadRefused (nothing kept) for an empty, binary or too large file. Side effects: the job's
    folder is written; stale job folders are removed; a background task is queued (with the immediate
    backend it runs before this returns).
    """
    purge_stale()
    name = Path(file_name).name[:200] or "upload"
    if len(data) > MAX_UPLOAD_BYTES:
        mib = MAX_UPLOAD_BYTES // (1024 * 1024)
        raise UploadRefused(
            f"Die Datei ist größer als {mib} MiB – den Export auf einen kürzeren Zeitraum beschränken.",
            f"The file is larger than {mib} MiB – export a shorter period.",
        )
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise UploadRefused(
            "Die Datei ist leer – den Export wiederholen.", "The file is empty – export it again."
        )
    if looks_binary(data):
        raise UploadRefused(
            "Das ist keine Text-Datei (Binärdaten) – den Kalender als .ics oder die Tabelle als CSV "
            "exportieren (Excel: „Speichern unter → CSV UTF-8“).",
            "This is no text file (binary data) – export the calendar as .ics or the table as CSV "
            "(Excel: 'Save as → CSV UTF-8').",
        )
    job = ImportJob(
        id=secrets.token_urlsafe(18),
        kind=kind_of(name, data),
        file_name=name,
        location_id=location.pk,
        user_id=user_id,
        created_at=timezone.now().isoformat(),
        mapping=dict(mapping or {}),
        consent_channels=list(consent_channels),
        consent_wording=consent_wording,
    )
    folder = jobs_root() / job.id
    folder.mkdir(mode=0o700)
    (folder / "upload.bin").write_bytes(data)
    save(job)
    log.info("import job %s staged: %s, %d bytes, location %s", job.id, job.kind, len(data), location.pk)
    import_job_task.enqueue(job.id, "preview")
    return load(job.id) or job


def load(job_id: str) -> ImportJob | None:
    """The job, or None when there is none with that id (expired, discarded, never existed)."""
    folder = _folder(job_id)
    if folder is None:
        return None
    try:
        raw = json.loads((folder / "job.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return ImportJob(**raw)


def save(job: ImportJob) -> None:
    """Write ``job.json`` atomically (a reader never sees half a file)."""
    _write_json(jobs_root() / job.id / "job.json", asdict(job))


def _write_json(path: Path, value: object) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    try:
        os.replace(temporary, path)
    except PermissionError:  # Windows: a reader has it open; the next write will do
        temporary.unlink(missing_ok=True)


def progress(job: ImportJob) -> Progress:
    """The running step's progress (0 of 0 before it started)."""
    try:
        raw = json.loads((jobs_root() / job.id / "progress.json").read_text(encoding="utf-8"))
        return Progress(str(raw["phase"]), int(raw["done"]), int(raw["total"]))
    except (OSError, ValueError, KeyError, TypeError):
        phase = "apply" if job.state in (JobState.APPLY_QUEUED, JobState.APPLYING) else "preview"
        return Progress(phase, 0, 0)


def request_apply(job: ImportJob) -> bool:
    """Queue the application of a previewed job; False when it is not (or no longer) waiting for that
    — already applied, applying, or discarded. The rename of the kept file is the claim: of two clicks
    exactly one succeeds."""
    if job.state != JobState.PREVIEWED:
        return False
    folder = jobs_root() / job.id
    try:
        os.rename(folder / "upload.bin", folder / "applying.bin")
    except OSError:
        return False
    job.state = JobState.APPLY_QUEUED
    _write_json(folder / "progress.json", {"phase": "apply", "done": 0, "total": 0})
    save(job)
    import_job_task.enqueue(job.id, "apply")
    return True


def discard(job: ImportJob) -> None:
    """Remove the job's folder with the uploaded file (not while a step runs: it would be recreated)."""
    shutil.rmtree(jobs_root() / job.id, ignore_errors=True)


def purge_stale(now: float | None = None) -> int:
    """Remove job folders uploaded more than ``JOB_TTL_S`` ago (by ``created_at``; a folder without a
    readable ``job.json`` by its modification time), unless a step is running; returns how many."""
    now = time.time() if now is None else now
    removed = 0
    for folder in jobs_root().iterdir():
        job = load(folder.name)
        try:
            born = created_at(job).timestamp() if job is not None else folder.stat().st_mtime
        except (OSError, ValueError):
            continue
        if now - born > JOB_TTL_S and not (job is not None and job.running):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def report_dict(report: ImportReport) -> dict[str, Any]:
    """``report.as_dict()`` plus ``changes`` (kind, start, summary) and the dry-run flag."""
    return {
        **report.as_dict(),
        "changes": [{"kind": c.kind, "start": c.start, "summary": c.summary} for c in report.changes],
        "dry_run": report.dry_run,
        "unmatched_count": len(report.unmatched),
    }


@task()
def import_job_task(job_id: str, phase: str) -> str:
    """Background task: run ``phase`` ("preview" or "apply") of job ``job_id``; returns the new state."""
    return run_step(job_id, phase)


def run_step(job_id: str, phase: str) -> str:
    """Run one step of a job and record its outcome in ``job.json``; never raises for a bad file.

    "preview": dry run of the kept upload. "apply": the import itself on ``applying.bin``, then the
    reminder planner; the file is deleted afterwards whatever happened.
    """
    job = load(job_id)
    if job is None:
        log.warning("import job %s: gone before its %s step ran", job_id, phase)
        return "missing"
    folder = jobs_root() / job.id
    source = folder / ("upload.bin" if phase == "preview" else "applying.bin")
    job.state = JobState.PREVIEWING if phase == "preview" else JobState.APPLYING
    save(job)
    try:
        report = _run_import(job, source.read_bytes(), _progress_writer(folder, phase), phase == "preview")
        if phase == "apply":
            plan()
    except CalendarError as exc:
        job.state, job.error_de, job.error_en = (
            JobState.FAILED,
            f"Kalender nicht lesbar – nichts wurde geändert: {exc.german}",
            f"Calendar unreadable – nothing was changed: {exc}",
        )
    except CsvFormatError as exc:
        job.state, job.error_de, job.error_en = (
            JobState.FAILED,
            f"CSV-Datei nicht lesbar – nichts wurde geändert: {exc.reason_de}",
            f"CSV file unreadable – nothing was changed: {exc.reason_en}",
        )
    except Exception as exc:  # a bug: logged with its traceback; the person sees the job failed
        log.exception("import job %s: %s step failed", job.id, phase)
        job.state, job.error_de, job.error_en = (
            JobState.FAILED,
            f"Interner Fehler ({type(exc).__name__}) – siehe Protokoll; nichts wurde geändert.",
            f"Internal error ({type(exc).__name__}) – see the log; nothing was changed.",
        )
    else:
        if phase == "preview":
            job.state, job.preview = JobState.PREVIEWED, report_dict(report)
        else:
            job.state, job.result = JobState.DONE, report_dict(report)
    finally:
        if phase == "apply":
            source.unlink(missing_ok=True)
    save(job)
    log.info("import job %s: %s step ended %s", job.id, phase, job.state)
    if phase == "apply":
        try:
            record(job)
        except Exception:  # the import itself is done; only its history line is missing
            log.exception("import job %s: history record not written", job.id)
    return job.state


def record(job: ImportJob) -> ImportRecord:
    """Keep the outcome of an applied (or failed) job in the history: ids, counts and rejected rows as
    (line, field) — no reasons, no titles (they may quote customer data). Keeps the newest
    ``HISTORY_SIZE`` records and deletes older ones. Idempotent per job id."""
    result = job.result or {}
    customers = result.get("customers") or {}
    events = result.get("events") or {}
    counts = {
        "created": int(result.get("created", 0)),
        "updated": int(result.get("updated", 0)),
        "unchanged": int(result.get("unchanged", 0)),
        "cancelled": int(result.get("cancelled", 0)),
        "customers_created": int(customers.get("created", 0)),
        "customers_updated": int(customers.get("updated", 0)),
        "consents_recorded": int(result.get("consents_recorded", 0)),
        "unmatched": int(result.get("unmatched_count", 0)),
        "rejected": len(result.get("rejected") or []),
        "warnings": len(result.get("warnings") or []),
        "events_read": int(events.get("read", 0)),
        "events_before": int(events.get("before", 0)),
        "events_after": int(events.get("after", 0)),
    }
    # the uploader may have been deleted since (then the line says "–")
    uploader = job.user_id if get_user_model().objects.filter(pk=job.user_id).exists() else None
    entry, _ = ImportRecord.objects.update_or_create(
        job_id=job.id,
        defaults={
            "user_id": uploader,
            "location_id": job.location_id,
            "kind": job.kind,
            "file_name": job.file_name,
            "uploaded_at": created_at(job),
            "finished_at": timezone.now(),
            "ok": job.state == JobState.DONE,
            "counts": counts,
            "rejected_lines": [[int(r["line"]), str(r["field"])] for r in result.get("rejected") or []],
        },
    )
    keep = ImportRecord.objects.order_by("-finished_at", "-pk").values_list("pk", flat=True)[:HISTORY_SIZE]
    ImportRecord.objects.exclude(pk__in=list(keep)).delete()
    return entry


def history(limit: int = HISTORY_SIZE) -> list[ImportRecord]:
    """The newest applied imports, newest first, with uploader and location loaded."""
    return list(
        ImportRecord.objects.select_related("user", "location").order_by("-finished_at", "-pk")[:limit]
    )


def open_jobs(user_id: int) -> list[ImportJob]:
    """The person's uploads that were not applied (yet): waiting, previewed or failed before applying;
    newest first. Read from the job folders, so they vanish with them after ``JOB_TTL_S``."""
    found = []
    for folder in jobs_root().iterdir():
        job = load(folder.name)
        if job is not None and job.user_id == user_id and job.result is None and job.state != JobState.DONE:
            if job.state == JobState.FAILED and job.preview is not None:
                continue  # failed while applying: in the history
            found.append(job)
    return sorted(found, key=lambda j: j.created_at, reverse=True)


def _run_import(
    job: ImportJob, data: bytes, progress_cb: Callable[[int, int], None], dry_run: bool
) -> ImportReport:
    location = Location.objects.get(pk=job.location_id)
    if job.kind == "ics":
        return import_ics(data, location, job.file_name, progress=progress_cb, dry_run=dry_run)
    return import_csv(
        data,
        location,
        job.file_name,
        mapping=job.mapping or None,
        consent_channels=tuple(job.consent_channels),
        consent_wording=job.consent_wording,
        recorded_by=f"web-import:user-{job.user_id}",
        progress=progress_cb,
        dry_run=dry_run,
    )


def _progress_writer(folder: Path, phase: str) -> Callable[[int, int], None]:
    last = [0.0]
    _write_json(folder / "progress.json", {"phase": phase, "done": 0, "total": 0})

    def write(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        _write_json(folder / "progress.json", {"phase": phase, "done": done, "total": total})

    return write


def created_at(job: ImportJob) -> dt.datetime:
    """When the job was uploaded (aware UTC)."""
    return dt.datetime.fromisoformat(job.created_at)
