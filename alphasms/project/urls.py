"""Root URL configuration: the admin (staff work there until the staff web app lands) and webhooks."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

admin.site.site_header = "AlphaSMS"
admin.site.site_title = "AlphaSMS"
admin.site.index_title = _("Termine, Erinnerungen und Nachrichten")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("hooks/email/", include("alphasms.messaging.email_webhooks")),
    path("hooks/", include("alphasms.messaging.urls")),
    path("datenschutz/", include("alphasms.privacy.urls")),
    path("", include("alphasms.project.home_urls")),
]
