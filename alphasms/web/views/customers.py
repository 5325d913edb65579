"""Customer pages: the list with search, one person's page (contact data, consent per channel, message
history, appointments, restriction), the contact edit, recording an opt-in and withdrawing consent.
Queries and changes live in ``alphasms.web.services.customers`` (which calls ``privacy.services``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from alphasms.appointments.models import Customer
from alphasms.privacy.admin_audit import actor_of
from alphasms.privacy.audit import audit
from alphasms.privacy.models import AuditAction, ConsentSource
from alphasms.web.roles import Area, Role, area_view, can_change
from alphasms.web.services import customers as service
from alphasms.web.views.customer_forms import ConsentForm, ContactForm, NewCustomerForm


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    role = getattr(request, "web_role", None)
    context = {**context, "can_change": can_change(role, Area.CUSTOMERS), "is_owner": role is Role.OWNER}
    return render(request, template, context, status=status)


def _get_or_404(pk: int) -> Customer:
    customer = Customer.objects.filter(pk=pk).first()
    if customer is None:
        raise Http404("no such customer")
    return customer


class SearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search"}),
        help_text=gettext_lazy("Name, phone number, e-mail or customer number"),
    )


@area_view(Area.CUSTOMERS)
def list_view(request: HttpRequest) -> HttpResponse:
    """Customers by name, filtered by ``q``; ``page`` from 1. An htmx request gets only the results."""
    form = SearchForm(request.GET or None)
    text = form.cleaned_data["q"] if form.is_valid() else ""
    number = int(request.GET["page"]) if request.GET.get("page", "").isdigit() else 1
    page = service.customer_page(text, number)
    context = {"form": form, "page": page, "q": text}
    template = (
        "web/customers/_results.html" if request.headers.get("HX-Request") else "web/customers/list.html"
    )
    return _render(request, template, context)


def _return_url(request: HttpRequest) -> str:
    """The appointment form to go back to after creating a customer (``next``), or "" when absent or
    not the appointment form of this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    return target if safe and target.startswith(reverse("web:appointment_new")) else ""


def _with_customer(url: str, pk: int) -> str:
    """``url`` with its ``customer`` query parameter set to ``pk``."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "customer"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("customer", str(pk))])))


def _prefill(text: str) -> dict[str, str]:
    """Initial values from the appointment form's search text: a number, an e-mail address or a name
    ("Family, Given" or "Given Family")."""
    text = text.strip()
    if not text:
        return {}
    if "@" in text:
        return {"email": text}
    if sum(c.isdigit() for c in text) >= 4:
        return {"mobile_raw": text}
    if "," in text:
        family, given = (part.strip() for part in text.split(",", 1))
        return {"family_name": family, "given_name": given}
    *first, last = text.split()
    return {"given_name": " ".join(first), "family_name": last}


@area_view(Area.CUSTOMERS)
def create_view(request: HttpRequest) -> HttpResponse:
    """A new customer typed at the desk (``?next=`` the appointment form to return to with the person
    chosen, ``?name=`` its search text to pre-fill). The mobile number is normalised to E.164; an opt-in
    per channel can be recorded at once. When someone with the same mobile number, e-mail address or
    name exists, the page shows them first and creates only after "Create anyway"."""
    back = _return_url(request)
    form = NewCustomerForm(
        request.POST or None,
        default_country=service.default_country(),
        initial={"country": "", **_prefill(request.GET.get("name", ""))},
    )
    duplicates: list[service.Duplicate] = []
    if request.method == "POST" and form.is_valid():
        contact = form.contact()
        duplicates = [] if form.cleaned_data["create_anyway"] else service.find_duplicates(contact)
        if not duplicates:
            data = form.cleaned_data
            customer = service.create_customer(
                contact,
                actor_of(request),
                consent_channels=form.consent_channels(),
                consent_source=ConsentSource(data["consent_source"] or ConsentSource.FORM),
                consent_wording=data["consent_wording"].strip(),
            )
            messages.success(request, _("Customer created."))
            for flag in form.phone_hints():
                messages.warning(request, flag)
            if back:
                return redirect(_with_customer(back, customer.pk))
            return redirect("web:customer", pk=customer.pk)
    context = {
        "form": form,
        "duplicates": [(d, _with_customer(back, d.customer.pk) if back else "") for d in duplicates],
        "next": back,
    }
    return _render(request, "web/customers/new.html", context)


def _detail_page(
    request: HttpRequest,
    customer: Customer,
    *,
    contact: ContactForm | None = None,
    consent: ConsentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "detail": service.detail(customer, timezone.now()),
        "customer": customer,
        "consent_form": consent or ConsentForm(),
        "contact_form": contact,
    }
    return _render(request, "web/customers/detail.html", context, status)


@area_view(Area.CUSTOMERS)
def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One person's page. Viewing personal data is audited (GDPR Art. 5(2)), as in the admin."""
    customer = _get_or_404(pk)
    audit(actor_of(request), AuditAction.VIEW, "customer", customer.pk)
    return _detail_page(request, customer)


