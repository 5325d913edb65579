"""Message log in the Django admin: statuses, attempts, reports, the status history, and the
"Antworten" inbox of SMS replies."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from alphasms.messaging import models
from alphasms.messaging.forms import AmountField, clean_country_code, initial_amount, micros_or_none
from alphasms.messaging.money import format_price
from alphasms.privacy.admin_audit import AuditedAdmin, actor_of
from alphasms.privacy.audit import audit
from alphasms.privacy.models import AuditAction


class AttemptInline(admin.TabularInline[models.DeliveryAttempt, models.OutboundMessage]):
    model = models.DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = (
        "id",
        "gateway",
        "started_at",
        "finished_at",
        "outcome",
        "gateway_message_id",
        "error_code",
        "user_message",
        "http_status",
        "duration_ms",
    )
    fields = readonly_fields


class EventInline(admin.TabularInline[models.StatusEvent, models.OutboundMessage]):
    model = models.StatusEvent
    extra = 0
    can_delete = False
    readonly_fields = ("at", "status", "note")


@admin.register(models.OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin[models.OutboundMessage]):
    """Read-only: statuses change only through the lifecycle (worker, reports, services)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    list_display = [
        "due_at",
        "channel",
        "customer",
        "status",
        "segments",
        "attempt_count",
        "possible_duplicate",
        "user_message",
    ]
    list_filter = ["status", "channel", "possible_duplicate"]
    search_fields = ["recipient", "customer__family_name"]
    date_hierarchy = "due_at"
    raw_id_fields = ["appointment", "customer"]
    readonly_fields = ["status_changed_at", "lease_until", "claimed_by", "attempt_count", "gateway"]
    inlines = [AttemptInline, EventInline]


class SmsPriceForm(forms.ModelForm):  # type: ignore[type-arg]
    """A price typed in currency units with up to 6 decimals (0.075), stored exactly in micros."""

    price = AmountField(
        label=_("Preis je SMS-Teil"),
        help_text=_("in Währungseinheiten, bis zu 6 Nachkommastellen, z. B. 0,075"),
    )

    class Meta:
        model = models.SmsPrice
        fields = ["country", "price", "currency"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["price"].initial = initial_amount(
                self.instance.price_per_part_micros, self.instance.currency
            )

    def clean_country(self) -> str:
        return clean_country_code(str(self.cleaned_data["country"]), allow_any=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        micros = micros_or_none(data.get("price"))
        if micros is not None:
            self.instance.price_per_part_micros = micros
        return data


@admin.register(models.SmsPrice)
class SmsPriceAdmin(admin.ModelAdmin[models.SmsPrice]):
    form = SmsPriceForm
    fields = ["country", "price", "currency"]
    list_display = ["country", "price_per_part", "currency"]

    @admin.display(description=_("Preis je SMS-Teil"), ordering="price_per_part_micros")
    def price_per_part(self, price: models.SmsPrice) -> str:
        """The exact price (0,075 €), never rounded to cents."""
        return format_price(price.price_per_part_micros, price.currency, to_locale(get_language() or "de"))


@admin.register(models.DeliveryReport)
class DeliveryReportAdmin(admin.ModelAdmin[models.DeliveryReport]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    list_display = ["received_at", "attempt", "status", "provider_status", "provider_error_code"]
    list_filter = ["status"]
    readonly_fields = [
        "attempt",
        "status",
        "provider_status",
        "provider_error_code",
        "occurred_at",
        "received_at",
        "raw",
        "dedupe_key",
    ]


class HandledFilter(admin.SimpleListFilter):
    title = _("erledigt")
    parameter_name = "erledigt"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [("nein", _("offen")), ("ja", _("erledigt"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "nein":
            return queryset.filter(handled_at__isnull=True)
        if self.value() == "ja":
            return queryset.filter(handled_at__isnull=False)
        return queryset


_REPLY_FIELDS = (
    "received_at",
    "gateway",
    "from_e164",
    "text",
    "outcome",
    "note",
    "customer_link",
    "appointment_link",
    "message",
    "handled_at",
    "handled_by",
    "ack_status",
    "ack_text",
    "ack_at",
    "ack_gateway",
    "ack_gateway_message_id",
    "ack_error_code",
    "gateway_message_id",
    "raw",
)


@admin.register(models.InboundMessage)
class InboundMessageAdmin(AuditedAdmin[models.InboundMessage]):
    """The "Antworten" inbox: open replies first (the model's ordering), read-only; staff only mark
    replies as done. Opening one is audited (ids only), as are the marks."""

    list_display = [
        "received_at",
        "from_e164",
        "short_text",
        "outcome",
        "is_open",
        "customer_link",
        "appointment_link",
        "note",
        "ack_status",
    ]
    list_display_links = ["received_at", "short_text"]
    list_filter = [HandledFilter, "outcome", "ack_status", "gateway", "received_at"]
    search_fields = ["from_e164", "text", "customer__family_name", "customer__customer_number"]
    date_hierarchy = "received_at"
    list_select_related = ["customer", "appointment"]
    actions = ["mark_handled"]
    fields = _REPLY_FIELDS
    readonly_fields = _REPLY_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # nothing is edited; "als erledigt markieren" has its own permission check

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # replies go with the person's erasure or the retention period

    def has_handle_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("messaging.change_inboundmessage")

    @admin.display(description=_("Text"))
    def short_text(self, reply: models.InboundMessage) -> str:
        return reply.text if len(reply.text) <= 80 else reply.text[:79] + "…"

    @admin.display(boolean=True, description=_("offen"))
    def is_open(self, reply: models.InboundMessage) -> bool:
        return reply.handled_at is None

    @admin.display(description=_("Kunde"))
    def customer_link(self, reply: models.InboundMessage) -> str:
        if reply.customer is None:
            return "–"
        url = reverse("admin:appointments_customer_change", args=[reply.customer.pk])
        return format_html('<a href="{}">{}</a>', url, reply.customer)

    @admin.display(description=_("Termin"))
    def appointment_link(self, reply: models.InboundMessage) -> str:
        if reply.appointment is None:
            return "–"
        url = reverse("admin:appointments_appointment_change", args=[reply.appointment.pk])
        return format_html('<a href="{}">{}</a>', url, reply.appointment)

    @admin.action(description=_("als erledigt markieren"), permissions=["handle"])
    def mark_handled(self, request: HttpRequest, queryset: QuerySet[models.InboundMessage]) -> None:
        now = timezone.now()
        for reply in queryset.filter(handled_at__isnull=True):
            reply.handled_at, reply.handled_by = now, actor_of(request)
            reply.save(update_fields=["handled_at", "handled_by"])
            audit(actor_of(request), AuditAction.CHANGE, "inboundmessage", reply.pk, "handled")
