"""Consent ledger and people's privacy requests in the admin.

Consent rows are read-mostly (withdrawals are recorded, rows never deleted). Privacy requests come in
through a person's own link (``privacy.views``); staff read the text, act on it and mark it handled.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alphasms.privacy.admin_audit import AuditedAdmin, actor_of
from alphasms.privacy.audit import audit
from alphasms.privacy.models import AuditAction, AuditEntry, Consent, PrivacyRequest
from alphasms.privacy.services import withdraw


@admin.register(Consent)
class ConsentAdmin(AuditedAdmin[Consent]):
    """Opt-ins are added here; withdrawal is an action (it cancels pending messages at once)."""

    list_display = [
        "customer",
        "channel",
        "opted_in_at",
        "source",
        "wording_version",
        "recorded_by",
        "opted_out_at",
    ]
    list_filter = ["channel", "source", ("opted_out_at", admin.EmptyFieldListFilter)]
    raw_id_fields = ["customer"]
    readonly_fields = ["recorded_by", "opted_out_at", "opted_out_source"]
    actions = ["withdraw_consent"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return obj is None  # the history is kept: an opt-in is never edited afterwards

    def save_model(self, request: HttpRequest, obj: Consent, form: Any, change: bool) -> None:
        obj.recorded_by = actor_of(request)
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Einwilligung widerrufen (storniert offene Nachrichten)"))
    def withdraw_consent(self, request: HttpRequest, queryset: QuerySet[Consent]) -> None:
        for consent in queryset.filter(opted_out_at__isnull=True).select_related("customer"):
            withdraw(consent.customer, consent.channel, source="staff")
            audit(
                actor_of(request),
                AuditAction.WITHDRAW,
                "consent",
                consent.pk,
                f"customer={consent.customer_id}",
            )


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """The audit log for owners (superusers): read-only, exportable as CSV."""

    list_display = ["id", "at", "actor", "action", "object_type", "object_id", "detail"]
    list_filter = ["action", "object_type"]
    actions = ["export_csv"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=_("Als CSV exportieren"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="protokoll.csv"'
        writer = csv.writer(response)
        writer.writerow(["id", "at_utc", "actor", "action", "object_type", "object_id", "detail", "hash"])
        for entry in queryset.order_by("id"):
            writer.writerow(
                [
                    entry.pk,
                    entry.at.isoformat(),
                    entry.actor,
                    entry.action,
                    entry.object_type,
                    entry.object_id,
                    entry.detail,
                    entry.hash,
                ]
            )
        audit(actor_of(request), AuditAction.EXPORT, "audit_log", queryset.count())
        return response


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(admin.ModelAdmin[PrivacyRequest]):
    """Requests from people's links; the text is theirs and stays unchanged, staff only mark it handled."""

    list_display = ["id", "customer", "kind", "created_at", "handled_at"]
    list_filter = ["kind", ("handled_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["customer", "kind", "text", "created_at", "handled_at"]
    actions = ["mark_handled"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Als erledigt markieren"))
    def mark_handled(self, request: HttpRequest, queryset: QuerySet[PrivacyRequest]) -> None:
        now = timezone.now()
        actor = f"staff:{request.user.pk}"
        for item in queryset.filter(handled_at__isnull=True):
            item.handled_at = now
            item.save(update_fields=["handled_at"])
            audit(
                actor, AuditAction.CHANGE, "privacy_request", item.pk, f"handled customer={item.customer_id}"
            )
