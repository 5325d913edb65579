"""URLs of a person's own pages, mounted under ``/datenschutz/`` (see ``privacy.views``).

``<token>`` is the signed link token from ``privacy.links`` (``id:expiry:signature``, no slash).
"""

from __future__ import annotations

from django.urls import path

from alphasms.privacy import views

app_name = "privacy"

urlpatterns = [
    path("<str:token>/", views.person, name="person"),
    path("<str:token>/daten.json", views.download, name="download"),
    path("<str:token>/widerruf/", views.withdraw_consent, name="withdraw"),
    path("<str:token>/widerspruch/", views.object_statistics, name="object"),
    path("<str:token>/einschraenkung/", views.request_restriction, name="restrict"),
    path("<str:token>/berichtigung/", views.request_rectification, name="rectify"),
    path("<str:token>/loeschung/", views.request_erasure, name="erase"),
]
