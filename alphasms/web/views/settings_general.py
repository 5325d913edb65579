"""Settings → General (owners only): locations with time zone, budget and this month's spend, the rules'
sending windows, SMS prices, users and roles. Queries and rules are in
``alphasms.web.services.settings_general``. The other settings pages (gateways, licence and updates,
support) are linked through ``web/settings/_subnav.html``, which this page includes too."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from alphasms.appointments.models import Location
from alphasms.messaging.forms import AmountField, clean_country_code, initial_amount, micros_or_none
from alphasms.messaging.models import SmsPrice
from alphasms.messaging.money import to_micros
from alphasms.web.roles import Area, Role, area_view
from alphasms.web.services import settings_general as service

ROLE_CHOICES = [
    (Role.OWNER.value, _("Owner: everything")),
    (Role.STAFF.value, _("Staff: appointments, customers, messages")),
    (Role.READONLY.value, _("Read-only: sees, changes nothing")),
]
_CURRENCY = forms.RegexField(
    regex=r"^[A-Z]{3}$",
    label=_("Currency"),
    initial="EUR",
    max_length=3,
    error_messages={"invalid": _("Three capital letters (ISO 4217), e.g. EUR.")},
)


class LocationForm(forms.ModelForm):  # type: ignore[type-arg]
    """A location; the budget in currency units (up to 6 decimals), stored exactly in micros
    (millionths of the currency, messaging/money.py) — never rounded."""

    budget = AmountField(
        label=_("Monthly SMS budget"),
        required=False,
        help_text=_("Empty = no limit. Once spent, reminders go by e-mail where possible or wait for staff."),
    )
    budget_currency = _CURRENCY

    class Meta:
        model = Location
        fields = ["name", "time_zone", "country", "phone", "budget_currency"]
        labels = {
            "name": _("Name"),
            "time_zone": _("Time zone (IANA)"),
            "country": _("Country"),
            "phone": _("Practice phone"),
        }
        help_texts = {
            "time_zone": _("E.g. Europe/Berlin. Reminder times and sending windows are read in it."),
            "country": _("ISO 3166 code, e.g. DE: numbers without country code are read as this country's."),
        }
        widgets = {"time_zone": forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["budget"].initial = initial_amount(
                self.instance.monthly_sms_budget_micros, self.instance.budget_currency
            )

    def clean_time_zone(self) -> str:
        value = str(self.cleaned_data["time_zone"]).strip()
        if value not in zoneinfo.available_timezones():
            raise ValidationError(
                _("%(value)s is no IANA time zone: choose one from the list, e.g. Europe/Berlin."),
                params={"value": value},
            )
        return value

    def clean_country(self) -> str:
        return clean_country_code(str(self.cleaned_data["country"]))

    def save(self, commit: bool = True) -> Location:
        location: Location = super().save(commit=False)
        location.monthly_sms_budget_micros = micros_or_none(self.cleaned_data.get("budget"))
        if commit:
            location.save()
        return location


class PriceForm(forms.Form):
    """The price of one SMS part to a destination country ("*" = all others): the country an ISO 3166-1
    alpha-2 code phonenumbers knows, the price exact with up to 6 decimals (0.075), stored in micros."""

    country = forms.CharField(
        label=_("Destination country"),
        max_length=2,
        help_text=_("E.g. DE; * = all other countries."),
    )
    price = AmountField(
        label=_("Price per SMS part"),
        help_text=_("Exact, up to 6 decimals, e.g. 0.075. Totals are rounded to cents when shown."),
    )
    currency = _CURRENCY

    def clean_country(self) -> str:
        return clean_country_code(str(self.cleaned_data["country"]), allow_any=True)


class UserCreateForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]+$",
        label=_("User name"),
        max_length=150,
        error_messages={"invalid": _("Letters, digits and . @ + - _ only.")},
    )
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not a common one. Hand it over in person."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, initial=Role.STAFF.value)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


def _page(request: HttpRequest, **forms_: Any) -> HttpResponse:
    status = 400 if forms_ else 200
    context = {
        "locations": service.locations(timezone.now()),
        "rules": service.sending_windows(),
        "prices": service.prices(),
        "users": service.users(),
        "price_form": forms_.get("price_form") or PriceForm(),
        "user_form": forms_.get("user_form") or UserCreateForm(),
        "role_choices": ROLE_CHOICES,
        "subnav": "general",
    }
    return render(request, "web/settings/general.html", context, status=status)


@area_view(Area.SETTINGS)
def settings_view(request: HttpRequest) -> HttpResponse:
    """Settings → General."""
    return _page(request)


@area_view(Area.SETTINGS)
@require_http_methods(["GET", "POST"])
def location_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Add (``pk`` None) or edit a location."""
    instance = get_object_or_404(Location, pk=pk) if pk is not None else None
    form = LocationForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        location = form.save()
        messages.success(request, gettext("Location %(name)s saved.") % {"name": location.name})
        return redirect("web:settings")
    context = {"form": form, "location": instance, "time_zones": sorted(zoneinfo.available_timezones())}
    return render(
        request, "web/settings/location.html", context, status=400 if request.method == "POST" else 200
    )