@area_view(Area.CUSTOMERS)
def edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Contact data; the mobile number is normalised to E.164. Refused (409) for a restricted person."""
    customer = _get_or_404(pk)
    if customer.restricted_at is not None:
        messages.error(
            request, _("Processing of this person's data is restricted: their data cannot be changed.")
        )
        return _detail_page(request, customer, status=409)
    form = ContactForm(request.POST or None, customer=customer, default_country=service.default_country())
    if request.method == "POST" and form.is_valid():
        try:
            changed = service.update_contact(customer, form.contact(), actor_of(request))
        except service.CustomerRestricted:
            messages.error(
                request, _("Processing of this person's data is restricted: their data cannot be changed.")
            )
            return _detail_page(request, customer, status=409)
        messages.success(request, _("Contact data saved.") if changed else _("Nothing changed."))
        for flag in form.phone_hints():
            messages.warning(request, flag)
        return redirect("web:customer", pk=customer.pk)
    return _render(request, "web/customers/edit.html", {"form": form, "customer": customer})


@require_POST
@area_view(Area.CUSTOMERS)
def consent_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Record an opt-in for one channel with its source and wording."""
    customer = _get_or_404(pk)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, customer, consent=form, status=400)
    data = form.cleaned_data
    try:
        service.record_consent(
            customer,
            data["channel"],
            ConsentSource(data["source"]),
            data["wording_version"],
            actor_of(request),
        )
    except service.CustomerRestricted:
        messages.error(
            request, _("Processing of this person's data is restricted: no consent can be recorded.")
        )
        return _detail_page(request, customer, status=409)
    messages.success(request, _("Consent recorded."))
    return redirect("web:customer", pk=customer.pk)


@require_http_methods(["GET", "HEAD", "POST"])
@area_view(Area.CUSTOMERS)
def withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET (``?channel=sms|email``): the confirmation page, so one click never withdraws. POST:
    withdraw the consent of the channel in ``channel``; its pending messages are cancelled."""
    customer = _get_or_404(pk)
    channel = (request.POST if request.method == "POST" else request.GET).get("channel", "")
    if channel not in service.CHANNELS:
        messages.error(request, _("Choose the channel whose consent is withdrawn: SMS or e-mail."))
        return _detail_page(request, customer, status=400)
    if request.method != "POST":
        context = {
            "customer": customer,
            "channel": channel,
            "active": service.has_active_consent(customer, channel),
            "pending": service.pending_on_channel(customer, channel),
        }
        return _render(request, "web/customers/confirm_withdraw.html", context)
    cancelled = service.withdraw_consent(customer, channel, actor_of(request))
    text = ngettext(
        "Consent withdrawn; %(count)d pending message cancelled.",
        "Consent withdrawn; %(count)d pending messages cancelled.",
        cancelled,
    )
    messages.success(request, text % {"count": cancelled})
    return redirect("web:customer", pk=customer.pk)
