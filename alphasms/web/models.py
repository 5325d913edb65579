"""Models of the staff web app: the short history of applied imports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from alphasms.appointments.models import Location


class ImportRecord(models.Model):
    """One uploaded file whose application ended (state "done" or "failed"), for the imports page's
    history: who uploaded it when, the file's name and kind, the location, and the numbers.

    Holds ids and counts only: ``counts`` are the report's numbers (``ImportReport.counts()`` plus the
    customer counts), ``rejected_lines`` the rejected rows as ``[line, field]`` pairs. The reasons and
    the entries' titles, which can quote customer data, stay in the import's job folder
    (``alphasms.web.services.imports``) and go with it ``JOB_TTL_S`` after the upload. Only the newest
    ``HISTORY_SIZE`` records are kept.
    """

    job_id = models.CharField(_("job"), max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    location = models.ForeignKey(
        Location,
        verbose_name=_("Location"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=8)
    file_name = models.CharField(_("file"), max_length=200)
    uploaded_at = models.DateTimeField(_("uploaded at"))
    finished_at = models.DateTimeField(_("finished at"))
    ok = models.BooleanField(_("applied"), default=True)
    counts = models.JSONField(_("counts"), default=dict)
    rejected_lines = models.JSONField(_("rejected lines"), default=list)

    class Meta:
        ordering = ("-finished_at", "-pk")
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.finished_at:%Y-%m-%d %H:%M})"
