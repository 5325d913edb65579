"""Appointment pages: the list (search, date range, keyset pages), the day and week calendars, one
appointment with its reminders, create/edit, cancel and no-show. Queries live in
``alphasms.web.services.appointments``; changes go through ``alphasms.appointments.services.editing``,
which re-plans or cancels the reminders at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from alphasms.appointments.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Customer,
    Location,
)
from alphasms.appointments.services import editing
from alphasms.privacy.admin_audit import actor_of
from alphasms.web.roles import Area, area_view, can_change
from alphasms.web.services import appointments as service
from alphasms.web.views.appointment_forms import (
    DATE_FORMATS,
    AppointmentForm,
    FilterForm,
    initial_for,
    status_choices,
)

WEEK_DAYS = 7


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """``render`` with ``can_change``: whether the user's role may change appointments (buttons)."""
    role = getattr(request, "web_role", None)
    return render(request, template, {**context, "can_change": can_change(role, Area.APPOINTMENTS)})


def _get_or_404(pk: int) -> Appointment:
    appointment = service.get_appointment(pk)
    if appointment is None:
        raise Http404("no such appointment")
    return appointment


@area_view(Area.APPOINTMENTS)
def list_view(request: HttpRequest) -> HttpResponse:
    """The list: upcoming appointments by default; ``q``, ``start``, ``end``, ``status``, ``location``
    filter; ``after``/``before`` are keyset cursors. An htmx request gets only the results."""
    form = FilterForm(request.GET or None, status_labels=status_choices())
    filters = service.Filters()
    if form.is_valid():
        data = form.cleaned_data
        location = data.get("location")
        filters = service.Filters(
            query=data.get("q") or "",
            start=data.get("start"),
            end=data.get("end"),
            status=data.get("status") or "",
            location_id=location.pk if location else None,
        )
    after = service.Cursor.parse(request.GET.get("after", ""))
    before = service.Cursor.parse(request.GET.get("before", "")) if after is None else None
    page = service.list_page(filters, timezone.now(), after=after, before=before)
    keep = {k: str(v) for k, v in request.GET.items() if k not in {"after", "before"} and v}
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "filters": filters,
        "next_url": f"?{urlencode({**keep, 'after': str(page.next)})}" if page.next else "",
        "previous_url": f"?{urlencode({**keep, 'before': str(page.previous)})}" if page.previous else "",
        "first_url": f"?{urlencode(keep)}" if (after or before) else "",
    }
    template = (
        "web/appointments/_results.html"
        if request.headers.get("HX-Request")
        else "web/appointments/list.html"
    )
    return _render(request, template, context)


def _location(request: HttpRequest) -> Location | None:
    locations = Location.objects.order_by("name", "pk")
    chosen = request.GET.get("location", "")
    found = locations.filter(pk=int(chosen)).first() if chosen.isdigit() else None
    return found or locations.first()


def _calendar(request: HttpRequest, days: int) -> HttpResponse:
    location = _location(request)
    now = timezone.now()
    if location is None:
        context: dict[str, Any] = {
            "calendar": None,
            "days": days,
            "current": "week" if days == WEEK_DAYS else "day",
        }
        return _render(request, "web/appointments/calendar.html", context)
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = now.astimezone(location.tz).date()
    first = service.week_start(day) if days == WEEK_DAYS else day
    context = {
        "calendar": service.calendar(location, first, days, now),
        "days": days,
        "current": "week" if days == WEEK_DAYS else "day",
        "locations": list(Location.objects.order_by("name", "pk")),
        "view_name": "web:appointments_week" if days == WEEK_DAYS else "web:appointments_day",
    }
    return _render(request, "web/appointments/calendar.html", context)


@area_view(Area.APPOINTMENTS)
def day_view(request: HttpRequest) -> HttpResponse:
    """One local day of a location (``date`` ISO, ``location`` id), by hour."""
    return _calendar(request, 1)


@area_view(Area.APPOINTMENTS)
def week_view(request: HttpRequest) -> HttpResponse:
    """The local week (Monday to Sunday) containing ``date`` of a location."""
    return _calendar(request, WEEK_DAYS)