@area_view(Area.SETTINGS)
@require_POST
def price_save_view(request: HttpRequest) -> HttpResponse:
    """Set the price for a country (creates or replaces that country's row)."""
    form = PriceForm(request.POST)
    if not form.is_valid():
        return _page(request, price_form=form)
    data = form.cleaned_data
    country = data["country"]
    SmsPrice.objects.update_or_create(
        country=country,
        defaults={"price_per_part_micros": to_micros(data["price"]), "currency": data["currency"]},
    )
    messages.success(request, gettext("Price for %(country)s saved.") % {"country": country})
    return redirect("web:settings")


@area_view(Area.SETTINGS)
@require_POST
def price_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a country's price (its SMS then cost the "*" price, or show no cost)."""
    price = get_object_or_404(SmsPrice, pk=pk)
    price.delete()
    messages.success(request, gettext("Price for %(country)s removed.") % {"country": price.country})
    return redirect("web:settings")


@sensitive_post_parameters("password")
@area_view(Area.USERS)
@require_POST
def user_create_view(request: HttpRequest) -> HttpResponse:
    """Create a user with a role."""
    form = UserCreateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            service.create_user(data["username"], data["password"], Role(data["role"]))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field, error)
        else:
            messages.success(request, gettext("User %(name)s created.") % {"name": data["username"]})
            return redirect("web:settings")
    return _page(request, user_form=form)


def _account(pk: int) -> Any:
    return get_object_or_404(get_user_model(), pk=pk)


@area_view(Area.USERS)
@require_POST
def user_role_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a user's role (never the last owner's)."""
    user, form = _account(pk), RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose a role from the list."))
        return redirect("web:settings")
    try:
        service.set_role(user, Role(form.cleaned_data["role"]))
    except service.LastOwner:
        messages.error(
            request,
            gettext("%(name)s is the last owner: make someone else owner first.") % {"name": user.username},
        )
    except ValueError:
        messages.error(
            request,
            gettext("%(name)s is an administrator (superuser): change this in the admin.")
            % {"name": user.username},
        )
    else:
        messages.success(request, gettext("Role of %(name)s changed.") % {"name": user.username})
    return redirect("web:settings")


@area_view(Area.USERS)
@require_POST
def user_active_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (``active=0``) or reactivate (``active=1``) a user."""
    user = _account(pk)
    active = request.POST.get("active") == "1"
    try:
        service.set_active(request.user, user, active)
    except service.SelfDeactivation:
        messages.error(request, gettext("You cannot deactivate yourself: ask another owner."))
    except service.LastOwner:
        messages.error(
            request,
            gettext("%(name)s is the last owner: make someone else owner first.") % {"name": user.username},
        )
    else:
        text = gettext("%(name)s can sign in again.") if active else gettext("%(name)s is deactivated.")
        messages.success(request, text % {"name": user.username})
    return redirect("web:settings")


@area_view(Area.USERS)
@require_POST
def user_totp_reset_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a user's authenticator device; they set up a new one at the next sign-in."""
    user = _account(pk)
    service.reset_totp(user)
    messages.success(
        request,
        gettext("The authenticator of %(name)s was removed; a new one is set up at the next sign-in.")
        % {"name": user.username},
    )
    return redirect("web:settings")
