"""Twilio Programmable Messaging (REST API 2010-04-01): ``POST /2010-04-01/Accounts/{sid}/Messages.json``.

The request is form-encoded, authenticated with HTTP Basic (Account SID : Auth Token), and carries exactly
``To`` (E.164), ``Body``, the sender (``From`` and/or ``MessagingServiceSid``) and ``StatusCallback`` = our
DLR URL with our DeliveryAttempt UUID in its query: Twilio has no client reference or idempotency key on
message create, so the callback URL is the only place our id can travel. 201 answers the Message resource
(``sid``, ``status``, ``num_segments``); errors answer ``{code, message, more_info, status}`` with a Twilio
error code, mapped by ``ERROR_CODES``.

Docs (read 2026-11-30): https://www.twilio.com/docs/messaging/api/message-resource ,
https://www.twilio.com/docs/usage/twilios-response , https://www.twilio.com/docs/api/errors ; spec:
tests/data/provider-specs/twilio-api-v2010.openapi.json (twilio/twilio-oai @ d50069b4). Quirks and
setup: ``README.md`` beside this file.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from typing import Any

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging.gateways import base, errors, http
from alphasms.messaging.gateways.errors import GatewayError, GatewayMisconfigured, UnexpectedResponse
from alphasms.messaging.gateways.twilio import webhooks
from alphasms.messaging.phone import to_msisdn

_AUTH, _REJECTED, _LIMIT = errors.AuthenticationFailed, errors.RejectedByProvider, errors.RateLimited
_RECIPIENT, _SENDER = errors.InvalidRecipient, errors.SenderNotAllowed

#: Twilio error code -> (our error, sentence for staff). Each code is documented at
#: https://www.twilio.com/docs/api/errors/<code> (read 2026-11-30). Twilio warns that codes get refined over
#: time, so an unknown code falls back to HTTP semantics (``base.classify_http_status``).
ERROR_CODES: dict[str, tuple[type[GatewayError], str]] = {
    "20003": (
        _AUTH,
        "Twilio lehnt Account SID/Auth Token ab oder das Konto ist gesperrt (Einstellungen prüfen).",
    ),
    "20429": (_LIMIT, "Zu viele gleichzeitige Anfragen an Twilio; neuer Versuch folgt."),
    "20500": (errors.OutcomeUnknown, "Interner Fehler bei Twilio; unklar, ob die SMS hinausging."),
    "21211": (_RECIPIENT, "Twilio hält die Empfängernummer für ungültig."),
    "21212": (_SENDER, "Twilio hält die Absendernummer für ungültig (ALPHASMS_TWILIO_FROM prüfen)."),
    "21408": (_REJECTED, "SMS in dieses Land sind bei Twilio nicht freigeschaltet (Geo Permissions)."),
    "21606": (_SENDER, "Dieser Absender darf über das Twilio-Konto keine SMS an diese Nummer schicken."),
    "21610": (errors.RecipientOptedOut, "Der Empfänger hat SMS von diesem Absender mit STOP abbestellt."),
    "21611": (_LIMIT, "Die Warteschlange des Absenders bei Twilio ist voll; neuer Versuch folgt."),
    "21614": (_RECIPIENT, "Die Empfängernummer ist laut Twilio keine Mobilnummer."),
    "21617": (_REJECTED, "Der SMS-Text ist für Twilio zu lang (höchstens 1600 Zeichen)."),
}


class TwilioGateway(base.Gateway):
    slug = "twilio"
    display_name = "Twilio"
    docs_url = "https://www.twilio.com/docs/messaging/api/message-resource"
    supports_dlr = True  # StatusCallback per message, signed (webhooks.py)
    supports_mo = True  # replies to a Twilio number, signed (webhooks.py)
    supports_alphanumeric_sender = True  # where the destination country allows it
    max_segments = 10  # Body limit 1600 characters ≈ 10 concatenated GSM-7 segments
    # Twilio queues beyond a sender's throughput (1 segment/s for a long code) for up to 10 h, where we can
    # no longer cancel a stale reminder; pacing at that rate keeps the queue ours (DESIGN.md).
    max_requests_per_second = 1.0
    settings_spec = (  # README.md "Settings"
        base.GatewaySetting("TWILIO_ACCOUNT_SID", required=True),
        base.GatewaySetting("TWILIO_AUTH_TOKEN", required=True, secret=True),
        base.GatewaySetting("TWILIO_FROM"),
        base.GatewaySetting("TWILIO_MESSAGING_SERVICE_SID"),
        base.GatewaySetting("TWILIO_BASE_URL"),
    )

    def mo_http_response(self) -> tuple[str, str]:
        """Empty TwiML: Twilio reads our answer to an incoming SMS as instructions; this sends nothing."""
        return "text/xml", "<Response></Response>"

    def base_url(self) -> str:
        return app_settings.gateway_setting("TWILIO_BASE_URL") or "https://api.twilio.com"

    def send(self, sms: base.OutboundSms) -> base.SendResult:
        """As ``Gateway.send``; when Twilio answers ``num_segments`` "0" (a Messaging Service has not
        chosen the sender yet) the segments are our own count, ``sms.segments``."""
        result = super().send(sms)
        return result if result.segments else dataclasses.replace(result, segments=sms.segments)

    def build_send_request(self, sms: base.OutboundSms) -> base.RequestSpec:
        """Form fields ``To``, ``Body``, ``From`` (the message's sender ID, else ALPHASMS_TWILIO_FROM, else
        ALPHASMS_SMS_SENDER_ID) and/or ``MessagingServiceSid``, and ``StatusCallback``; nothing else.

        Raises InvalidRecipient (permanent) unless ``sms.to_e164`` is E.164; GatewayMisconfigured without
        credentials or without any sender. No I/O.
        """
        try:
            to_msisdn(sms.to_e164)
        except ValueError:
            message = "Die Empfängernummer ist nicht im internationalen Format (+49…)."
            raise errors.InvalidRecipient("recipient is not E.164", user_message=message) from None
        sid, token = _sid("TWILIO_ACCOUNT_SID", "AC"), webhooks.auth_token()
        service = _sid("TWILIO_MESSAGING_SERVICE_SID", "MG", required=False)
        sender = sms.sender_id or app_settings.gateway_setting("TWILIO_FROM")
        sender = sender or app_settings.gateway_setting("SMS_SENDER_ID")
        if not (sender or service):
            raise GatewayMisconfigured(
                "no Twilio sender: set ALPHASMS_TWILIO_FROM (a Twilio number or alphanumeric sender ID) "
                "or ALPHASMS_TWILIO_MESSAGING_SERVICE_SID"
            )
        form = {"To": sms.to_e164, "Body": sms.text}
        form.update({"MessagingServiceSid": service} if service else {})
        form.update({"From": sender} if sender else {})
        if callback := webhooks.status_callback_url(sms.reference):
            form["StatusCallback"] = callback
        credentials = base64.b64encode(f"{sid}:{token}".encode()).decode("ascii")
        headers = {"Authorization": f"Basic {credentials}", "Accept": "application/json"}
        return base.RequestSpec(
            "POST", f"2010-04-01/Accounts/{sid}/Messages.json", headers=headers, form=form
        )

    def parse_send_response(self, response: http.HttpResponse) -> base.SendResult:
        """``sid`` as the message id, ``status`` mapped (queued, or accepted with a Messaging Service),
        ``num_segments`` (a string; "0" or absent gives 0, filled in by ``send``). Raises
        UnexpectedResponse (ambiguous) for a body without ``sid``; its excerpt lists keys, never the text."""
        data: Any = base.json_body(response)
        sid = data.get("sid") if isinstance(data, dict) else None
        if not isinstance(sid, str) or not sid:
            keys = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise UnexpectedResponse(
                "Twilio answer without sid", http_status=response.status, excerpt=str(keys)
            )
        status = webhooks.STATUS_MAP.get(str(data.get("status")), base.DeliveryStatus.ACCEPTED)
        segments = str(data.get("num_segments") or "0")
        return base.SendResult(sid, status, int(segments) if segments.isdigit() else 0)

    def classify_error(self, response: http.HttpResponse) -> GatewayError:
        """The error for the answer's Twilio ``code`` (``ERROR_CODES``), else by HTTP status with the code
        kept as ``provider_code``. The excerpt is redacted (Twilio's messages quote the number)."""
        code = _error_code(response)
        if code not in ERROR_CODES:
            error = base.classify_http_status(response)
            error.provider_code = code
            return error
        error_class, sentence = ERROR_CODES[code]
        error = error_class(
            f"Twilio error {code}",
            user_message=sentence,
            provider_code=code,
            http_status=response.status,
            excerpt=response.excerpt(),
        )
        if isinstance(error, errors.RateLimited):
            error.retry_after_s = response.retry_after_s()
        return error

    def verify_webhook(self, request: HttpRequest) -> None:
        webhooks.verify_webhook(request)

    def parse_dlr(self, request: HttpRequest) -> list[base.DlrEvent]:
        return webhooks.parse_dlr(request)

    def parse_mo(self, request: HttpRequest) -> list[base.MoEvent]:
        return webhooks.parse_mo(request)


def _sid(name: str, prefix: str, *, required: bool = True) -> str:
    """The SID in setting ALPHASMS_<name> ("" when optional and unset). Raises GatewayMisconfigured when it
    is missing or not ``prefix`` + 32 hex digits (spec patterns): the Account SID goes into the URL path."""
    value = app_settings.gateway_setting(name)
    if (value or required) and not re.fullmatch(prefix + "[0-9a-fA-F]{32}", value):
        raise GatewayMisconfigured(
            f"ALPHASMS_{name} is missing or is not {prefix} + 32 hex digits: copy it from the Twilio "
            "Console (Account Info for AC…, Messaging > Services for MG…)"
        )
    return value


def _error_code(response: http.HttpResponse) -> str:
    """The ``code`` of a Twilio error body as a string, "" when the body is not one."""
    try:
        data: Any = base.json_body(response)
    except UnexpectedResponse:
        return ""
    code = data.get("code") if isinstance(data, dict) else None
    return str(code) if isinstance(code, int) and not isinstance(code, bool) else ""
