from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "alphasms.web"
    label = "web"
    verbose_name = _("Staff web app")
