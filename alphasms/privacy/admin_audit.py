"""Audit the admin's handling of personal data: views, changes and deletions (GDPR Art. 5(2), 30).

``AuditedAdmin`` writes one audit entry (ids only) when a staff member opens a record, saves it or
deletes it; deleting a customer runs the full erasure (``subject_rights.erase``), so the admin's delete
button keeps the same promises as ``alphasms privacy erase``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse

from alphasms.privacy.audit import audit
from alphasms.privacy.models import AuditAction

M = TypeVar("M", bound=Model)


def actor_of(request: HttpRequest) -> str:
    """``staff:<user id>`` — never the user's name (ids only in the audit log)."""
    return f"staff:{request.user.pk}"


class AuditedAdmin(admin.ModelAdmin[M]):
    """A ModelAdmin whose views and changes of personal data are audited."""

    def _type(self) -> str:
        return str(self.model._meta.model_name)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "GET":
            audit(actor_of(request), AuditAction.VIEW, self._type(), object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: M, form: ModelForm[M], change: bool) -> None:
        super().save_model(request, obj, form, change)
        fields = ",".join(sorted(form.changed_data))[:400]
        audit(
            actor_of(request),
            AuditAction.CHANGE,
            self._type(),
            obj.pk,
            f"{'changed' if change else 'created'} {fields}",
        )

    def delete_model(self, request: HttpRequest, obj: M) -> None:
        audit(actor_of(request), AuditAction.DELETE, self._type(), obj.pk)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[M]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
