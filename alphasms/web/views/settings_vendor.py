"""Settings → Licence and updates, Settings → Support (owners; issue 7's "button in the settings").

Everything that talks to the vendor happens only on a POST the owner sent after seeing exactly what
will be sent (DESIGN.md invariants 6 and 7): the update check shows its four fields first
(``preview_update_request``), the support backup its counts, size and destination
(``preview_support_backup``). The confirming form carries a signed digest of what was shown; when the
data changed in between, the new preview is shown again instead of sending. Remote maintenance starts
RustDesk on the button's POST only. Services: ``alphasms.licensing`` and ``alphasms.support``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django import forms
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alphasms.cli_text import use_language
from alphasms.licensing.evaluation import licence_status
from alphasms.licensing.licence import LicenceError, set_licence
from alphasms.licensing.update import (
    REQUEST_FIELDS,
    UpdateCheckError,
    UpdatePreview,
    preview_update_request,
    run_update_check,
)
from alphasms.support import remote, support_backup
from alphasms.support.models import SupportCase
from alphasms.web.roles import Area, area_view

_SALT = "alphasms.web.settings_vendor"


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _sentence(exc: Any) -> str:
    """An error's sentence in the page language (``de``/``en`` attributes, else its text)."""
    if hasattr(exc, "de") and hasattr(exc, "en"):
        return str(exc.en if _english() else exc.de)
    return str(getattr(exc, "user_message", exc))


def _digest(document: Any) -> str:
    """A signed digest of what the page showed, checked again when the owner confirms."""
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return signing.dumps(hashlib.sha256(canonical).hexdigest(), salt=_SALT)


def _same(document: Any, digest: str) -> bool:
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")
    try:
        return bool(signing.loads(digest, salt=_SALT) == hashlib.sha256(canonical).hexdigest())
    except signing.BadSignature:
        return False


def _actor(request: HttpRequest) -> str:
    return f"web:user:{request.user.pk}"


# --- licence -------------------------------------------------------------------------------------------


class LicenceForm(forms.Form):
    """Registration name and licence number exactly as in the licence letter."""

    registration_name = forms.CharField(label=gettext_lazy("Registration name"), max_length=200)
    licence_number = forms.CharField(
        label=gettext_lazy("Licence number"),
        max_length=4000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=gettext_lazy("Starts with AS1-; copy it completely from the licence letter."),
    )


