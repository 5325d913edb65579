"""GTX Messaging (Message Mobile GmbH, Ludwigshafen): ``POST {GTX_BASE_URL}/smsc/sendsms/{auth-key}/json``.

Form body (the documented default ``application/x-www-form-urlencoded``) with exactly ``from`` (sender ID;
mandatory at GTX), ``to`` (MSISDN: international digits without "+"), ``text``, ``coding=3`` (UCS-2) only
when the text is not GSM-7 (without it GTX replaces other characters with "?"), ``dlr-mask=3`` and
``dlr-url`` (our signed hook, webhooks.py). The API key sits in the URL **path**: it is passed on as
``RequestSpec.secrets``, so it is masked in urllib3's log lines and scrubbed from every error.
GTX answers ``{"message-count", "message-status": "OK", "message-id"}``; anything else on a 2xx is
ambiguous. Texts longer than one part go as one request; GTX concatenates (segments: our count, or
``message-count`` when larger).

Sources (read 2026-11-30): GTX REST API manual https://www.gtx-messaging.com/en/api-docs/rest-api/ (endpoint,
path parameters, format, methods, content types, ``from``); parameter list (``dlr-mask``, ``dlr-url``,
``coding`` 1/2/3) and answer fields as quoted in Thomas-Gelf/icingaweb2-module-sendsms @ b5714938
``library/Sendsms/Provider/GtxMessaging.php``; ``message-status`` "OK" / ``message-id`` as read by a
WordPress SMS plugin's ``GtxMessagingProvider.php`` (itself marked untested); legacy HTTP API
https://www.gtx-messaging.com/en/api-docs/http/ ("to … international format without +");
shared/reference/sms-providers.md §4.7. Error statuses are not documented: README "Assumed".
"""

from __future__ import annotations

import dataclasses
import urllib.parse

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging import encoding
from alphasms.messaging.gateways import base, errors, http
from alphasms.messaging.gateways.errors import GatewayError
from alphasms.messaging.gateways.gtx import webhooks
from alphasms.messaging.phone import to_msisdn

#: dlr-mask: 1 "Delivered to phone" + 2 "Non-Delivered to phone"; GTX then also reports 34 (expired) and
#: 66 (unknown), which carry bit 2 (GTX manual's example "3 = DELIVRD, UNDELIV and EXPIRED").
DLR_MASK = "3"

#: HTTP status -> (our error, sentence for staff). GTX documents no error codes (README "Assumed"); other
#: statuses follow HTTP semantics (``base.classify_http_status``).
HTTP_STATUSES: dict[int, tuple[type[GatewayError], str]] = {
    400: (
        errors.RejectedByProvider,
        "GTX hat die SMS abgelehnt (Absender, Empfängernummer oder Text ungültig).",
    ),
    401: (errors.AuthenticationFailed, "GTX lehnt den API-Schlüssel ab (ALPHASMS_GTX_AUTH_KEY prüfen)."),
    402: (errors.InsufficientFunds, "Das Guthaben bei GTX reicht nicht aus."),
    403: (
        errors.AuthenticationFailed,
        "GTX verweigert den Zugang mit diesem API-Schlüssel (ALPHASMS_GTX_AUTH_KEY und Konto prüfen).",
    ),
    429: (errors.RateLimited, "GTX bremst den Versand; neuer Versuch folgt."),
    500: (errors.OutcomeUnknown, "Interner Fehler bei GTX; unklar, ob die SMS hinausging."),
    503: (errors.GatewayUnavailable, "GTX ist vorübergehend nicht erreichbar; neuer Versuch folgt."),
}


