"""Imports: upload an .ics or CSV file, review its dry run (what will change, every rejected row), apply
it with one click and watch its progress; calendar subscriptions (list, add, interval, remove, refresh
now). The work is in ``alphasms.web.services.imports`` and ``…calendar_subscriptions``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from alphasms.appointments.csvparse import CANONICAL_FIELDS
from alphasms.appointments.management.commands.import_ics import DEFAULT_INTERVAL_S, MAX_INTERVAL_S
from alphasms.appointments.models import MIN_REFRESH_INTERVAL_S, CalendarSubscription, Location
from alphasms.conf import app_settings
from alphasms.web.models import ImportRecord
from alphasms.web.roles import Area, area_view
from alphasms.web.services import calendar_subscriptions as subscriptions
from alphasms.web.services import imports

# Labels of the CSV fields a column can be mapped to (the CLI's --map FIELD=Header).
FIELD_LABELS = {
    "customer_number": _("Customer number"),
    "family_name": _("Family name"),
    "given_name": _("Given name"),
    "mobile": _("Mobile"),
    "phone": _("Phone"),
    "email": _("E-mail"),
    "language": _("Language"),
    "date": _("Date"),
    "time": _("Time"),
    "duration_min": _("Duration (minutes)"),
    "end_time": _("End time"),
    "appointment_type": _("Appointment type"),
    "notes": _("Note"),
}
OTHER_FIELD_LABELS = {"row": _("whole row"), "consent": _("Consent")}
CHANGE_LABELS = {
    "created": _("new appointment"),
    "updated": _("changed appointment"),
    "cancelled": _("cancelled appointment"),
    "customer_created": _("new customer"),
}


class UploadForm(forms.Form):
    """The file, its location and, for CSV, the column mapping and the consent the practice holds."""

    file = forms.FileField(
        label=_("File (.ics or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".ics,.csv,.txt,text/calendar,text/csv"}),
    )
    location = forms.ModelChoiceField(queryset=Location.objects.order_by("name"), label=_("Location"))
    consent_sms = forms.BooleanField(
        label=_("The practice holds SMS consent for these customers"), required=False
    )
    consent_email = forms.BooleanField(
        label=_("The practice holds e-mail consent for these customers"), required=False
    )
    consent_wording = forms.CharField(
        label=_("Version of the consent wording"),
        required=False,
        max_length=64,
        help_text=_("Required with consent, e.g. 2026-01. Importing never implies consent."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in CANONICAL_FIELDS:
            self.fields[f"map_{name}"] = forms.CharField(
                label=FIELD_LABELS.get(name, name), required=False, max_length=200
            )
        preselect_single_location(self.fields["location"])

    def mapping_fields(self) -> list[forms.BoundField]:
        """The column-mapping inputs, in the order of the CLI's field list."""
        return [self[f"map_{name}"] for name in CANONICAL_FIELDS]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > imports.MAX_UPLOAD_BYTES:
            mib = imports.MAX_UPLOAD_BYTES // (1024 * 1024)
            raise ValidationError(
                _("The file is larger than %(mib)s MiB – export a shorter period."), params={"mib": mib}
            )
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        channels = self.consent_channels()
        wording = (data.get("consent_wording") or "").strip()
        if channels and not wording:
            self.add_error("consent_wording", _("With consent, say which version of the wording applies."))
        if wording and not channels:
            self.add_error("consent_wording", _("A wording version without consent does nothing."))
        return data

    def consent_channels(self) -> tuple[str, ...]:
        """ "sms" and/or "email" as ticked."""
        data = getattr(self, "cleaned_data", {})
        return tuple(c for c in imports.CONSENT_CHANNELS if data.get(f"consent_{c}"))

    def mapping(self) -> dict[str, str]:
        """Canonical field → header for the mapped columns."""
        return {
            name: self.cleaned_data[f"map_{name}"].strip()
            for name in CANONICAL_FIELDS
            if self.cleaned_data.get(f"map_{name}", "").strip()
        }


def preselect_single_location(field: forms.Field) -> None:
    """With exactly one location, offer only it, chosen (no empty "---------" choice to pick first)."""
    if isinstance(field, forms.ModelChoiceField) and field.queryset is not None:
        only = list(field.queryset[:2])
        if len(only) == 1:
            field.empty_label = None
            field.initial = only[0].pk


