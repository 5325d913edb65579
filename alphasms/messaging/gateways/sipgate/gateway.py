"""sipgate (Germany), sipgate.io REST API v2: send SMS via ``POST {SIPGATE_BASE_URL}/sessions/sms``.

JSON body with exactly ``smsId`` (the account's Web SMS extension, e.g. "s0": SIPGATE_SMS_ID),
``recipient`` (E.164) and ``message``; HTTP Basic with a personal access token (SIPGATE_TOKEN_ID as user,
SIPGATE_TOKEN as password; the token needs the ``sessions:sms:write`` scope). sipgate answers **204 No
Content: no message id, no segment count**.

Zustellberichte: sipgate liefert keine; der Status bleibt „gesendet“. sipgate.io webhooks cover calls, not
SMS delivery, so ``supports_dlr`` is False and the attempt's final known state is ``sent`` (never
``delivered``; shared/reference/sms-providers.md §6.1). Sender: sipgate sends as "sipgate" or as a mobile
number whose ownership was verified in the sipgate app (set per smsId there, not per request): no
alphanumeric sender, and ``OutboundSms.sender_id`` is not sent. No client reference or idempotency key
exists, so our reference does not leave either.

Sources (read 2026-11-30): https://api.sipgate.com/v2/doc#/sessions/sendWebSms (Swagger UI; the spec is
served live only); sipgate-io/sipgateio-sendsms-python README.md @ 012db54a (request, sender, smsId, HTTP
error table); shared/reference/sms-providers.md §4.2.
"""

from __future__ import annotations

import base64
import re

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging.gateways import base, errors, http
from alphasms.messaging.gateways.errors import GatewayError

_E164 = re.compile(r"\+[1-9]\d{1,14}")
_TOKEN = "ALPHASMS_SIPGATE_TOKEN_ID/_TOKEN prüfen"

#: HTTP status -> (our error, sentence for staff); sipgateio-sendsms-python README "HTTP Errors". 500 is also
#: sipgate's answer to some bad requests ("smsId not set"), but as a 5xx after sending it stays ambiguous.
ANSWERS: dict[int, tuple[type[GatewayError], str]] = {
    400: (errors.RejectedByProvider, "sipgate lehnt die Anfrage ab (Empfängernummer oder Text ungültig)."),
    401: (errors.AuthenticationFailed, f"sipgate lehnt den Zugangs-Token ab ({_TOKEN})."),
    402: (errors.InsufficientFunds, "Das Guthaben bei sipgate reicht nicht aus; bitte aufladen."),
    403: (
        errors.AuthenticationFailed,
        "sipgate verweigert den SMS-Versand: Web-SMS nicht gebucht, Token ohne SMS-Recht oder falsche "
        "ALPHASMS_SIPGATE_SMS_ID.",
    ),
    404: (errors.RejectedByProvider, "sipgate kennt die Adresse nicht (ALPHASMS_SIPGATE_BASE_URL prüfen)."),
    415: (errors.RejectedByProvider, "sipgate lehnt das Anfrageformat ab (Programmfehler)."),
}


class SipgateGateway(base.Gateway):
    slug = "sipgate"
    display_name = "sipgate"
    docs_url = "https://api.sipgate.com/v2/doc#/sessions/sendWebSms"
    supports_dlr = False  # sipgate sends no delivery reports: the status stays "sent"
    supports_mo = False  # inbound SMS are not offered as webhooks
    supports_alphanumeric_sender = False  # "sipgate" or a verified own number, configured in the app
    max_segments = 10  # not documented (unverified); a reminder needs 1–2
    max_requests_per_second = 1.0  # no published limit (unverified); sipgate is a telephony API, be gentle
    settings_spec = (  # README.md "Settings"
        base.GatewaySetting("SIPGATE_TOKEN_ID", required=True),
        base.GatewaySetting("SIPGATE_TOKEN", required=True, secret=True),
        base.GatewaySetting("SIPGATE_SMS_ID", required=True),
        base.GatewaySetting("SIPGATE_BASE_URL"),
    )

    def base_url(self) -> str:
        return app_settings.gateway_setting("SIPGATE_BASE_URL") or "https://api.sipgate.com/v2"

    def build_send_request(self, sms: base.OutboundSms) -> base.RequestSpec:
        """The JSON request of the module docstring; nothing else leaves (DESIGN.md invariant 6).

        Raises InvalidRecipient (permanent) unless ``to_e164`` is E.164, GatewayMisconfigured when a
        setting is missing. No I/O.
        """
        if not _E164.fullmatch(sms.to_e164):
            message = "Die Empfängernummer ist nicht im internationalen Format (+49…)."
            raise errors.InvalidRecipient("recipient is not an E.164 number", user_message=message)
        token_id = _required(
            "SIPGATE_TOKEN_ID", "the ID of a personal access token (scope sessions:sms:write)"
        )
        token = _required("SIPGATE_TOKEN", "the personal access token itself")
        sms_id = _required("SIPGATE_SMS_ID", 'the Web SMS extension, e.g. "s0" (app.sipgate.com → SMS)')
        credentials = base64.b64encode(f"{token_id}:{token}".encode()).decode("ascii")
        headers = {"Authorization": f"Basic {credentials}", "Accept": "application/json"}
        body = {"smsId": sms_id, "recipient": sms.to_e164, "message": sms.text}
        return base.RequestSpec("POST", "sessions/sms", headers=headers, json_body=body)

    def send(self, sms: base.OutboundSms) -> base.SendResult:
        """As ``Gateway.send``; sipgate reports no parts, so segments are our own count."""
        result = super().send(sms)
        return base.SendResult("", status=result.status, segments=max(sms.segments, 1))

    def parse_send_response(self, response: http.HttpResponse) -> base.SendResult:
        """Any 2xx (documented: 204, empty) is ``sent`` with no message id: the final state we can know."""
        return base.SendResult("", status=base.DeliveryStatus.SENT)

    def classify_error(self, response: http.HttpResponse) -> GatewayError:
        """ANSWERS by HTTP status; 429, 5xx and anything else by HTTP semantics (503 retry, 500 ambiguous)."""
        if response.status not in ANSWERS:
            return base.classify_http_status(response)
        error_class, sentence = ANSWERS[response.status]
        return error_class(
            f"sipgate HTTP {response.status}",
            user_message=sentence,
            provider_code=str(response.status),
            http_status=response.status,
            excerpt=response.excerpt(),
        )

    def verify_webhook(self, request: HttpRequest) -> None:
        """sipgate sends no SMS webhooks, so nothing can be authentic (the view answers 404 before this)."""
        raise errors.WebhookForged("sipgate sends no SMS webhooks")


def _required(name: str, what: str) -> str:
    value = app_settings.gateway_setting(name)
    if not value:
        raise errors.GatewayMisconfigured(
            f"ALPHASMS_{name} is not set: {what} (secrets also as ALPHASMS_{name}_FILE)"
        )
    return value
