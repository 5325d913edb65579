"""SMS Gateway for Android (capcom6, "SMS Gate"): the practice's own phone and SIM send the reminders.

``POST {ANDROID_BASE_URL}/messages``, Basic auth, JSON ``{id, textMessage: {text}, phoneNumbers: [E.164],
withDeliveryReport: true}`` → 202 ``{id, state, recipients}``. Local mode: the phone in the practice LAN
(``http://<phone>:8080``); cloud mode: ``https://api.sms-gate.app/3rdparty/v1``. ``id`` = our reference;
the app keeps one message per id (local: a repeat is ignored, cloud: 409), so resending the same attempt
cannot send twice. Each call first charges the per-process Android part budget (budget.py).

Read 2026-11-30: https://docs.sms-gate.app/features/sending-messages/ (docs-web); spec
tests/data/provider-specs/android-sms-gateway.swagger.json (capcom6/android-sms-gateway @ 0cdc5d86); app
``localserver/WebService.kt`` @ e84361a2, ``routes/MessagesRoutes.kt`` @ 12b11389; cloud handler
android-sms-gateway/server ``handlers/messages/3rdparty.go`` @ dd1eae62. Setup, quirks: README.md.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from typing import Any

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging import encoding
from alphasms.messaging.gateways import base, errors, http
from alphasms.messaging.gateways.android import webhooks
from alphasms.messaging.gateways.android.budget import BUDGET, PartBudget
from alphasms.messaging.gateways.base import DeliveryStatus
from alphasms.messaging.gateways.errors import GatewayError

CLOUD_BASE_URL = "https://api.sms-gate.app/3rdparty/v1"
_E164 = re.compile(r"\+[1-9]\d{1,14}")  # ITU-T E.164; the app validates E.164 unless told to skip it
_PHONE_UNREACHABLE = "Das Telefon ist nicht erreichbar (WLAN, App, lokaler Server?); neuer Versuch folgt."
_NO_DEVICE = "Bei SMS Gate ist kein Telefon angemeldet (App: Cloud-Server einschalten); neuer Versuch folgt."
_PHONE_BUSY = "Das Telefon ist offline oder seine Warteschlange ist voll; neuer Versuch folgt."
_BAD_LOGIN = "Das Telefon hat Benutzer/Passwort abgelehnt (ALPHASMS_ANDROID_USERNAME/_PASSWORD prüfen)."

#: ProcessingState (spec ``smsgateway.ProcessingState``) -> ours; buckets as in
#: shared/reference/sms-providers.md §6.1 (Pending/Processed: still on the phone, not yet on the network).
STATE_MAP: dict[str, DeliveryStatus] = {
    "Pending": DeliveryStatus.QUEUED,  # stored, not yet handed to Android
    "Processed": DeliveryStatus.QUEUED,  # on the phone, handed to Android for sending
    "Sent": DeliveryStatus.SENT,
    "Delivered": DeliveryStatus.DELIVERED,
    "Failed": DeliveryStatus.FAILED,
}


class AlreadyAccepted(GatewayError):
    """HTTP 409 "Message with such ID already exists": an earlier try of this attempt got through.
    ``AndroidGateway.send`` turns it into a SendResult; it never reaches the worker."""

    code = "already_accepted"


class AndroidGateway(base.Gateway):
    slug = "android"
    display_name = "SMS Gateway for Android (eigenes Telefon)"
    docs_url = "https://docs.sms-gate.app/"
    supports_dlr = True  # sms:sent/delivered/failed webhooks from the phone, HMAC-signed
    supports_mo = True  # sms:received webhook
    supports_alphanumeric_sender = False  # the sender is always the SIM's own number
    max_segments = 10
    max_requests_per_second = 0.5  # Android: 30 parts a minute (budget.py enforces the parts)
    settings_spec = (  # README.md "Settings"
        base.GatewaySetting("ANDROID_MODE"),
        base.GatewaySetting("ANDROID_BASE_URL"),
        base.GatewaySetting("ANDROID_USERNAME", required=True),
        base.GatewaySetting("ANDROID_PASSWORD", required=True, secret=True),
        base.GatewaySetting("ANDROID_WEBHOOK_SIGNING_KEY", secret=True),
    )

    def __init__(self, budget: PartBudget | None = None) -> None:
        self.budget = budget or BUDGET

    def mode(self) -> str:
        """``local`` (default) or ``cloud`` (setting ALPHASMS_ANDROID_MODE); else GatewayMisconfigured."""
        mode = (app_settings.gateway_setting("ANDROID_MODE") or "local").strip().lower()
        if mode not in ("local", "cloud"):
            raise errors.GatewayMisconfigured(f"ALPHASMS_ANDROID_MODE must be local or cloud, not {mode!r}")
        return mode

    def base_url(self) -> str:
        """ALPHASMS_ANDROID_BASE_URL; in cloud mode it defaults to SMS Gate's public server."""
        mode, configured = self.mode(), app_settings.gateway_setting("ANDROID_BASE_URL")
        if configured or mode == "cloud":
            return configured or CLOUD_BASE_URL
        raise errors.GatewayMisconfigured(
            "ALPHASMS_ANDROID_BASE_URL is not set: in local mode use the address the app shows under "
            "Local Server, e.g. http://192.168.1.20:8080"
        )

    def authorization(self) -> str:
        """``Basic base64(user:password)`` (RFC 7617, UTF-8); GatewayMisconfigured names what is missing."""
        user, password = (app_settings.gateway_setting(f"ANDROID_{n}") for n in ("USERNAME", "PASSWORD"))
        missing = [f"ALPHASMS_ANDROID_{n}" for n, v in (("USERNAME", user), ("PASSWORD", password)) if not v]
        if missing:
            raise errors.GatewayMisconfigured(
                f"{' and '.join(missing)} not set: copy user and password from the app's Home tab "
                "(Local Server or Cloud Server card); secrets may also come from …_FILE"
            )
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")

    def send(self, sms: base.OutboundSms) -> base.SendResult:
        """Charge the part budget, then send (base pipeline). Raises RateLimited without any request
        while the budget is spent; refunds it when the phone certainly did not get the message."""
        spend = self.budget.take(encoding.analyse(sms.text).segments)
        keep = False
        try:
            result = super().send(sms)
            keep = True
            return dataclasses.replace(result, segments=spend.parts)
        except AlreadyAccepted:  # the earlier try was charged already
            return base.SendResult(sms.reference, DeliveryStatus.QUEUED, segments=spend.parts)
        except errors.GatewayUnavailable as exc:
            if exc.http_status is None and self.mode() == "local":
                raise errors.GatewayUnavailable(exc.detail, user_message=_PHONE_UNREACHABLE) from exc
            raise
        except GatewayError as exc:
            keep = exc.ambiguous  # it may be on the phone: it may count against Android's limit
            raise
        finally:
            if not keep:
                self.budget.refund(spend)

    def build_send_request(self, sms: base.OutboundSms) -> base.RequestSpec:
        """The JSON body with exactly id, text, recipient and the delivery-report switch. No I/O.

        Raises InvalidRecipient (permanent) unless ``sms.to_e164`` is E.164; GatewayMisconfigured without
        credentials. ``sms.sender_id`` is not sent: the phone always sends from its SIM's number.
        """
        if not _E164.fullmatch(sms.to_e164):
            message = "Die Empfängernummer ist nicht im internationalen Format (+49…)."
            raise errors.InvalidRecipient("recipient is not an E.164 number", user_message=message)
        body = {
            "id": sms.reference,  # ≤ 36 characters (spec); a UUID is exactly 36
            "textMessage": {"text": sms.text},
            "phoneNumbers": [sms.to_e164],
            "withDeliveryReport": True,
        }
        headers = {"Authorization": self.authorization(), "Accept": "application/json"}
        return base.RequestSpec("POST", "messages", headers=headers, json_body=body)

    def parse_send_response(self, response: http.HttpResponse) -> base.SendResult:
        """Read ``{id, state, recipients: [{state, error}]}``; UnexpectedResponse (ambiguous) if it is not
        that, RejectedByProvider if the recipient is already ``Failed`` (its error as provider code)."""
        data: Any = base.json_body(response)
        if not isinstance(data, dict) or not isinstance(data.get("state"), str):
            raise errors.UnexpectedResponse("not an SMS Gate message state", http_status=response.status)
        recipients = data.get("recipients")
        first = recipients[0] if isinstance(recipients, list) and recipients else {}
        first = first if isinstance(first, dict) else {}
        state = str(first.get("state") or data["state"])
        if state == "Failed":
            error = str(first.get("error") or "")[:64]
            raise errors.RejectedByProvider("recipient failed at once", provider_code=error, http_status=202)
        status = STATE_MAP.get(state, DeliveryStatus.ACCEPTED)
        return base.SendResult(gateway_message_id=str(data.get("id") or ""), status=status)

    def classify_error(self, response: http.HttpResponse) -> GatewayError:
        """409 → AlreadyAccepted; 401 credentials; 400 "No devices registered" and 503 (queue limit,
        device offline) transient; 400 naming a phone number → InvalidRecipient; else HTTP semantics."""
        status, excerpt = response.status, response.excerpt()
        text = excerpt.lower()
        details: dict[str, Any] = {"http_status": status, "excerpt": excerpt}
        if status == 409:
            return AlreadyAccepted("HTTP 409: message id exists", **details)
        if status == 401:
            return errors.AuthenticationFailed("HTTP 401", user_message=_BAD_LOGIN, **details)
        if (status == 400 and "no devices" in text) or status == 503:
            message = _NO_DEVICE if status == 400 else _PHONE_BUSY
            return errors.GatewayUnavailable(f"HTTP {status}", user_message=message, **details)
        if status == 400 and "phone" in text:
            return errors.InvalidRecipient("HTTP 400: phone number refused", **details)
        return base.classify_http_status(response)

    def verify_webhook(self, request: HttpRequest) -> None:
        webhooks.verify_webhook(request)

    def parse_dlr(self, request: HttpRequest) -> list[base.DlrEvent]:
        return webhooks.parse_dlr(request)

    def parse_mo(self, request: HttpRequest) -> list[base.MoEvent]:
        return webhooks.parse_mo(request)