class GtxGateway(base.Gateway):
    slug = "gtx"
    display_name = "GTX Messaging"
    docs_url = "https://www.gtx-messaging.com/en/api-docs/rest-api/"
    supports_dlr = True  # dlr-url per message, signed by us (webhooks.py)
    supports_mo = False  # inbound SMS are not part of the REST API (README "Antworten")
    supports_alphanumeric_sender = True  # "alphanumeric up to 11 chars" (manual, ``from``)
    max_segments = 10
    max_requests_per_second = 10.0  # not published (unverified); 429 tells us when to slow down
    settings_spec = (  # README.md "Settings"
        base.GatewaySetting("GTX_AUTH_KEY", required=True, secret=True),
        base.GatewaySetting("GTX_DLR_SECRET", required=True, secret=True),
        base.GatewaySetting("GTX_BASE_URL"),
    )

    def base_url(self) -> str:
        return app_settings.gateway_setting("GTX_BASE_URL") or "https://rest.gtx-messaging.net"

    def build_send_request(self, sms: base.OutboundSms) -> base.RequestSpec:
        """The form POST described in the module docstring; nothing else leaves (DESIGN.md invariant 6).

        Raises InvalidRecipient (permanent) unless ``to_e164`` is E.164; GatewayMisconfigured without
        GTX_AUTH_KEY, GTX_DLR_SECRET or a sender ID. No I/O.
        """
        try:
            msisdn = to_msisdn(sms.to_e164)
        except ValueError:
            message = "Die Empfängernummer ist nicht im internationalen Format (+49…)."
            raise errors.InvalidRecipient("recipient is not E.164", user_message=message) from None
        key = self._auth_key()
        sender = sms.sender_id or app_settings.gateway_setting("SMS_SENDER_ID")
        if not sender:
            raise errors.GatewayMisconfigured(
                "ALPHASMS_SMS_SENDER_ID is not set: GTX requires a sender (from), e.g. the practice name "
                "(≤ 11 letters/digits) or a number in international format"
            )
        form = {"from": sender, "to": msisdn, "text": sms.text}
        if not encoding.is_gsm7(sms.text):
            form["coding"] = "3"  # GTX: 1 = 7 bit, 2 = 8 bit, 3 = UCS-2
        form["dlr-mask"] = DLR_MASK
        form["dlr-url"] = webhooks.dlr_url(sms.reference)
        quoted = urllib.parse.quote(key, safe="")
        return base.RequestSpec(
            "POST",
            f"smsc/sendsms/{quoted}/json",
            headers={"Accept": "application/json"},
            form=form,
            secrets=(key, quoted),
        )

    def send(self, sms: base.OutboundSms) -> base.SendResult:
        """As ``Gateway.send``; segments are our own count unless GTX reports more."""
        result = super().send(sms)
        return dataclasses.replace(result, segments=max(result.segments, sms.segments, 1))

    def parse_send_response(self, response: http.HttpResponse) -> base.SendResult:
        """``message-status`` "OK" -> accepted with ``message-id`` and ``message-count`` (segments). Any
        other 2xx body raises UnexpectedResponse (ambiguous: GTX may have taken the message)."""
        data = base.json_body(response)
        status = str(data.get("message-status", "")) if isinstance(data, dict) else ""
        if status.upper() != "OK":
            raise errors.UnexpectedResponse(
                "not a GTX acceptance (message-status is not OK)",
                provider_code=status[:64],
                http_status=response.status,
                excerpt=response.excerpt(),
            )
        message_id = data.get("message-id")
        if isinstance(message_id, list):  # not documented; a list would name the parts
            message_id = message_id[0] if message_id else ""
        count = str(data.get("message-count", ""))
        return base.SendResult(
            gateway_message_id=str(message_id or ""), segments=int(count) if count.isdigit() else 1
        )

    def classify_error(self, response: http.HttpResponse) -> GatewayError:
        """HTTP_STATUSES with a GTX sentence for staff; anything else by HTTP semantics."""
        if response.status not in HTTP_STATUSES:
            return base.classify_http_status(response)
        error_class, sentence = HTTP_STATUSES[response.status]
        details = {"user_message": sentence, "http_status": response.status, "excerpt": response.excerpt()}
        if error_class is errors.RateLimited:
            return errors.RateLimited("GTX: HTTP 429", retry_after_s=response.retry_after_s(), **details)
        return error_class(f"GTX: HTTP {response.status}", **details)  # type: ignore[arg-type]

    def verify_webhook(self, request: HttpRequest) -> None:
        webhooks.verify_webhook(request)

    def parse_dlr(self, request: HttpRequest) -> list[base.DlrEvent]:
        return webhooks.parse_dlr(request)

    @staticmethod
    def _auth_key() -> str:
        key = app_settings.gateway_setting("GTX_AUTH_KEY")
        if not key:
            raise errors.GatewayMisconfigured(
                "ALPHASMS_GTX_AUTH_KEY is not set: the API key from the GTX dashboard "
                "(or ALPHASMS_GTX_AUTH_KEY_FILE for a file holding it)"
            )
        return key
