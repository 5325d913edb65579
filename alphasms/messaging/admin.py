"""Message log in the Django admin: statuses, attempts, reports and the status history."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from alphasms.messaging import models


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


@admin.register(models.SmsPrice)
class SmsPriceAdmin(admin.ModelAdmin[models.SmsPrice]):
    list_display = ["country", "price_per_part_minor", "currency"]


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