class SubscriptionForm(forms.Form):
    """A new calendar subscription; the interval in minutes (stored in seconds)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    url = forms.URLField(label=_("Calendar URL (iCal address)"), max_length=1000, assume_scheme="https")
    location = forms.ModelChoiceField(queryset=Location.objects.order_by("name"), label=_("Location"))
    interval_min = forms.IntegerField(
        label=_("Refresh every (minutes)"),
        min_value=MIN_REFRESH_INTERVAL_S // 60,
        max_value=MAX_INTERVAL_S // 60,
        initial=DEFAULT_INTERVAL_S // 60,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        preselect_single_location(self.fields["location"])


class IntervalForm(forms.Form):
    interval_min = forms.IntegerField(
        label=_("Refresh every (minutes)"),
        min_value=MIN_REFRESH_INTERVAL_S // 60,
        max_value=MAX_INTERVAL_S // 60,
    )


def _field(name: str) -> str:
    label = FIELD_LABELS.get(name) or OTHER_FIELD_LABELS.get(name)
    return str(label) if label else name


def _english() -> bool:
    return (get_language() or "de").startswith("en")


def _page(
    request: HttpRequest, upload: UploadForm, subscription_form: SubscriptionForm, status: int = 200
) -> HttpResponse:
    imports.purge_stale()
    rows = [
        {"subscription": s, "masked_url": subscriptions.mask_url(s.url), "failed": subscriptions.failed(s),
         "interval_min": s.refresh_interval_s // 60}
        for s in subscriptions.listing()
    ]  # fmt: skip
    return render(
        request,
        "web/imports/index.html",
        {
            "form": upload,
            "subscription_form": subscription_form,
            "subscriptions": rows,
            "history": imports.history(),
            "open_jobs": imports.open_jobs(int(request.user.pk or 0)),
        },
        status=status,
    )


@area_view(Area.IMPORTS)
@require_http_methods(["GET", "POST"])
def imports_view(request: HttpRequest) -> HttpResponse:
    """The imports page; POST uploads a file and starts its dry run."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not form.is_valid():
            return _page(request, form, SubscriptionForm(), status=400)
        upload = form.cleaned_data["file"]
        try:
            job = imports.stage(
                upload.read(),
                upload.name or "",
                form.cleaned_data["location"],
                int(request.user.pk or 0),
                mapping=form.mapping(),
                consent_channels=form.consent_channels(),
                consent_wording=form.cleaned_data["consent_wording"].strip(),
            )
        except imports.UploadRefused as exc:
            form.add_error("file", exc.message_en if _english() else exc.message_de)
            return _page(request, form, SubscriptionForm(), status=400)
        return redirect("web:import_job", job_id=job.id)
    return _page(request, form, SubscriptionForm())


def _own_job(request: HttpRequest, job_id: str) -> imports.ImportJob:
    job = imports.load(job_id)
    if job is None or job.user_id != request.user.pk:
        raise Http404("no such import")
    return job


_SEVERAL_MATCH = re.compile(r"^(\d+) Kunden passen auf den Titel$")


def _unmatched_reason(reason: str) -> str:
    """The matcher's (German) reason in the page's language."""
    if reason == "kein Kunde passt auf den Titel":
        return gettext("no customer matches the title")
    if several := _SEVERAL_MATCH.match(reason):
        return gettext("%(count)s customers match the title") % {"count": several.group(1)}
    return reason


def _report(raw: dict[str, Any] | None, tz: dt.tzinfo) -> dict[str, Any] | None:
    """A stored report with each reason in the page's language and each change labelled, its start as
    local wall-clock time of the location (``local``, naive, so templates show it unconverted).

    Unmatched entries come sorted by start, each with ``local`` and ``text`` (the reason); ``window``
    holds the import window's local ``start``/``end`` and the ``events`` counts of a calendar import
    with ``outside`` (before + after) and ``none_inside`` (entries read, none in the window)."""
    if raw is None:
        return None
    english = _english()

    def local(start: str) -> dt.datetime | None:
        return dt.datetime.fromisoformat(start).astimezone(tz).replace(tzinfo=None) if start else None

    events = dict(raw.get("events") or {"read": 0, "before": 0, "after": 0})
    events["outside"] = events["before"] + events["after"]
    events["none_inside"] = bool(events["read"]) and events["outside"] == events["read"]
    window = raw.get("window") or {}
    unmatched = sorted(raw["unmatched"], key=lambda u: u["start"] or "")

    def issues(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {**i, "text": i["reason_en"] if english else i["reason"], "field_label": _field(i["field"])}
            for i in items
        ]

    return {
        **raw,
        "rejected": issues(raw["rejected"]),
        "warnings": issues(raw["warnings"]),
        "ignored_columns": [
            {**c, "text": c["reason_en"] if english else c["reason"]} for c in raw["ignored_columns"]
        ],
        "changes": [
            {**c, "label": CHANGE_LABELS.get(c["kind"], c["kind"]), "local": local(c["start"])}
            for c in raw["changes"]
        ],
        "unmatched": [
            {**u, "local": local(u["start"]), "text": _unmatched_reason(u["reason"])} for u in unmatched
        ],
        "events": events,
        "window": {
            "start": local(window.get("start", "")),
            "end": local(window.get("end", "")),
            "horizon_days": app_settings.PLANNING_HORIZON_DAYS,
        },
    }


