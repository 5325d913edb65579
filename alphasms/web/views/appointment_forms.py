"""Forms of the appointment pages: the list's filters and the create/edit form.

Times are entered as local wall-clock times of the chosen location (DESIGN.md invariant 5) and stored
in UTC; a time that does not exist on a DST day (the hour the clocks skip) is refused with the fix named.
Every error message names the field and what to enter instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from alphasms.appointments.models import Appointment, AppointmentStatus, Customer, Location

DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"]
TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%H.%M"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self) -> None:
        super().__init__(format="%H:%M")


def _date_field(label: Any, required: bool = True) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        input_formats=DATE_FORMATS,
        widget=DateInput(),
        error_messages={
            "invalid": _("Enter a date such as 01.12.2026 (day.month.year)."),
            "required": _("Enter the date of the appointment, e.g. 01.12.2026."),
        },
    )


def _time_field(label: Any, invalid: Any) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        input_formats=TIME_FORMATS,
        widget=TimeInput(),
        error_messages={"invalid": invalid},
    )


class FilterForm(forms.Form):
    """The list's filters (GET). Invalid values are reported and ignored."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search"}),
        help_text=_("Customer name, phone number, e-mail, customer number or title"),
    )
    start = _date_field(_("From"), required=False)
    end = _date_field(_("To"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    location = forms.ModelChoiceField(
        Location.objects.order_by("name", "pk"),
        label=_("Location"),
        required=False,
        empty_label=_("All locations"),
        error_messages={"invalid_choice": _("Choose a location from the list.")},
    )

    def __init__(self, *args: Any, status_labels: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        status.choices = [("", _("Every status")), *status_labels]
        status.error_messages["invalid_choice"] = _("Choose a status from the list.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end date lies before the start date: choose a later date."))
        return data


class AppointmentForm(forms.Form):
    """Create or change an appointment: location, customer (searched, then chosen), date, local start
    and end time (or all day), title. ``customers`` are the people offered in the customer select."""

    location = forms.ModelChoiceField(
        Location.objects.order_by("name", "pk"),
        label=_("Location"),
        empty_label=None,
        error_messages={
            "required": _("Choose the location of the appointment."),
            "invalid_choice": _("Choose a location from the list."),
        },
    )
    customer_search = forms.CharField(
        label=_("Find customer"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
        help_text=_("Name, phone number, e-mail or customer number; then choose the person below."),
    )
    customer = forms.ModelChoiceField(
        Customer.objects.all(),
        label=_("Customer"),
        error_messages={
            "required": _("Choose the customer: search for them above, then pick them in this list."),
            "invalid_choice": _("This customer no longer exists: search again and pick them in the list."),
        },
    )
    date = _date_field(_("Date"))
    start_time = _time_field(_("Start time"), _("Enter the start time such as 09:30 (hours:minutes)."))
    end_time = _time_field(_("End time"), _("Enter the end time such as 10:00 (hours:minutes)."))
    all_day = forms.BooleanField(label=_("All day"), required=False)
    summary = forms.CharField(
        label=_("Title"),
        required=False,
        max_length=500,
        help_text=_("What the appointment is for; it is never sent to the customer."),
        error_messages={"max_length": _("Shorten the title to at most %(limit_value)d characters.")},
    )

    def __init__(self, *args: Any, customers: list[Customer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["customer"]
        field.widget.choices = [("", _("— choose —"))] + [(c.pk, _customer_label(c)) for c in customers]

    def clean_customer(self) -> Customer | None:
        customer: Customer | None = self.cleaned_data.get("customer")
        if customer is not None and customer.restricted_at is not None:
            raise forms.ValidationError(
                _("Processing of this person's data is restricted: choose another customer.")
            )
        return customer

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        location, day = data.get("location"), data.get("date")
        if location is None or day is None:
            return data
        if data.get("all_day"):
            data["start_at"] = _local(day, dt.time(0), location.tz)
            data["end_at"] = _local(day + dt.timedelta(days=1), dt.time(0), location.tz)
            return data
        start, end = data.get("start_time"), data.get("end_time")
        for name, value, example in (("start_time", start, "09:30"), ("end_time", end, "10:00")):
            if value is None and name not in self.errors:
                self.add_error(
                    name, _("Enter a time such as %(example)s, or tick “All day”.") % {"example": example}
                )
            elif value is not None and not _exists(day, value, location.tz):
                self.add_error(
                    name,
                    _("%(time)s does not exist on this day (the clocks go forward): choose an hour later.")
                    % {"time": value.strftime("%H:%M")},
                )
        if start is not None and end is not None and end <= start:
            self.add_error("end_time", _("The end time must be after the start time, e.g. one hour later."))
        if not self.errors and start is not None and end is not None:
            data["start_at"] = _local(day, start, location.tz)
            data["end_at"] = _local(day, end, location.tz)
        return data

    def apply(self, appointment: Appointment) -> Appointment:
        """Copy the cleaned values onto ``appointment`` (unsaved)."""
        data = self.cleaned_data
        appointment.location = data["location"]
        appointment.customer = data["customer"]
        appointment.summary = data["summary"]
        appointment.start_at, appointment.end_at = data["start_at"], data["end_at"]
        appointment.all_day = bool(data["all_day"])
        appointment.start_date = data["date"] if appointment.all_day else None
        appointment.end_date = data["date"] + dt.timedelta(days=1) if appointment.all_day else None
        return appointment


def initial_for(appointment: Appointment) -> dict[str, Any]:
    """The form's initial values for an existing appointment (local times of its location)."""
    tz = appointment.location.tz
    start, end = appointment.start_at.astimezone(tz), appointment.end_at.astimezone(tz)
    return {
        "location": appointment.location_id,
        "customer": appointment.customer_id,
        "date": appointment.start_date if appointment.all_day and appointment.start_date else start.date(),
        "start_time": None if appointment.all_day else start.time().replace(second=0, microsecond=0),
        "end_time": None if appointment.all_day else end.time().replace(second=0, microsecond=0),
        "all_day": appointment.all_day,
        "summary": appointment.summary,
    }


def status_choices() -> list[tuple[str, str]]:
    """(value, translated label) of every appointment status, in the model's order."""
    from alphasms.web.templatetags.web import appointment_status_label

    return [(value, appointment_status_label(value)) for value in AppointmentStatus.values]


def _customer_label(customer: Customer) -> str:
    name = f"{customer.family_name}, {customer.given_name}".strip(", ") or f"#{customer.pk}"
    return f"{name} ({customer.customer_number})" if customer.customer_number else name


def _local(day: dt.date, time: dt.time, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.UTC)


def _exists(day: dt.date, time: dt.time, tz: dt.tzinfo) -> bool:
    """False for a wall-clock time skipped by a DST change (it would round-trip to another time)."""
    local = dt.datetime.combine(day, time, tzinfo=tz)
    return local.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None)