def _licence_page(request: HttpRequest, form: LicenceForm, status: int = 200) -> HttpResponse:
    state = licence_status()
    context = {
        "status": state,
        "sentence": state.sentence_en if _english() else state.sentence_de,
        "form": form,
        "subnav": "licence",
    }
    return render(request, "web/settings/licence.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@area_view(Area.SETTINGS)
def licence_view(request: HttpRequest) -> HttpResponse:
    """The licence status (evaluation mode said plainly, with this month's remaining messages) and the
    form to enter a licence; POST verifies and stores it (``set_licence``)."""
    if request.method != "POST":
        return _licence_page(request, LicenceForm())
    form = LicenceForm(request.POST)
    if not form.is_valid():
        return _licence_page(request, form, 400)
    try:
        info = set_licence(form.cleaned_data["registration_name"], form.cleaned_data["licence_number"])
    except LicenceError as exc:
        form.add_error(exc.field, _sentence(exc))
        return _licence_page(request, form, 400)
    messages.success(
        request,
        _("Licence stored: %(name)s, edition %(edition)s, valid until %(expires)s.")
        % {"name": info.registration_name, "edition": info.edition, "expires": info.expires.isoformat()},
    )
    return redirect("web:settings_licence")


def _preview_document(preview: UpdatePreview) -> dict[str, Any]:
    return {"url": preview.url, "payload": preview.payload}


@require_http_methods(["GET", "HEAD", "POST"])
@area_view(Area.SETTINGS)
def update_check_view(request: HttpRequest) -> HttpResponse:
    """GET: exactly the four fields the update check would send, and where; nothing is sent. POST
    (the confirm button): send them (``run_update_check``) and show the verified answer or why it was
    refused (unsigned, foreign key, expired, rolled back, unreachable)."""
    context: dict[str, Any] = {"subnav": "licence"}
    try:
        preview = preview_update_request()
    except UpdateCheckError as exc:
        context["error"] = _sentence(exc)
        return render(request, "web/settings/update_check.html", context, status=400)
    document = _preview_document(preview)
    context["preview"] = preview
    context["fields"] = [(name, preview.payload[name]) for name in REQUEST_FIELDS]
    context["digest"] = _digest(document)
    if request.method != "POST":
        return render(request, "web/settings/update_check.html", context)
    if not _same(document, str(request.POST.get("digest", ""))):
        context["changed"] = True
        return render(request, "web/settings/update_check.html", context, status=409)
    try:
        with use_language(get_language()):
            result = run_update_check(preview)
    except UpdateCheckError as exc:
        context.update(error=_sentence(exc), error_code=exc.code, sent=True)
        return render(request, "web/settings/update_check.html", context, status=502)
    context.update(result=result, sent=True)
    return render(request, "web/settings/update_check.html", context)


# --- support -------------------------------------------------------------------------------------------


class CaseForm(forms.Form):
    """The support case id from the support's e-mail, and whether names and numbers are pseudonymised."""

    case = forms.CharField(
        label=gettext_lazy("Case id"),
        max_length=64,
        help_text=gettext_lazy("From the support's e-mail, e.g. 2026-0042."),
    )
    pseudonymise = forms.BooleanField(
        label=gettext_lazy("Pseudonymise names, numbers and addresses (recommended)"),
        required=False,
        initial=True,
    )
    # The range shown in the preview, carried into the confirm form so the same one is sent.
    since = forms.DateField(required=False, widget=forms.HiddenInput)
    until = forms.DateField(required=False, widget=forms.HiddenInput)

    def date_range(self) -> tuple[dt.date, dt.date]:
        """(since, until) as dates (00:00 UTC): the form's, else the service's default days around
        today."""
        today = timezone.localdate()
        since = self.cleaned_data.get("since") or today - dt.timedelta(
            days=support_backup.DEFAULT_DAYS_BEFORE
        )
        until = self.cleaned_data.get("until") or today + dt.timedelta(
            days=support_backup.DEFAULT_DAYS_AFTER + 1
        )
        return since, until


def _cases() -> list[dict[str, Any]]:
    with use_language(get_language()):
        return [
            {"record": record, "state": support_backup.case_state(record)}
            for record in SupportCase.objects.order_by("-created_at")[:100]
        ]


def _support_page(
    request: HttpRequest, form: CaseForm | None = None, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {
        "form": form or CaseForm(initial={"pseudonymise": True}),
        "cases": _cases(),
        "download_url": remote.DOWNLOAD_URL,
        "subnav": "support",
        **extra,
    }
    return render(request, "web/settings/support.html", context, status=status)


@require_GET
@area_view(Area.SETTINGS)
def support_view(request: HttpRequest) -> HttpResponse:
    """The support backup button (case id), the cases sent with their state and deletion receipts, and
    the remote maintenance button."""
    return _support_page(request)


def _counts_document(preview: support_backup.SupportBackupPreview) -> dict[str, Any]:
    return {
        "case": preview.case,
        "counts": preview.counts,
        "destination": preview.destination_url,
        "pseudonymised": preview.pseudonymised,
        "since": preview.since,
        "until": preview.until,
    }


@require_http_methods(["GET", "HEAD", "POST"])
@area_view(Area.SETTINGS)
def support_backup_view(request: HttpRequest) -> HttpResponse:
    """GET ``?case=…``: what the support backup would hold (counts per kind, encrypted size,
    destination, pseudonymised or not); nothing is sent. POST (confirm, with the case's upload token
    ``token``): build it again and upload it (``upload_support_backup``); back to the support page with
    the vendor's deletion date. A malformed or wrong token: the page again with the message (400)."""
    data = request.POST if request.method == "POST" else request.GET
    form = CaseForm(data)
    if not form.is_valid():
        return _support_page(request, form, 400)
    case, pseudonymise = form.cleaned_data["case"], form.cleaned_data["pseudonymise"]
    since, until = form.date_range()
    try:
        with use_language(get_language()):
            preview = support_backup.preview_support_backup(
                case, since=since, until=until, pseudonymise=pseudonymise
            )
    except support_backup.SupportBackupError as exc:
        form.add_error("case", exc.user_message)
        return _support_page(request, form, 400)
    document = _counts_document(preview)
    context = {
        "preview": preview,
        "digest": _digest(document),
        "since": since.isoformat(),
        "until": until.isoformat(),
        "subnav": "support",
    }
    if request.method != "POST":
        return render(request, "web/settings/support_backup.html", context)
    if not _same(document, str(request.POST.get("digest", ""))):
        context["changed"] = True
        return render(request, "web/settings/support_backup.html", context, status=409)
    # The case's upload token (from the support, with the case id) is asked for on this confirming
    # POST only, so it never lands in a URL, the browser history or an access log.
    token = str(request.POST.get("token", ""))
    try:
        with use_language(get_language()):
            record = support_backup.upload_support_backup(preview, actor=_actor(request), token=token)
    except support_backup.UsageProblem as exc:  # malformed token, or unknown case/wrong token (404)
        context["token_error"] = exc.user_message
        return render(request, "web/settings/support_backup.html", context, status=400)
    except support_backup.SupportBackupError as exc:
        context["error"] = exc.user_message
        return render(request, "web/settings/support_backup.html", context, status=502)
    with use_language(get_language()):
        messages.success(
            request,
            _("Support backup for case %(case)s uploaded: %(state)s.")
            % {"case": record.case, "state": support_backup.case_state(record)},
        )
    return redirect("web:settings_support")


@require_POST
@area_view(Area.SETTINGS)
def support_receipt_view(request: HttpRequest) -> HttpResponse:
    """Ask the vendor about one case: still held (until when), or deleted with a verified receipt."""
    case = str(request.POST.get("case", ""))
    try:
        with use_language(get_language()):
            result = support_backup.fetch_receipt(case, actor=_actor(request))
            state = support_backup.case_state(result.record)
    except support_backup.SupportBackupError as exc:
        messages.error(request, exc.user_message)
        return redirect("web:settings_support")
    if result.held:
        messages.info(request, _("Case %(case)s: %(state)s.") % {"case": result.case, "state": state})
    else:
        messages.success(request, _("Case %(case)s: %(state)s.") % {"case": result.case, "state": state})
    return redirect("web:settings_support")


@require_POST
@area_view(Area.SETTINGS)
def remote_view(request: HttpRequest) -> HttpResponse:
    """Start RustDesk for an attended remote maintenance session (``start_remote_session``); the ID and
    one-time password stay in RustDesk's own window. A missing client gets the download link."""
    try:
        with use_language(get_language()):
            session = remote.start_remote_session(actor=_actor(request))
    except remote.RustDeskMissing as exc:
        return _support_page(request, status=200, remote_missing=exc.user_message)
    except remote.RemoteProblem as exc:
        return _support_page(request, status=200, remote_error=exc.user_message)
    return _support_page(request, remote_started=True, remote_note=session.plan.note)
