from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "alphasms.messaging"
    label = "messaging"
    verbose_name = _("Nachrichten")

    def ready(self) -> None:
        from alphasms.messaging import checks  # noqa: F401 - registers the system checks
