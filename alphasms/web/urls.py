"""URLs of the staff web app, mounted at ``/`` (namespace ``web``). One line per page; the navigation
(``templatetags/web.py``, ``NAV``) shows a page once its URL name exists here."""

from __future__ import annotations

from django.urls import path
from django.views.i18n import set_language

from alphasms.web.views import auth, dashboard

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard_view, name="dashboard"),
    path("login/", auth.login_view, name="login"),
    path("login/code/", auth.totp_view, name="login_totp"),
    path("login/setup/", auth.setup_view, name="login_setup"),
    path("logout/", auth.logout_view, name="logout"),
    path("language/", set_language, name="set_language"),
]