@area_view(Area.APPOINTMENTS)
def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One appointment with its reminders per channel, each with its status and history."""
    appointment = _get_or_404(pk)
    data = service.detail(appointment, timezone.now())
    return _render(request, "web/appointments/detail.html", {"detail": data, "appointment": appointment})


def _form_page(request: HttpRequest, appointment: Appointment | None) -> HttpResponse:
    selected = appointment.customer if appointment else None
    initial: dict[str, Any]
    if request.method == "POST":
        chosen = request.POST.get("customer", "")
        if chosen.isdigit():
            selected = Customer.objects.filter(pk=int(chosen)).first() or selected
        if "new_customer" in request.POST and appointment is None:
            return _to_new_customer(request)
        customers = service.customer_choices(request.POST.get("customer_search", ""), selected)
        if "find_customer" in request.POST:  # only the search was asked for: nothing is checked yet
            initial = dict(request.POST.dict())
            if len(customers) == 1 + (selected is not None and customers[0] == selected):
                initial["customer"] = customers[-1].pk  # one person found: chosen
            form = AppointmentForm(initial=initial, customers=customers)
        else:
            form = AppointmentForm(request.POST, customers=customers)
            if form.is_valid():
                if not _lies_in_past(form, appointment) or request.POST.get("confirm_past"):
                    return _save(request, form, appointment)
                context = {"form": form, "appointment": appointment, "past_warning": True}
                return _render(request, "web/appointments/form.html", context)
    else:
        initial = initial_for(appointment) if appointment else _initial_new(request)
        if selected is None and request.GET.get("customer", "").isdigit():
            selected = Customer.objects.filter(pk=int(request.GET["customer"])).first()
            initial["customer"] = selected.pk if selected else None
        form = AppointmentForm(initial=initial, customers=service.customer_choices("", selected))
    context = {"form": form, "appointment": appointment}
    return _render(request, "web/appointments/form.html", context)


#: Appointment form fields carried to the new-customer page and back (``_to_new_customer``).
CARRIED = ("location", "date", "start_time", "end_time", "all_day", "summary")


def _to_new_customer(request: HttpRequest) -> HttpResponse:
    """The form's "New customer" button: go to the customer form, pre-filled with the search text, and
    come back to a new-appointment form holding what was typed so far (``CARRIED``)."""
    carried = {name: request.POST[name] for name in CARRIED if request.POST.get(name)}
    back = f"{reverse('web:appointment_new')}?{urlencode(carried)}"
    query = {"next": back, "name": request.POST.get("customer_search", "")}
    return redirect(f"{reverse('web:customer_new')}?{urlencode(query)}")


def _lies_in_past(form: AppointmentForm, appointment: Appointment | None) -> bool:
    """True when the form puts a new appointment, or moves one, to a start before now: the page asks
    to confirm, since no reminder will go out."""
    start = form.cleaned_data["start_at"]
    moved = appointment is None or appointment.start_at != start
    return bool(moved and start <= timezone.now())


def _initial_new(request: HttpRequest) -> dict[str, Any]:
    location = _location(request)
    now = timezone.now()
    day = now.astimezone(location.tz).date() if location else now.date()
    for pattern in DATE_FORMATS:  # ISO from the date input, or as typed ("01.12.2026")
        try:
            day = dt.datetime.strptime(request.GET.get("date", ""), pattern).date()
            break
        except ValueError:
            continue
    initial: dict[str, Any] = {"location": location.pk if location else None, "date": day}
    for name in ("start_time", "end_time", "summary"):  # carried back from the new-customer page
        if request.GET.get(name):
            initial[name] = request.GET[name]
    if request.GET.get("all_day"):
        initial["all_day"] = True
    return initial


def _save(request: HttpRequest, form: AppointmentForm, appointment: Appointment | None) -> HttpResponse:
    previous_location = appointment.location_id if appointment else None
    target = form.apply(appointment or Appointment(source=AppointmentSource.MANUAL))
    result = editing.save_appointment(target, actor_of(request), previous_location_id=previous_location)
    if target.start_at <= timezone.now():
        messages.warning(request, _("This appointment lies in the past: no reminder will be sent for it."))
    messages.success(
        request,
        _(
            "Appointment saved. Reminders: %(created)d planned, %(replanned)d re-planned, "
            "%(cancelled)d cancelled."
        )
        % {"created": result.created, "replanned": result.replanned, "cancelled": result.cancelled},
    )
    return redirect("web:appointment", pk=target.pk)


@area_view(Area.APPOINTMENTS)
def create_view(request: HttpRequest) -> HttpResponse:
    """A new appointment (``?customer=<id>&date=<ISO>&location=<id>`` pre-fill the form)."""
    return _form_page(request, None)


@area_view(Area.APPOINTMENTS)
def edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Change an appointment; its reminders are re-planned on saving."""
    return _form_page(request, _get_or_404(pk))


