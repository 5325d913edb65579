"""Root URL configuration: the staff web app at ``/``, the admin (for owners; its sign-in goes through
the web app's, so the second factor applies there too), webhooks and the people's privacy links."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from alphasms.web.views.auth import admin_login_redirect

admin.site.site_header = "AlphaSMS"
admin.site.site_title = "AlphaSMS"
admin.site.index_title = _("Termine, Erinnerungen und Nachrichten")

urlpatterns = [
    path("admin/login/", admin_login_redirect),
    path("admin/", admin.site.urls),
    path("hooks/email/", include("alphasms.messaging.email_webhooks")),
    path("hooks/", include("alphasms.messaging.urls")),
    path("datenschutz/", include("alphasms.privacy.urls")),
    path("", include("alphasms.web.urls")),
]