def _job_context(job: imports.ImportJob) -> dict[str, Any]:
    location = Location.objects.filter(pk=job.location_id).first()
    tz = location.tz if location else dt.UTC
    return {
        "job": job,
        "location": location,
        "progress": imports.progress(job),
        "preview": _report(job.preview, tz),
        "result": _report(job.result, tz),
        "error": job.error_en if _english() else job.error_de,
    }


@area_view(Area.IMPORTS)
def import_job_view(request: HttpRequest, job_id: str) -> HttpResponse:
    """One uploaded file: progress while a step runs, then the preview (with "apply") or the result."""
    job = _own_job(request, job_id)
    return render(request, "web/imports/job.html", _job_context(job))


@area_view(Area.IMPORTS)
def import_record_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One import of the history: the full result while its job folder lives (reasons, entries), later
    the kept numbers and the rejected rows' line and field."""
    entry = get_object_or_404(ImportRecord.objects.select_related("user", "location"), pk=pk)
    job = imports.load(entry.job_id)
    tz = entry.location.tz if entry.location else dt.UTC
    result = _report(job.result, tz) if job is not None else None
    error = (job.error_en if _english() else job.error_de) if job is not None else ""
    rejected = [{"line": line, "field_label": _field(name)} for line, name in entry.rejected_lines]
    return render(
        request,
        "web/imports/record.html",
        {
            "entry": entry,
            "result": result,
            "error": error,
            "rejected": rejected,
            "ttl_hours": imports.JOB_TTL_S // 3600,
        },
    )


@area_view(Area.IMPORTS)
def import_progress_view(request: HttpRequest, job_id: str) -> HttpResponse:
    """The progress fragment htmx polls; once the step has ended it tells htmx to reload the page."""
    job = _own_job(request, job_id)
    response = render(request, "web/imports/_progress.html", _job_context(job))
    if not job.running and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@area_view(Area.IMPORTS)
@require_POST
def import_apply_view(request: HttpRequest, job_id: str) -> HttpResponse:
    """Apply the previewed file (the one kept on the server)."""
    job = _own_job(request, job_id)
    if not imports.request_apply(job):
        messages.error(request, gettext("This import was already applied or is running."))
    return redirect("web:import_job", job_id=job.id)


@area_view(Area.IMPORTS)
@require_POST
def import_discard_view(request: HttpRequest, job_id: str) -> HttpResponse:
    """Throw the uploaded file away without applying it."""
    job = _own_job(request, job_id)
    if job.running:
        messages.error(request, gettext("The import is running; it cannot be discarded now."))
        return redirect("web:import_job", job_id=job.id)
    imports.discard(job)
    messages.success(request, gettext("The uploaded file was deleted."))
    return redirect("web:imports")


@area_view(Area.IMPORTS)
@require_POST
def subscription_add_view(request: HttpRequest) -> HttpResponse:
    """Add a calendar subscription (URL behind the private-address guard)."""
    form = SubscriptionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            subscriptions.create(data["name"], data["url"], data["location"], data["interval_min"] * 60)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                target = "interval_min" if name == "refresh_interval_s" else name
                for error in errors:
                    form.add_error(target if target in form.fields else None, error)
        else:
            messages.success(request, gettext("Subscription added; the worker fetches it shortly."))
            return redirect("web:imports")
    return _page(request, UploadForm(), form, status=400)


@area_view(Area.IMPORTS)
@require_POST
def subscription_interval_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a subscription's refresh interval."""
    subscription = get_object_or_404(CalendarSubscription, pk=pk)
    form = IntervalForm(request.POST)
    if form.is_valid():
        try:
            subscriptions.set_interval(subscription, form.cleaned_data["interval_min"] * 60)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, gettext("Refresh interval changed."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("web:imports")


@area_view(Area.IMPORTS)
@require_POST
def subscription_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a subscription (its appointments stay)."""
    subscriptions.remove(get_object_or_404(CalendarSubscription, pk=pk))
    messages.success(request, gettext("Subscription removed. Its appointments stay."))
    return redirect("web:imports")


@area_view(Area.IMPORTS)
@require_POST
def subscription_refresh_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Refresh a subscription now (a background job; the result appears in the list)."""
    subscription = get_object_or_404(CalendarSubscription, pk=pk)
    subscriptions.refresh_task.enqueue(subscription.pk)
    messages.success(request, gettext("Refresh started; the result appears in the list."))
    return redirect("web:imports")
