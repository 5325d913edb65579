"""The dashboard: today's and tomorrow's appointments with their reminders, the to-do list, the replies
inbox and this month's SMS spend (``alphasms.web.services.dashboard``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from alphasms.web.roles import Area, area_view
from alphasms.web.services import dashboard


@area_view(Area.DASHBOARD)
def dashboard_view(request: HttpRequest) -> HttpResponse:
    """The start page of every role; read-only."""
    return render(request, "web/dashboard.html", {"board": dashboard.build(timezone.now())})
