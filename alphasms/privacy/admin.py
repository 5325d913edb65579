"""Consent ledger in the admin (read-mostly: withdrawals are recorded, rows never deleted)."""

from __future__ import annotations

from django.contrib import admin

from alphasms.privacy.models import Consent


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin[Consent]):
    list_display = ["customer", "channel", "opted_in_at", "source", "wording_version", "opted_out_at"]
    list_filter = ["channel", "source"]
    raw_id_fields = ["customer"]

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
