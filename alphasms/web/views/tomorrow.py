"""Tomorrow's run: every message that will go out tomorrow with totals; hold one or release it
(``alphasms.web.services.tomorrow``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alphasms.messaging.services.hold import HoldRefused
from alphasms.web.roles import Area, area_view
from alphasms.web.services import tomorrow as service

_REFUSED = {
    "not_pending": _("This message is no longer waiting to be sent; it cannot be held."),
    "not_held": _("This message is not held."),
    "sender_not_allowed": _("No configured sender may send to this destination; fix the sender settings."),
}


def _page(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("page") or request.GET.get("page") or 1)
    except ValueError:
        return 1


def _run(request: HttpRequest, status: int = 200, error: str = "") -> HttpResponse:
    template = "web/tomorrow/_run.html" if request.headers.get("HX-Request") else "web/tomorrow/page.html"
    run = service.build(timezone.now(), _page(request))
    return render(request, template, {"run": run, "error": error}, status=status)


@area_view(Area.TOMORROW)
def tomorrow_view(request: HttpRequest) -> HttpResponse:
    """The run (read-only; planning is rolled back); ``?page=N`` pages the rows."""
    return _run(request)


def _change(request: HttpRequest, action: str) -> HttpResponse:
    try:
        appointment_id, rule_id, channel = str(request.POST.get("key", "")).split("-")
        args = (int(appointment_id), int(rule_id), channel)
    except ValueError:
        return HttpResponse(_("Which message? The form lacks its key."), status=400)
    change = service.hold if action == "hold" else service.release
    try:
        change(*args, actor_id=request.user.pk, now=timezone.now())
    except HoldRefused as exc:
        error = str(_REFUSED.get(exc.code, exc))
        if not request.headers.get("HX-Request"):
            messages.error(request, error)
            return _back(request)
        return _run(request, status=409, error=error)
    if not request.headers.get("HX-Request"):
        messages.success(request, _("Message held.") if action == "hold" else _("Message released."))
        return _back(request)
    return _run(request)


def _back(request: HttpRequest) -> HttpResponse:
    page = _page(request)
    return redirect(f"{reverse('web:tomorrow')}?page={page}" if page > 1 else reverse("web:tomorrow"))


@area_view(Area.TOMORROW)
def tomorrow_hold_view(request: HttpRequest) -> HttpResponse:
    """POST ``key`` = appointment-rule-channel: hold that message (htmx: the updated run)."""
    if request.method != "POST":
        return redirect("web:tomorrow")
    return _change(request, "hold")


@area_view(Area.TOMORROW)
def tomorrow_release_view(request: HttpRequest) -> HttpResponse:
    """POST ``key``: release that held message."""
    if request.method != "POST":
        return redirect("web:tomorrow")
    return _change(request, "release")
