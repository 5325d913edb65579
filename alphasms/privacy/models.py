"""The consent ledger (GDPR Art. 6(1)(a), Art. 7): one row per opt-in, withdrawn rows are kept."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from alphasms.appointments.models import Channel, Customer


class ConsentSource(models.TextChoices):
    FORM = "form", _("Formular")
    PHONE = "phone", _("Telefon")
    BOOKING = "booking", _("Buchung")
    IMPORT = "import", _("Import")
    REPLY = "reply", _("Antwort")
    SAMPLE = "sample", _("Beispieldaten")


class Consent(models.Model):
    """An opt-in for one channel: when, how, which wording, recorded by whom; and when withdrawn.

    A consent holds while ``opted_out_at`` is null. Withdrawal sets ``opted_out_at`` and never deletes the
    row, so the history stays provable (GDPR Art. 7(1)).
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("Kanal"), max_length=8, choices=Channel.choices)
    opted_in_at = models.DateTimeField(_("Einwilligung am (UTC)"))
    source = models.CharField(_("Quelle"), max_length=16, choices=ConsentSource.choices)
    wording_version = models.CharField(_("Textfassung"), max_length=64)
    recorded_by = models.CharField(_("Erfasst von"), max_length=150)
    opted_out_at = models.DateTimeField(_("Widerrufen am (UTC)"), null=True, blank=True)
    opted_out_source = models.CharField(_("Widerruf über"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("Einwilligung")
        verbose_name_plural = _("Einwilligungen")
        indexes = [models.Index(fields=["customer", "channel"])]

    def __str__(self) -> str:
        return f"{self.customer_id}/{self.channel}"
