"""Webhook views: parse input, call a service, answer as providers expect (STYLE.md §4).

400 when forged (nothing changes), 200 for unknown or expired references (so the provider stops
retrying), 500 for our own bug (the provider retries), 200 to HEAD verification probes.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt

from alphasms.messaging.gateways.errors import GatewayMisconfigured, WebhookForged
from alphasms.messaging.gateways.registry import GATEWAYS, get_gateway
from alphasms.messaging.services.reports import apply_reports

log = logging.getLogger("alphasms.webhooks")


@csrf_exempt  # providers cannot send our CSRF token; authenticity comes from the signature check
def delivery_report_hook(request: HttpRequest, slug: str) -> HttpResponse:
    """Receive a provider's DLR: verify the signature over the raw body, then apply the reports."""
    if slug not in GATEWAYS:
        return HttpResponseNotFound("unknown gateway")
    if request.method == "HEAD" or (request.method == "GET" and not request.GET):
        return HttpResponse("ok")
    gateway = get_gateway(slug)
    if not gateway.supports_dlr:
        return HttpResponseNotFound("this gateway sends no delivery reports")
    try:
        gateway.verify_webhook(request)
    except WebhookForged as exc:
        log.warning("dlr webhook rejected gateway=%s reason=%s", slug, exc)
        return HttpResponseBadRequest("verification failed")
    except GatewayMisconfigured as exc:
        log.error("dlr webhook cannot be verified gateway=%s: %s", slug, exc)
        return HttpResponse("webhook secret not configured", status=500)
    events = gateway.parse_dlr(request)
    applied = apply_reports(slug, events)
    log.info("dlr webhook gateway=%s events=%d applied=%d", slug, len(events), applied)
    return HttpResponse("ok")
