"""LINK Mobility websms (Austria/Germany), Messaging API 1.0.0: ``POST {WEBSMS_BASE_URL}/smsmessaging/text``.

JSON body with exactly ``recipientAddressList`` (one MSISDN string: E.164 digits without "+"),
``messageContent``, ``maxSmsPerMessage`` (our segment count, capped at ``max_segments``: without it websms
may refuse a two-part text with 4026), ``clientMessageId`` (our DeliveryAttempt UUID, echoed in reports),
``notificationCallbackUrl`` (our signed DLR hook, webhooks.py) and, with a sender ID, ``senderAddress`` plus
``senderAddressType``. Auth: ``Authorization: Bearer WEBSMS_TOKEN`` (API token from the websms portal) or,
without a token, HTTP Basic WEBSMS_USERNAME/WEBSMS_PASSWORD. websms answers
``{statusCode, statusMessage, transferId, clientMessageId, smsCount}``; ``statusCode`` 2000 (sent) and
2001 (queued) accept, every other code is an error even when the HTTP status is 200.

Sources (read 2026-11-30): https://developer.linkmobility.eu/sms-api/rest-api (API doc, linked by the
client below); AMANDA-Technology/WebSmsNet (unofficial C# client of Messaging API 1.0.0) @ 28fc503a:
``Models/TextSmsSendRequest.cs``, ``SmsSendRequest.cs``, ``MessageSendResponse.cs``,
``Enums/WebSmsStatusCode.cs``; base URL https://api.linkmobility.eu/rest (d3datadevelopment/
linkmobility-php-client ``Url.php``); shared/reference/sms-providers.md §4.3.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging.gateways import base, errors, http
from alphasms.messaging.gateways.errors import GatewayError
from alphasms.messaging.gateways.websms import webhooks
from alphasms.messaging.phone import to_msisdn

_AUTH, _REJECTED, _BUG = errors.AuthenticationFailed, errors.RejectedByProvider, " (Programmfehler)."
#: Accepting statusCodes: 2000 "Request accepted, Message(s) sent", 2001 "… Message(s) queued".
ACCEPTED: dict[int, base.DeliveryStatus] = {
    2000: base.DeliveryStatus.ACCEPTED,
    2001: base.DeliveryStatus.QUEUED,
}

#: websms statusCode -> (our error, sentence for staff). WebSmsNet ``WebSmsStatusCode.cs`` (descriptions
#: from the API doc). Note: 4023 is the rate limit, 4022 "access denied".
STATUS_CODES: dict[int, tuple[type[GatewayError], str]] = {
    4001: (_AUTH, "websms lehnt die Zugangsdaten ab (ALPHASMS_WEBSMS_TOKEN prüfen; Konto aktiv?)."),
    4002: (errors.InvalidRecipient, "websms hält die Empfängernummer für ungültig."),
    4003: (errors.SenderNotAllowed, "Die Absenderkennung ist im websms-Konto nicht freigeschaltet."),
    4004: (_REJECTED, "websms: ungültiger messageType" + _BUG),
    4008: (_REJECTED, "websms: ungültige clientMessageId" + _BUG),
    4009: (_REJECTED, "websms lehnt den SMS-Text ab."),
    4013: (errors.InsufficientFunds, "Das Nachrichtenkontingent bei websms ist aufgebraucht."),
    4014: (_AUTH, "websms lässt Anfragen von der IP-Adresse dieses Servers nicht zu (IP-Freigabe)."),
    4015: (_REJECTED, "websms: ungültige Priorität" + _BUG),
    4016: (_REJECTED, "websms lehnt die Rückmelde-Adresse ab (ALPHASMS_PUBLIC_URL prüfen)."),
    4019: (_REJECTED, "websms vermisst einen Pflichtparameter" + _BUG),
    4021: (_AUTH, "Das websms-Konto ist ungültig."),
    4022: (_AUTH, "websms verweigert den API-Zugang für dieses Konto."),
    4023: (errors.RateLimited, "websms bremst Anfragen von diesem Server; neuer Versuch folgt."),
    4025: (_REJECTED, "websms: zu viele Empfänger" + _BUG),
    4026: (_REJECTED, "Der Text ergibt mehr SMS-Teile, als websms erlaubt."),
    4027: (_REJECTED, "websms lehnt einen Teil des SMS-Textes ab."),
    4029: (_REJECTED, "websms erlaubt diese Empfängernummer für dieses Konto nicht."),
    4031: (errors.RecipientOptedOut, "Die Empfängernummer steht bei websms auf der Sperrliste."),
    4035: (_REJECTED, "Dieses websms-Konto darf keine SMS senden."),
    4040: (_REJECTED, "websms: ungültige contentCategory" + _BUG),
    4041: (_REJECTED, "websms: ungültige Gültigkeitsdauer" + _BUG),
    4042: (_REJECTED, "websms blockiert die Nummer (Qualitätsbewertung)."),
    4043: (_REJECTED, "websms blockiert die Nachricht (Spam-Prüfung)."),
    5000: (errors.OutcomeUnknown, "Interner Fehler bei websms; unklar, ob die SMS hinausging."),
    5003: (errors.GatewayUnavailable, "websms ist vorübergehend nicht verfügbar; neuer Versuch folgt."),
}


class WebsmsGateway(base.Gateway):
    slug = "websms"
    display_name = "LINK Mobility websms"
    docs_url = "https://developer.linkmobility.eu/sms-api/rest-api"
    supports_dlr = True  # notificationCallbackUrl per message, signed by us (webhooks.py)
    supports_mo = False  # MO goes to an account-wide URL websms cannot sign (README "Antworten")
    supports_alphanumeric_sender = True  # senderAddressType alphanumeric, if enabled on the account
    max_segments = 10
    max_requests_per_second = 10.0  # not published (unverified); 4023 tells us when to slow down
    settings_spec = (  # README.md "Settings"
        base.GatewaySetting("WEBSMS_TOKEN", secret=True),
        base.GatewaySetting("WEBSMS_USERNAME"),
        base.GatewaySetting("WEBSMS_PASSWORD", secret=True),
        base.GatewaySetting("WEBSMS_DLR_SECRET", required=True, secret=True),
        base.GatewaySetting("WEBSMS_BASE_URL"),
    )

    def dlr_http_response(self) -> tuple[str, str]:
        """websms expects a JSON acknowledgement of each report (statusCode 2000)."""
        return "application/json", '{"statusCode":2000,"statusMessage":"ok"}'

    def base_url(self) -> str:
        return app_settings.gateway_setting("WEBSMS_BASE_URL") or "https://api.linkmobility.eu/rest"

    def build_send_request(self, sms: base.OutboundSms) -> base.RequestSpec:
        """The JSON request described in the module docstring; nothing else leaves (DESIGN.md invariant 6).

        Raises InvalidRecipient (permanent) unless ``to_e164`` is E.164, GatewayMisconfigured without
        credentials or DLR secret. No I/O.
        """
        try:
            msisdn = to_msisdn(sms.to_e164)
        except ValueError:
            message = "Die Empfängernummer ist nicht im internationalen Format (+43…/+49…)."
            raise errors.InvalidRecipient("recipient is not E.164", user_message=message) from None
        body: dict[str, Any] = {
            "recipientAddressList": [msisdn],
            "messageContent": sms.text,
            "maxSmsPerMessage": min(max(sms.segments, 1), self.max_segments),
            "clientMessageId": sms.reference,
            "notificationCallbackUrl": webhooks.callback_url(sms.reference),
        }
        if sender := sms.sender_id or app_settings.gateway_setting("SMS_SENDER_ID"):
            body["senderAddress"], body["senderAddressType"] = sender_address(sender)
        headers = {"Authorization": self._authorization(), "Accept": "application/json"}
        return base.RequestSpec("POST", "smsmessaging/text", headers=headers, json_body=body)

    def parse_send_response(self, response: http.HttpResponse) -> base.SendResult:
        """statusCode 2000 -> accepted, 2001 -> queued, with ``transferId`` and ``smsCount`` (segments);
        another code raises its error; a body without statusCode raises UnexpectedResponse (ambiguous)."""
        data, code = _answer(response)
        if code in ACCEPTED:
            segments = data.get("smsCount")
            return base.SendResult(
                gateway_message_id=str(data.get("transferId") or ""),
                status=ACCEPTED[code],
                segments=segments if type(segments) is int and segments > 0 else 1,
            )
        raise error_for_code(code, data, response)

    def classify_error(self, response: http.HttpResponse) -> GatewayError:
        """A websms statusCode in the body wins; otherwise HTTP semantics (base.classify_http_status)."""
        try:
            data, code = _answer(response)
        except errors.UnexpectedResponse:
            return base.classify_http_status(response)
        if code in STATUS_CODES:
            return error_for_code(code, data, response)
        return base.classify_http_status(response)

    def verify_webhook(self, request: HttpRequest) -> None:
        webhooks.verify_webhook(request)

    def parse_dlr(self, request: HttpRequest) -> list[base.DlrEvent]:
        return webhooks.parse_dlr(request)

    def parse_mo(self, request: HttpRequest) -> list[base.MoEvent]:
        return webhooks.parse_mo(request)

    def _authorization(self) -> str:
        if token := app_settings.gateway_setting("WEBSMS_TOKEN"):
            return f"Bearer {token}"
        user, password = (app_settings.gateway_setting(f"WEBSMS_{n}") for n in ("USERNAME", "PASSWORD"))
        if not (user and password):
            raise errors.GatewayMisconfigured(
                "ALPHASMS_WEBSMS_TOKEN is not set: create an API token in the websms portal (or set "
                "ALPHASMS_WEBSMS_USERNAME and ALPHASMS_WEBSMS_PASSWORD; secrets also as …_FILE)"
            )
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def sender_address(sender: str) -> tuple[str, str]:
    """(senderAddress, senderAddressType): "+43…" -> international digits, "0…" -> national, up to 6
    digits -> shortcode, other digits -> international, anything with a letter -> alphanumeric."""
    if re.fullmatch(r"\+?\d+", sender):
        digits = sender.lstrip("+")
        if sender.startswith("0"):
            return sender, "national"
        return digits, "shortcode" if len(digits) <= 6 and not sender.startswith("+") else "international"
    return sender, "alphanumeric"


def _answer(response: http.HttpResponse) -> tuple[dict[str, Any], int]:
    data = base.json_body(response)
    code = data.get("statusCode") if isinstance(data, dict) else None
    if type(code) is not int:
        raise errors.UnexpectedResponse(
            "not a websms answer (no statusCode)", http_status=response.status, excerpt=response.excerpt()
        )
    return data, code


def error_for_code(code: int, data: dict[str, Any], response: http.HttpResponse) -> GatewayError:
    """The error for websms ``statusCode``; unknown 4xxx are rejections, unknown others ambiguous."""
    excerpt = http.redact(f"statusCode={code} statusMessage={str(data.get('statusMessage') or '')[:100]}")
    details: dict[str, Any] = {"provider_code": str(code), "http_status": response.status, "excerpt": excerpt}
    if code in STATUS_CODES:
        error_class, sentence = STATUS_CODES[code]
        if error_class is errors.RateLimited:
            return errors.RateLimited(
                f"websms {code}", retry_after_s=response.retry_after_s(), user_message=sentence, **details
            )
        return error_class(f"websms statusCode {code}", user_message=sentence, **details)
    if 4000 <= code < 5000:
        return errors.RejectedByProvider(f"unknown websms statusCode {code}", **details)
    return errors.UnexpectedResponse(f"unknown websms statusCode {code}", **details)