@area_view(Area.APPOINTMENTS)
def customer_options_view(request: HttpRequest) -> HttpResponse:
    """htmx: the customer select of the form, filled with the people matching ``customer_search``."""
    chosen = request.GET.get("customer", "")
    selected = Customer.objects.filter(pk=int(chosen)).first() if chosen.isdigit() else None
    customers = service.customer_choices(request.GET.get("customer_search", ""), selected)
    form = AppointmentForm(initial={"customer": selected.pk if selected else None}, customers=customers)
    return _render(
        request, "web/appointments/_customer_select.html", {"field": form["customer"], "customers": customers}
    )


@require_http_methods(["GET", "HEAD", "POST"])
@area_view(Area.APPOINTMENTS)
def cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation page (which reminders are cancelled; reactivation undoes it), so one click
    never cancels. POST: cancel the appointment and its pending reminders (history kept)."""
    appointment = _get_or_404(pk)
    if request.method != "POST":
        if appointment.status == AppointmentStatus.CANCELLED:
            messages.error(request, _("This appointment is already cancelled."))
            return redirect("web:appointment", pk=pk)
        context = {
            "appointment": appointment,
            "row": service.rows_for([appointment])[0],
            "pending": service.pending_reminders(appointment),
        }
        return _render(request, "web/appointments/confirm_cancel.html", context)
    try:
        count = editing.cancel_appointment(appointment, actor_of(request))
    except editing.AppointmentStateError:
        messages.error(request, _("This appointment is already cancelled."))
    else:
        text = ngettext(
            "Appointment cancelled; %(count)d reminder cancelled.",
            "Appointment cancelled; %(count)d reminders cancelled.",
            count,
        )
        messages.success(request, text % {"count": count})
    return redirect("web:appointment", pk=pk)


@require_POST
@area_view(Area.APPOINTMENTS)
def reactivate_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a cancellation (``editing.reactivate_appointment``): scheduled again, and, while it lies
    ahead, its reminders are planned again."""
    appointment = _get_or_404(pk)
    try:
        result = editing.reactivate_appointment(appointment, actor_of(request))
    except editing.AppointmentStateError:
        messages.error(request, _("Only a cancelled appointment can be reactivated."))
        return redirect("web:appointment", pk=pk)
    if appointment.start_at <= timezone.now():
        messages.warning(
            request, _("Appointment reactivated. It lies in the past: no reminder will be sent.")
        )
    else:
        messages.success(
            request,
            _("Appointment reactivated. Reminders: %(revived)d planned again, %(created)d new.")
            % {"revived": result.replanned, "created": result.created},
        )
    return redirect("web:appointment", pk=pk)


@require_POST
@area_view(Area.APPOINTMENTS)
def no_show_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the appointment as a no-show (only once it has started)."""
    appointment = _get_or_404(pk)
    try:
        editing.mark_no_show(appointment, actor_of(request))
    except editing.AppointmentStateError:
        messages.error(request, _("Only a scheduled appointment that has begun can be marked as a no-show."))
    else:
        messages.success(request, _("Marked as no-show."))
    return redirect("web:appointment", pk=pk)
