"""URLs of the vendor server (all under the client's VENDOR_URL)."""

from __future__ import annotations

from django.urls import path, re_path

from alphasms.vendor_server import views

urlpatterns = [
    path("api/v1/update-check", views.update_check, name="vendor-update-check"),
    re_path(r"^api/v1/support/cases/(?P<case>[^/]+)/backup$", views.support_backup, name="vendor-backup"),
    re_path(r"^api/v1/support/cases/(?P<case>[^/]+)/receipt$", views.support_receipt, name="vendor-receipt"),
]

handler404 = "alphasms.vendor_server.views.not_found"
handler500 = "alphasms.vendor_server.views.server_error"
