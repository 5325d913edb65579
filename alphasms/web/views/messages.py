"""The message log: filters, list, one message's timeline, resend and bulk resend with progress
(``alphasms.web.services.messages``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from alphasms.messaging.models import MessageStatus, OutboundMessage, ResendBatch
from alphasms.messaging.services.hold import HoldRefused, releasable, release
from alphasms.messaging.services.resend import BATCH_LIMIT, RESENDABLE, ResendRefused, resend
from alphasms.web.roles import Area, Role, area_view
from alphasms.web.services import messages as service
from alphasms.web.templatetags.web import STATUS_LABELS


class FilterForm(forms.Form):
    """The list's filters (GET)."""

    status = forms.ChoiceField(label=_("Status"), required=False)
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("all")), ("sms", _("SMS")), ("email", _("E-mail"))],
    )
    date_from = forms.DateField(
        label=_("Due from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Due until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    q = forms.CharField(
        label=_("Customer"),
        required=False,
        max_length=200,
        help_text=_("Name, customer number, mobile number or e-mail address"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("all")), *((k, v) for k, v in STATUS_LABELS.items())]  # type: ignore[attr-defined]

    def filters(self) -> service.Filters:
        """The valid filters (invalid fields filter nothing)."""
        data = self.cleaned_data if self.is_valid() else {}
        return service.Filters(
            status=data.get("status") or "",
            channel=data.get("channel") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            q=data.get("q") or "",
        )


def _query(form: FilterForm) -> str:
    """The filters as a query string (without cursors), for links that keep them."""
    if not form.is_valid():
        return ""
    return urlencode({k: v for k, v in form.data.items() if k in form.fields and v})


@area_view(Area.MESSAGES)
def messages_view(request: HttpRequest) -> HttpResponse:
    """The list, newest first, 50 per page."""
    form = FilterForm(request.GET)
    filters = form.filters()
    page = service.page(filters, older=request.GET.get("older", ""), newer=request.GET.get("newer", ""))
    context = {
        "form": form,
        "page": page,
        "query": _query(form),
        "batch_limit": BATCH_LIMIT,
        "bulk": filters.status in RESENDABLE,
        "bulk_fields": [(k, v) for k, v in form.data.items() if k in form.fields and v]
        if form.is_valid()
        else [],
    }
    return render(request, "web/messages/list.html", context)


def _message_or_404(message_id: int) -> OutboundMessage:
    try:
        return service.detail(message_id)
    except OutboundMessage.DoesNotExist:
        raise Http404(_("No such message.")) from None


@area_view(Area.MESSAGES)
def message_view(request: HttpRequest, message_id: int) -> HttpResponse:
    """One message with its timeline; raw provider payloads for owners only."""
    message = _message_or_404(message_id)
    context = {
        "message": message,
        "timeline": service.timeline(message),
        "with_raw": getattr(request, "web_role", None) is Role.OWNER,
        **_actions(message),
        "tz": message.appointment.location.time_zone,
    }
    return render(request, "web/messages/detail.html", context)


@area_view(Area.MESSAGES)
def message_resend_view(request: HttpRequest, message_id: int) -> HttpResponse:
    """POST: queue the message again (``messaging.services.resend``); htmx gets the status block."""
    if request.method != "POST":
        return redirect("web:message", message_id=message_id)
    error, status = "", 200
    try:
        resend(message_id, actor_id=request.user.pk, now=timezone.now())
    except OutboundMessage.DoesNotExist:
        raise Http404(_("No such message.")) from None
    except ResendRefused as exc:
        error, status = str(service.REFUSALS[exc.code]), 409
    return _after_change(
        request, message_id, error, status, _("The message is queued again; the worker sends it shortly.")
    )


def _after_change(
    request: HttpRequest, message_id: int, error: str, status: int, success: Any
) -> HttpResponse:
    """Without JavaScript: back to the message with a note; with htmx: the updated status block."""
    if not request.headers.get("HX-Request"):
        if error:
            flash.error(request, error)
        else:
            flash.success(request, success)
        return redirect("web:message", message_id=message_id)
    message = _message_or_404(message_id)
    context = {**_actions(message), "message": message, "error": error, "done": "" if error else str(success)}
    return render(request, "web/messages/_status.html", context, status=status)


def _actions(message: OutboundMessage) -> dict[str, bool]:
    return {
        "can_resend": service.can_resend(message),
        "can_release": message.status == MessageStatus.HELD and releasable(message),
    }


@area_view(Area.MESSAGES)
def message_release_view(request: HttpRequest, message_id: int) -> HttpResponse:
    """POST: let a held message go out again (``messaging.services.hold.release``)."""
    if request.method != "POST":
        return redirect("web:message", message_id=message_id)
    error, status = "", 200
    try:
        release(message_id, actor_id=request.user.pk, now=timezone.now())
    except OutboundMessage.DoesNotExist:
        raise Http404(_("No such message.")) from None
    except HoldRefused as exc:
        error, status = (
            str(exc) if exc.code == "sender_not_allowed" else str(_("This message is not held.")),
            409,
        )
    return _after_change(request, message_id, error, status, _("The message is released."))


@area_view(Area.MESSAGES)
def messages_bulk_resend_view(request: HttpRequest) -> HttpResponse:
    """POST with the list's filters: resend every filtered failed message in a background job."""
    if request.method != "POST":
        return redirect("web:messages")
    form = FilterForm(request.POST)
    try:
        batch = service.start_bulk_resend(form.filters(), actor_id=request.user.pk, now=timezone.now())
    except ValueError:
        error = _("More than %(limit)s messages: narrow the filter first.") % {"limit": BATCH_LIMIT}
        if request.headers.get("HX-Request"):
            return HttpResponse(f'<p class="error" role="alert">{error}</p>', status=400)
        flash.error(request, error)
        return redirect(f"{reverse('web:messages')}?{_query(form)}")
    if request.headers.get("HX-Request"):
        return _progress(request, batch.pk)
    return redirect("web:messages_bulk_progress", batch_id=batch.pk)


def _progress(request: HttpRequest, batch_id: int) -> HttpResponse:
    try:
        progress = service.progress(batch_id)
    except ResendBatch.DoesNotExist:
        raise Http404(_("No such bulk resend.")) from None
    template = (
        "web/messages/_progress.html" if request.headers.get("HX-Request") else "web/messages/progress.html"
    )
    return render(request, template, {"progress": progress})


@area_view(Area.MESSAGES)
def messages_bulk_progress_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The progress of a bulk resend (htmx polls the fragment every second until it is finished)."""
    return _progress(request, batch_id)
