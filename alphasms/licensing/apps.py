from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LicensingConfig(AppConfig):
    name = "alphasms.licensing"
    label = "licensing"
    verbose_name = _("Lizenz und Updates")
