"""Django admin for customers, appointments and rules (German), until the staff web app replaces it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from alphasms.appointments import models
from alphasms.messaging.forms import AmountField, clean_country_code, initial_amount, micros_or_none
from alphasms.privacy.admin_audit import AuditedAdmin, actor_of


class LocationForm(forms.ModelForm):  # type: ignore[type-arg]
    """A location; the budget typed in currency units (up to 6 decimals), stored exactly in micros."""

    budget = AmountField(
        label=_("SMS-Budget pro Monat"),
        required=False,
        help_text=_(
            "in Währungseinheiten, z. B. 25,00; leer = unbegrenzt; ist es ausgeschöpft, geht die "
            "Erinnerung per E-Mail oder wartet"
        ),
    )

    class Meta:
        model = models.Location
        fields = ["name", "time_zone", "country", "phone", "budget", "budget_currency"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["budget"].initial = initial_amount(
                self.instance.monthly_sms_budget_micros, self.instance.budget_currency
            )

    def clean_country(self) -> str:
        return clean_country_code(str(self.cleaned_data["country"]))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.instance.monthly_sms_budget_micros = micros_or_none(data.get("budget"))
        return data


@admin.register(models.Location)
class LocationAdmin(admin.ModelAdmin[models.Location]):
    form = LocationForm
    fields = ["name", "time_zone", "country", "phone", "budget", "budget_currency"]
    list_display = ["name", "time_zone", "country"]


@admin.register(models.Customer)
class CustomerAdmin(AuditedAdmin[models.Customer]):
    """Customers; deleting one is the full erasure (Art. 17), restriction is shown and set by action."""

    list_display = [
        "customer_number",
        "family_name",
        "given_name",
        "mobile_e164",
        "mobile_sms_ok",
        "email",
        "restricted",
    ]
    search_fields = ["customer_number", "family_name", "given_name", "mobile_e164", "email"]
    list_filter = ["mobile_sms_ok", "language", ("restricted_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["mobile_flags", "restricted_at", "created_at", "updated_at"]
    actions = ["restrict_processing", "lift_restriction"]

    @admin.display(boolean=True, description=_("eingeschränkt (Art. 18)"))
    def restricted(self, customer: models.Customer) -> bool:
        return customer.restricted_at is not None

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # The erasure removes the person's consents, messages and reports itself (the registry), even
        # where their own admin pages allow no deleting (the consent ledger): no extra permission needed.
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request: HttpRequest, obj: models.Customer) -> None:
        from alphasms.privacy.subject_rights import erase

        erase(obj, actor_of(request))

    @admin.action(description=_("Verarbeitung einschränken (Art. 18, Richtigkeit bestritten)"))
    def restrict_processing(self, request: HttpRequest, queryset: QuerySet[models.Customer]) -> None:
        from alphasms.privacy.subject_rights import RestrictionBasis, restrict

        for customer in queryset:
            restrict(customer, actor_of(request), RestrictionBasis.ACCURACY)

    @admin.action(description=_("Einschränkung aufheben"))
    def lift_restriction(self, request: HttpRequest, queryset: QuerySet[models.Customer]) -> None:
        from alphasms.privacy.subject_rights import unrestrict

        for customer in queryset:
            unrestrict(customer, actor_of(request))


@admin.register(models.AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin[models.AppointmentType]):
    list_display = ["name"]


@admin.register(models.Appointment)
class AppointmentAdmin(AuditedAdmin[models.Appointment]):
    list_display = ["start_at", "customer", "summary", "location", "status", "source"]
    list_filter = ["status", "source", "location", "all_day"]
    search_fields = ["summary", "customer__family_name", "external_uid"]
    date_hierarchy = "start_at"
    raw_id_fields = ["customer"]


@admin.register(models.UnmatchedEvent)
class UnmatchedEventAdmin(admin.ModelAdmin[models.UnmatchedEvent]):
    list_display = ["appointment", "reason", "created_at"]
    raw_id_fields = ["appointment"]


@admin.register(models.CalendarSubscription)
class CalendarSubscriptionAdmin(admin.ModelAdmin[models.CalendarSubscription]):
    list_display = ["name", "location", "refresh_interval_s", "last_sync_at", "last_result"]
    readonly_fields = ["etag", "last_modified", "last_sync_at", "last_result", "next_refresh_at"]


@admin.register(models.ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin[models.ReminderRule]):
    list_display = ["name", "channel", "offset_s", "window_start", "window_end", "active"]
    readonly_fields = ["template_check"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """After the rule and its appointment types are saved (same transaction, the admin's own):
        its reminders that no provider has been handed yet follow it (``rule_changes.replan_rule``).
        Fields read only at send time (name, .ics, unknown-outcome policy) re-plan nothing."""
        from django.utils import timezone

        from alphasms.appointments.services.rule_changes import PLANNING_FIELDS, replan_rule

        super().save_related(request, form, formsets, change)
        if not change or PLANNING_FIELDS & set(form.changed_data):
            replan_rule(form.instance, now=timezone.now())

    @admin.display(description=_("Prüfung der SMS-Vorlage"))
    def template_check(self, rule: models.ReminderRule) -> str:
        """Encoding, parts and cost of the longest realistic rendering, and the lint's warnings."""
        from alphasms.messaging.money import format_price
        from alphasms.messaging.services.template_check import check_rule
        from alphasms.messaging.templates import TemplateError

        if not rule.pk:
            return "–"
        try:
            result = check_rule(rule)
        except TemplateError as exc:
            return str(exc)
        if result is None:
            return "–"
        longest = result.longest
        cost = (
            "" if longest.cost_micros is None else f", {format_price(longest.cost_micros, result.currency)}"
        )
        lines = format_html_join("", "<li>{}</li>", ((w.message_de,) for w in result.warnings))
        return format_html(
            "<p>Längste realistische Fassung: {} · {} SMS · {} Einheiten{}</p><pre>{}</pre><ul>{}</ul>",
            longest.encoding,
            longest.segments,
            longest.units,
            cost,
            longest.text,
            lines,
        )
