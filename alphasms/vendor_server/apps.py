from __future__ import annotations

from django.apps import AppConfig


class VendorServerConfig(AppConfig):
    name = "alphasms.vendor_server"
    label = "vendor_server"
    verbose_name = "AlphaSMS vendor server"
