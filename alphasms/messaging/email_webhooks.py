"""ESP tracking webhooks (django-anymail) mounted at ``/hooks/email/<esp>/tracking/``.

Each request is handled by anymail's own tracking view for that ESP, built per request with our settings
(read now, through ``app_settings.gateway_setting``):

* ``ALPHASMS_EMAIL_WEBHOOK_SECRET`` ("user:password"): HTTP Basic auth for every ESP (anymail's
  ``WEBHOOK_SECRET``). Unset → the hook answers 500 (``EmailProviderMisconfigured``) so the ESP retries
  until it is configured; it never accepts unauthenticated posts.
* Mailgun also: ``ALPHASMS_MAILGUN_WEBHOOK_SIGNING_KEY`` (HMAC-SHA256 over timestamp+token, verified by
  anymail) and our replay window: a signature timestamp more than ``REPLAY_WINDOW_S`` away is forged.
* Postmark and Brevo sign nothing; SES posts SNS messages whose signature anymail does not verify yet.
  For them Basic auth is all there is (EMAIL_PROVIDERS.md).

Forged posts answer 400 (anymail's ``AnymailWebhookValidationFailure``) and change nothing. anymail sends
each event on its ``tracking`` signal; ``on_tracking_event`` maps it to a ``DlrEvent`` and calls
``apply_reports`` with our provider slug.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, EventType, tracking
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.base import AnymailCoreWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from alphasms.conf import app_settings
from alphasms.messaging.email_providers import PROVIDERS, EmailProviderMisconfigured
from alphasms.messaging.gateways.base import DeliveryStatus, DlrEvent
from alphasms.messaging.services.reports import apply_reports

REPLAY_WINDOW_S = 15 * 60

# anymail's normalised event types → our DLR vocabulary; None = not a delivery status, ignored.
# https://anymail.dev/en/stable/sending/tracking/#anymail.signals.AnymailTrackingEvent.event_type
EVENT_STATUS: dict[str, DeliveryStatus | None] = {
    EventType.QUEUED: DeliveryStatus.QUEUED,  # the ESP has it and will send it
    EventType.SENT: DeliveryStatus.SENT,  # the ESP sent it, no receipt from the receiving server yet
    EventType.REJECTED: DeliveryStatus.REJECTED,  # the ESP refused to send (suppression list, policy)
    EventType.FAILED: DeliveryStatus.FAILED,  # the ESP could not send it (e.g. template or content)
    EventType.BOUNCED: DeliveryStatus.UNDELIVERED,  # the receiving server rejected it
    EventType.DEFERRED: DeliveryStatus.QUEUED,  # temporary failure; the ESP retries
    EventType.DELIVERED: DeliveryStatus.DELIVERED,  # the receiving server accepted it
    EventType.AUTORESPONDED: DeliveryStatus.DELIVERED,  # an auto-reply came back: the mailbox has it
    EventType.COMPLAINED: DeliveryStatus.DELIVERED,  # marked as spam: it was delivered (status kept)
    EventType.OPENED: None,  # engagement, not delivery; tracking is off and we do not record reading
    EventType.CLICKED: None,
    EventType.SUBSCRIBED: None,  # ESP list management; we use no ESP lists
    EventType.UNSUBSCRIBED: None,
    EventType.UNKNOWN: DeliveryStatus.UNKNOWN,
}

_SLUG_BY_ESP_NAME = {provider.esp_name: provider.slug for provider in PROVIDERS.values()}


def on_tracking_event(sender: object, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    """anymail ``tracking`` receiver: one event → one ``DlrEvent`` for ``apply_reports``."""
    slug = _SLUG_BY_ESP_NAME.get(esp_name)
    status = EVENT_STATUS.get(event.event_type, DeliveryStatus.UNKNOWN)
    if slug is None or status is None or not event.message_id:
        return
    error_code = event.mta_response or event.reject_reason or ""
    apply_reports(
        slug,
        [
            DlrEvent(
                status=status,
                gateway_message_id=str(event.message_id),
                provider_status=str(event.event_type)[:64],
                provider_error_code=str(error_code)[:64],
                occurred_at=event.timestamp,
                raw=_as_dict(event.esp_event),
            )
        ],
    )


tracking.connect(on_tracking_event, dispatch_uid="alphasms.email_tracking")


def _as_dict(esp_event: Any) -> dict[str, Any]:
    if hasattr(esp_event, "dict"):  # a QueryDict (Mailgun's legacy form posts)
        return dict(esp_event.dict())
    if isinstance(esp_event, Mapping):
        safe: dict[str, Any] = json.loads(json.dumps(esp_event, default=str))  # JSON-safe for the JSONField
        return safe
    return {"event": str(esp_event)}


def _require(name: str) -> str:
    value = app_settings.gateway_setting(name)
    if not value:
        raise EmailProviderMisconfigured(f"ALPHASMS_{name} is not set; e-mail tracking webhooks refuse posts")
    return value


class _MailgunTracking(MailgunTrackingWebhookView):  # type: ignore[misc]  # anymail is untyped
    def validate_request(self, request: HttpRequest) -> None:
        """Mailgun's signature block carries a timestamp; outside the window it is a replay."""
        if request.content_type != "application/json":
            return  # legacy form posts: anymail requires token/timestamp/signature
        try:
            timestamp = float(json.loads(request.body)["signature"]["timestamp"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AnymailWebhookValidationFailure("Mailgun webhook without signature timestamp") from exc
        if abs(time.time() - timestamp) > REPLAY_WINDOW_S:
            raise AnymailWebhookValidationFailure("Mailgun webhook outside the replay window")


VIEWS: dict[str, type[AnymailCoreWebhookView]] = {
    "amazon_ses": AmazonSESTrackingWebhookView,
    "brevo": BrevoTrackingWebhookView,
    "mailgun": _MailgunTracking,
    "postmark": PostmarkTrackingWebhookView,
}


def _view_kwargs(esp: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"webhook_secret": [_require("EMAIL_WEBHOOK_SECRET")]}
    if esp == "mailgun":
        kwargs["webhook_signing_key"] = _require("MAILGUN_WEBHOOK_SIGNING_KEY")
    return kwargs


def _tracking_view(esp: str) -> Any:
    view_class = VIEWS[esp]

    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        instance = view_class(**_view_kwargs(esp))  # settings read per request
        instance.setup(request)
        response: HttpResponse = instance.dispatch(request)
        return response

    view.__name__ = f"{esp}_tracking"
    return view


app_name = "email_hooks"
urlpatterns = [path(f"{esp}/tracking/", _tracking_view(esp), name=f"{esp}_tracking") for esp in VIEWS]
