"""Webhook views: parse input, call a service, answer as providers expect (STYLE.md §4).

400 when forged (nothing changes), 200 for unknown or expired references (so the provider stops
retrying), 500 for our own bug (the provider retries), 200 to HEAD verification probes.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt

from alphasms.messaging.gateways.base import Gateway
from alphasms.messaging.gateways.errors import GatewayMisconfigured, WebhookForged
from alphasms.messaging.gateways.registry import GATEWAYS, get_gateway
from alphasms.messaging.services.replies import receive_mo
from alphasms.messaging.services.reports import apply_reports

log = logging.getLogger("alphasms.webhooks")


def _is_probe(request: HttpRequest) -> bool:
    return request.method == "HEAD" or (request.method == "GET" and not request.GET)


def _rejected(gateway: Gateway, request: HttpRequest, kind: str) -> HttpResponse | None:
    """None when the request is authentic; else the answer: 400 when forged, 500 when we cannot check
    (no signing key configured: our fault, so the provider retries later)."""
    try:
        gateway.verify_webhook(request)
    except WebhookForged as exc:
        log.warning("%s webhook rejected gateway=%s reason=%s", kind, gateway.slug, exc)
        return HttpResponseBadRequest("verification failed")
    except GatewayMisconfigured as exc:
        log.error("%s webhook cannot be verified gateway=%s: %s", kind, gateway.slug, exc)
        return HttpResponse("webhook secret not configured", status=500)
    return None


@csrf_exempt  # providers cannot send our CSRF token; authenticity comes from the signature check
def delivery_report_hook(request: HttpRequest, slug: str) -> HttpResponse:
    """Receive a provider's DLR: verify the signature over the raw body, then apply the reports."""
    if slug not in GATEWAYS:
        return HttpResponseNotFound("unknown gateway")
    if _is_probe(request):
        return HttpResponse("ok")
    gateway = get_gateway(slug)
    if not gateway.supports_dlr:
        return HttpResponseNotFound("this gateway sends no delivery reports")
    if (rejection := _rejected(gateway, request, "dlr")) is not None:
        return rejection
    events = gateway.parse_dlr(request)
    applied = apply_reports(slug, events)
    log.info("dlr webhook gateway=%s events=%d applied=%d", slug, len(events), applied)
    content_type, body = gateway.dlr_http_response()
    return HttpResponse(body, content_type=content_type)


@csrf_exempt  # as above: the signature check is the authentication
def inbound_message_hook(request: HttpRequest, slug: str) -> HttpResponse:
    """Receive inbound SMS (MO, replies): 404 unless the gateway supports MO; 200 to probes; verify
    the signature first (400 when forged, nothing stored); then store and apply each reply
    (``services.replies.receive_mo``). A database error propagates (500): nothing was stored, and the
    provider's retry is applied once."""
    if slug not in GATEWAYS:
        return HttpResponseNotFound("unknown gateway")
    gateway = get_gateway(slug)
    if not gateway.supports_mo:
        return HttpResponseNotFound("this gateway delivers no inbound SMS")
    if _is_probe(request):
        return HttpResponse("ok")
    if (rejection := _rejected(gateway, request, "mo")) is not None:
        return rejection
    events = gateway.parse_mo(request)
    stored = receive_mo(slug, events)
    log.info("mo webhook gateway=%s events=%d stored=%d", slug, len(events), len(stored))
    content_type, body = gateway.mo_http_response()
    return HttpResponse(body, content_type=content_type)
