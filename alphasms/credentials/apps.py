from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CredentialsConfig(AppConfig):
    name = "alphasms.credentials"
    label = "credentials"
    verbose_name = _("Zugangsdaten")
