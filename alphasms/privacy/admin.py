"""Consent ledger and people's privacy requests in the admin.

Consent rows are read-mostly (withdrawals are recorded, rows never deleted). Privacy requests come in
through a person's own link (``privacy.views``); staff read the text, act on it and mark it handled.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alphasms.privacy.audit import audit
from alphasms.privacy.models import AuditAction, Consent, PrivacyRequest


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin[Consent]):
    list_display = ["customer", "channel", "opted_in_at", "source", "wording_version", "opted_out_at"]
    list_filter = ["channel", "source"]
    raw_id_fields = ["customer"]

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


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
