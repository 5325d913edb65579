"""seven.io (formerly sms77), Germany: send SMS via ``POST {SEVENIO_BASE_URL}/sms``; webhooks in webhooks.py.

The request is form-encoded (the only body type the published spec allows), authenticated by the API key in
``X-Api-Key``, and carries exactly ``to`` (E.164), ``text``, optional ``from`` (sender ID) and ``foreign_id``
(our DeliveryAttempt UUID, seven.io's client reference). seven.io answers HTTP 200 even for most errors: the
return code is the body's ``success`` string and each message's ``error``, so ``parse_send_response`` raises.

Docs (read 2026-11-30): https://docs.seven.io/en/rest-api/endpoints/sms ,
https://docs.seven.io/en/rest-api/authentication ; spec: tests/data/provider-specs/seven-io.openapi.json.
Return codes: seven-io/go-client ``client.go`` (StatusCode constants, commit e8695dd9) and seven-io/js-client
``src/lib/ErrorCode.ts`` (commit 26a65310), read 2026-11-30. Quirks and setup: ``README.md`` beside this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging.gateways import base, errors, http
from alphasms.messaging.gateways.errors import GatewayError, UnexpectedResponse
from alphasms.messaging.gateways.sevenio import webhooks

_E164 = re.compile(r"\+[1-9]\d{1,14}")  # ITU-T E.164; other text seven.io reads as a contact or group name
_ACCEPTED_CODES = {"100", "101"}  # 100: all sent; 101: sent to some recipients (we always send to one)
_AUTH, _REJECTED, _DOWN = errors.AuthenticationFailed, errors.RejectedByProvider, errors.GatewayUnavailable
_BUG = " (Programmfehler, bitte melden)."

#: seven.io return code -> (our error, sentence for staff). 402 ("reload lock") means the same text went to
#: the same number in the last 180 s, so a retry would be blocked again or, later, send a duplicate.
RETURN_CODES: dict[str, tuple[type[GatewayError], str]] = {
    "11": (_DOWN, "Der Netzbetreiber ist bei seven.io vorübergehend nicht erreichbar."),
    "201": (errors.SenderNotAllowed, "seven.io lehnt die Absenderkennung ab (max. 11 Zeichen/16 Ziffern)."),
    "202": (errors.InvalidRecipient, "seven.io hält die Empfängernummer für ungültig."),
    "300": (_AUTH, "seven.io hat keinen API-Schlüssel erhalten."),
    "301": (_REJECTED, "seven.io vermisst die Empfängernummer" + _BUG),
    "305": (_REJECTED, "seven.io vermisst den SMS-Text" + _BUG),
    "306": (errors.SenderNotAllowed, "seven.io lehnt die Absenderkennung ab."),
    "401": (_REJECTED, "Der SMS-Text ist für seven.io zu lang (höchstens 1520 Zeichen)."),
    "402": (_REJECTED, "seven.io sperrt die SMS als Duplikat (derselbe Text vor weniger als 3 Min.)."),
    "403": (errors.RateLimited, "Das Tageslimit für diese Empfängernummer im seven.io-Konto ist erreicht."),
    "500": (errors.InsufficientFunds, "Das Guthaben bei seven.io reicht nicht aus; bitte aufladen."),
    "600": (_DOWN, "Der Netzbetreiber hat die SMS bei seven.io nicht angenommen."),
    "700": (errors.OutcomeUnknown, "Unbekannter Fehler bei seven.io; unklar, ob die SMS hinausging."),
    "900": (_AUTH, "seven.io hat den API-Schlüssel abgelehnt (ALPHASMS_SEVENIO_API_KEY prüfen)."),
    "902": (_AUTH, "Dieser API-Schlüssel darf bei seven.io keine SMS senden (Rechte prüfen)."),
    "903": (_AUTH, "seven.io lässt Anfragen von der IP-Adresse dieses Servers nicht zu (IP-Freigabe)."),
}


@dataclass(frozen=True)
class SmsAnswer:
    """The parts of seven.io's ``/sms`` answer we use (spec ``components.schemas.SmsResponse``): ``code``
    is the top-level ``success`` return code ("100"); ``message_ok`` is ``messages[0].success`` (None when
    no message is listed), with its ``id``, ``error`` code, ``error_text`` and ``parts`` (segments)."""

    code: str
    message_ok: bool | None = None
    message_id: str = ""
    message_error: str = ""
    error_text: str = ""
    parts: int = 1

    @classmethod
    def parse(cls, response: http.HttpResponse) -> SmsAnswer:
        """Read the body; a bare number (``900``) is a return code. Raises UnexpectedResponse otherwise."""
        data: Any = base.json_body(response)
        if isinstance(data, int) and not isinstance(data, bool):
            return cls(code=str(data))
        if not isinstance(data, dict) or not isinstance(data.get("messages") or [], list):
            raise UnexpectedResponse("not a seven.io SMS answer", http_status=response.status)
        first = (data.get("messages") or [None])[0]
        if not isinstance(first, dict):
            return cls(code=str(data.get("success", "")))
        parts = first.get("parts")
        return cls(
            code=str(data.get("success", "")),
            message_ok=first.get("success") is True,
            message_id=str(first.get("id") or ""),
            message_error=str(first.get("error") or ""),
            error_text=str(first.get("error_text") or "")[:100],
            parts=parts if type(parts) is int and parts > 0 else 1,
        )


class SevenioGateway(base.Gateway):
    slug = "sevenio"
    display_name = "seven.io"
    docs_url = "https://docs.seven.io/en/rest-api/endpoints/sms"
    supports_dlr = True  # signed webhooks, see webhooks.py
    supports_mo = True  # event sms_mo, for inbound numbers rented from seven.io; see webhooks.py
    supports_alphanumeric_sender = True
    max_segments = 10  # text limit 1520 characters = 10 concatenated GSM-7 segments
    max_requests_per_second = 10.0  # DESIGN.md; seven.io publishes no limit (unverified)
    settings_spec = (  # README.md "Settings"
        base.GatewaySetting("SEVENIO_API_KEY", required=True, secret=True),
        base.GatewaySetting("SEVENIO_SIGNING_SECRET", secret=True),
        base.GatewaySetting("SEVENIO_BASE_URL"),
    )

    def base_url(self) -> str:
        return app_settings.gateway_setting("SEVENIO_BASE_URL") or "https://gateway.seven.io/api"

    def api_key(self) -> str:
        """The API key (setting ALPHASMS_SEVENIO_API_KEY); raises GatewayMisconfigured when it is empty."""
        key = app_settings.gateway_setting("SEVENIO_API_KEY")
        if not key:
            raise errors.GatewayMisconfigured(
                "ALPHASMS_SEVENIO_API_KEY is not set: create an API key in the seven.io login (Developer > "
                "API keys) and set ALPHASMS_SEVENIO_API_KEY or ALPHASMS_SEVENIO_API_KEY_FILE"
            )
        return key

    def build_send_request(self, sms: base.OutboundSms) -> base.RequestSpec:
        """Form fields ``to``, ``text``, ``foreign_id`` and, with a sender ID, ``from``; nothing else.

        Raises InvalidRecipient (permanent) unless ``sms.to_e164`` is E.164 (a comma would address several
        recipients, a name a contact group), GatewayMisconfigured without an API key. No I/O.
        """
        if not _E164.fullmatch(sms.to_e164):
            message = "Die Empfängernummer ist nicht im internationalen Format (+49…)."
            raise errors.InvalidRecipient("recipient is not an E.164 number", user_message=message)
        form = {"to": sms.to_e164, "text": sms.text, "foreign_id": sms.reference}
        sender = sms.sender_id or app_settings.gateway_setting("SMS_SENDER_ID")
        if sender:
            form["from"] = sender
        headers = {"X-Api-Key": self.api_key(), "Accept": "application/json"}
        return base.RequestSpec("POST", "sms", headers=headers, form=form)

    def parse_send_response(self, response: http.HttpResponse) -> base.SendResult:
        """Accepted when ``messages[0].success`` is true (or, no message listed, on code 100/101); else
        raise the error for the message's or the answer's return code, although the HTTP status was 200."""
        answer = SmsAnswer.parse(response)
        if answer.message_ok:
            return base.SendResult(gateway_message_id=answer.message_id, segments=answer.parts)
        if answer.message_ok is None and answer.code in _ACCEPTED_CODES:
            return base.SendResult(gateway_message_id="")
        raise error_for_code(answer.message_error or answer.code, response, answer)

    def classify_error(self, response: http.HttpResponse) -> GatewayError:
        """A non-2xx answer: a known seven.io return code in a 4xx body wins, else HTTP semantics."""
        if response.status < 500 and response.status != 429:
            try:
                answer = SmsAnswer.parse(response)
            except UnexpectedResponse:
                return base.classify_http_status(response)
            if (code := answer.message_error or answer.code) in RETURN_CODES:
                return error_for_code(code, response, answer)
        return base.classify_http_status(response)

    def verify_webhook(self, request: HttpRequest) -> None:
        webhooks.verify_webhook(request)

    def parse_dlr(self, request: HttpRequest) -> list[base.DlrEvent]:
        return webhooks.parse_dlr(request)

    def parse_mo(self, request: HttpRequest) -> list[base.MoEvent]:
        return webhooks.parse_mo(request)


def error_for_code(code: str, response: http.HttpResponse, answer: SmsAnswer) -> GatewayError:
    """The error for seven.io return ``code``; its excerpt holds codes only, never the echoed number or text.

    An unknown code is UnexpectedResponse (ambiguous) unless the message is marked failed, then a transient
    GatewayError (not sent, reason unknown).
    """
    excerpt = f"success={answer.code} error={answer.message_error} error_text={answer.error_text}"
    details: dict[str, Any] = {"provider_code": code, "http_status": response.status}
    details["excerpt"] = http.redact(excerpt)
    if code in RETURN_CODES:
        error_class, sentence = RETURN_CODES[code]
        return error_class(f"seven.io return code {code}", user_message=sentence, **details)
    if answer.message_ok is False:
        return GatewayError(f"seven.io did not send the message (code {code or 'none'})", **details)
    return UnexpectedResponse(f"unknown seven.io return code {code!r}", **details)
