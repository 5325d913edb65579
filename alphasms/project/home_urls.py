"""The start page sends people to the admin until the staff web application exists."""

from __future__ import annotations

from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [path("", RedirectView.as_view(url="/admin/", permanent=False))]
