"""The stored licence, the evaluation-mode counter and the update manifests accepted so far.

None of these rows is personal data about customers: the registration name is the licensee's (the
practice's) own name, as it is on the invoice.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Licence(models.Model):
    """A licence entered by staff (settings page or ``alphasms licence set``), stored only after its
    Ed25519 signature verified. The newest row (by ``entered_at``) is the one in force; older rows stay
    as history. ``edition``, ``locations``, ``expires`` and ``serial`` are the verified fields of the
    licence number, copied for display; they are verified again whenever the licence is used.
    """

    registration_name = models.CharField(_("Registrierungsname"), max_length=200)
    licence_number = models.TextField(_("Lizenznummer"))
    edition = models.CharField(_("Edition"), max_length=64)
    locations = models.PositiveIntegerField(_("Standorte"))
    expires = models.DateField(_("gültig bis (einschließlich)"))
    serial = models.PositiveBigIntegerField(_("Seriennummer"))
    entered_at = models.DateTimeField(_("eingegeben (UTC)"))

    class Meta:
        verbose_name = _("Lizenz")
        verbose_name_plural = _("Lizenzen")
        ordering = ["-entered_at", "-id"]
        get_latest_by = ["entered_at", "id"]

    def __str__(self) -> str:
        return f"{self.registration_name} ({self.edition}, {self.expires.isoformat()})"


class EvaluationUsage(models.Model):
    """Messages sent through real (metered) gateways in one calendar month without a licence.

    ``month`` is the first day of the month in the installation's time zone (``ALPHASMS_TIME_ZONE``).
    ``sent`` is raised atomically before each provider call and lowered again when the call surely
    did not send, so it never exceeds ``ALPHASMS_EVALUATION_MONTHLY_LIMIT``, whatever the number of workers.
    """

    month = models.DateField(_("Monat"), unique=True)
    sent = models.PositiveIntegerField(_("gesendet"), default=0)

    class Meta:
        verbose_name = _("Testmodus-Zähler")
        verbose_name_plural = _("Testmodus-Zähler")
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.sent}"


class AcceptedManifest(models.Model):
    """An update manifest whose signature, expiry and counter were accepted. The highest ``counter``
    stored here is the rollback floor: a manifest with a lower counter is rejected."""

    received_at = models.DateTimeField(_("empfangen (UTC)"))
    counter = models.PositiveBigIntegerField(_("Zähler"), db_index=True)
    latest_version = models.CharField(_("neueste Version"), max_length=64)
    issued_at = models.DateTimeField(_("ausgestellt (UTC)"))
    expires_at = models.DateTimeField(_("gültig bis (UTC)"))
    payload = models.JSONField(_("Manifest"))

    class Meta:
        verbose_name = _("Update-Manifest")
        verbose_name_plural = _("Update-Manifeste")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.latest_version} (#{self.counter})"
