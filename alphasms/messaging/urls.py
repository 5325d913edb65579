"""Webhook routes: ``/hooks/<slug>/dlr/`` for delivery reports, ``/hooks/<slug>/mo/`` for replies."""

from __future__ import annotations

from django.urls import path

from alphasms.messaging import views

app_name = "hooks"
urlpatterns = [
    path("<slug:slug>/dlr/", views.delivery_report_hook, name="dlr"),
    path("<slug:slug>/mo/", views.inbound_message_hook, name="mo"),
]
