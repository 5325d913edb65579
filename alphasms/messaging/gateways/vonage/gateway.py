"""Vonage (formerly Nexmo) SMS API: send through ``POST {VONAGE_BASE_URL}/sms/json``.

Form-encoded (the only body type the spec allows), exactly: ``api_key``, ``api_secret``, ``from``, ``to``
(MSISDN), ``text``, ``type`` (``text``/``unicode`` by our GSM-7 check), ``client-ref`` (our DeliveryAttempt
UUID: 36 of 40 characters) and ``callback`` (our DLR URL). Vonage answers HTTP 200 even for errors:
``messages[]`` has **one entry per SMS part** with ``status`` ("0" = queued) and ``message-id``; each part
gets its own DLR, which the core combines into one message status (``SendResult.part_ids``).

Docs (read 2026-11-30): https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms ,
https://developer.vonage.com/en/api-errors/sms ; spec tests/data/provider-specs/vonage-sms.openapi.yml
(Nexmo/api-specification ``definitions/sms.yml`` @ ad042003, ``x-errors``). Quirks: ``README.md``.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from alphasms.conf import app_settings
from alphasms.messaging import encoding, phone
from alphasms.messaging.gateways import base, errors, http
from alphasms.messaging.gateways.errors import GatewayError, UnexpectedResponse
from alphasms.messaging.gateways.vonage import webhooks

_AUTH, _REJECTED = errors.AuthenticationFailed, errors.RejectedByProvider
_BUG = " (Programmfehler, bitte melden)."

#: Vonage ``status`` of a part -> (our error, sentence for staff). Source: spec ``x-errors`` and the
#: troubleshooting page above (read 2026-11-30). A non-zero status means the part was not queued.
STATUS_CODES: dict[str, tuple[type[GatewayError], str]] = {
    "1": (errors.RateLimited, "Vonage bremst: das Sendelimit des Kontos ist überschritten."),
    "2": (_REJECTED, "Vonage vermisst einen Pflichtparameter" + _BUG),
    "3": (_REJECTED, "Vonage hält einen Parameter der Anfrage für ungültig" + _BUG),
    "4": (_AUTH, "Vonage hat API-Key oder Secret abgelehnt (ALPHASMS_VONAGE_API_KEY/_SECRET prüfen)."),
    "5": (errors.GatewayUnavailable, "Interner Fehler bei Vonage; die SMS wurde nicht angenommen."),
    "6": (_REJECTED, "Vonage konnte die SMS nicht verarbeiten (z. B. unbekannte Vorwahl der Nummer)."),
    "7": (errors.RecipientOptedOut, "Die Empfängernummer steht bei Vonage auf der Sperrliste."),
    "8": (_AUTH, "Das Vonage-Konto ist gesperrt; bitte den Vonage-Support kontaktieren."),
    "9": (errors.InsufficientFunds, "Das Guthaben bei Vonage reicht nicht aus; bitte aufladen."),
    "10": (errors.RateLimited, "Zu viele gleichzeitige Verbindungen zu Vonage; neuer Versuch folgt."),
    "11": (_AUTH, "Dieses Vonage-Konto ist nicht für die SMS-API (HTTP) freigeschaltet."),
    "12": (_REJECTED, "Der SMS-Text ist für Vonage zu lang."),
    "14": (_AUTH, "Vonage verlangt signierte Anfragen (Signatur ungültig); Kontoeinstellung prüfen."),
    "15": (errors.SenderNotAllowed, "Vonage lässt diese Absenderkennung nicht zu (ALPHASMS_VONAGE_FROM)."),
    "22": (_REJECTED, "Vonage lehnt den Netzbetreiber-Code ab" + _BUG),
    "23": (_REJECTED, "Vonage lehnt die Rückmelde-URL ab (ALPHASMS_PUBLIC_URL prüfen)."),
    "29": (_REJECTED, "Vonage-Konto im Testmodus: Zielnummer nicht freigegeben (Konto aufladen)."),
    "32": (_REJECTED, "Vonage: Signatur und API-Secret zugleich gesendet" + _BUG),
    "33": (errors.InvalidRecipient, "Die Empfängernummer ist laut Vonage deaktiviert."),
}


@dataclass(frozen=True)
class Part:
    """One ``messages[]`` entry (spec ``Message``/``ErrorMessage``): status code, id, error text."""

    status: str
    message_id: str = ""
    error_text: str = ""


def parse_answer(response: http.HttpResponse) -> tuple[int, tuple[Part, ...]]:
    """``(message-count or 0, one Part per SMS part)`` of a ``/sms/json`` answer; raises UnexpectedResponse
    unless the body has a non-empty ``messages`` list of objects."""
    data: Any = base.json_body(response)
    items = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise UnexpectedResponse("not a Vonage SMS answer", http_status=response.status)
    count = str(data.get("message-count") or "")
    parts = tuple(
        Part(str(i.get("status", "")), str(i.get("message-id") or ""), str(i.get("error-text") or ""))
        for i in items
    )
    return (int(count) if count.isdigit() else 0), parts


class VonageGateway(base.Gateway):
    slug = "vonage"
    display_name = "Vonage (SMS API)"
    docs_url = "https://developer.vonage.com/en/messaging/sms/overview"
    supports_dlr = True  # one signed report per part, see webhooks.py
    supports_mo = True  # inbound SMS to a rented Vonage number, signed the same way
    supports_alphanumeric_sender = True
    max_segments = 10  # Vonage publishes no hard limit (status 12 = too long); kept at our default
    max_requests_per_second = 30.0  # commonly cited account limit (unverified, reference notes §4.5)
    settings_spec = (  # README.md "Settings"
        base.GatewaySetting("VONAGE_API_KEY", required=True, secret=True),
        base.GatewaySetting("VONAGE_API_SECRET", required=True, secret=True),
        base.GatewaySetting("VONAGE_SIGNATURE_SECRET", secret=True),
        base.GatewaySetting("VONAGE_FROM"),
        base.GatewaySetting("VONAGE_BASE_URL"),
    )

    def base_url(self) -> str:
        return app_settings.gateway_setting("VONAGE_BASE_URL") or "https://rest.nexmo.com"

    def credential(self, name: str) -> str:
        """``VONAGE_API_KEY`` or ``VONAGE_API_SECRET``; raises GatewayMisconfigured naming the variable."""
        value = app_settings.gateway_setting(f"VONAGE_{name}")
        if not value:
            raise errors.GatewayMisconfigured(
                f"ALPHASMS_VONAGE_{name} is not set: copy it from the Vonage dashboard (API settings) and "
                f"set ALPHASMS_VONAGE_{name} or ALPHASMS_VONAGE_{name}_FILE"
            )
        return value

    def build_send_request(self, sms: base.OutboundSms) -> base.RequestSpec:
        """The form above, nothing else. Raises InvalidRecipient (permanent) unless ``sms.to_e164`` is
        E.164, GatewayMisconfigured without credentials or sender. No I/O."""
        try:
            msisdn = phone.to_msisdn(sms.to_e164)
        except ValueError:
            message = "Die Empfängernummer ist nicht im internationalen Format (+49…)."
            raise errors.InvalidRecipient("recipient is not E.164", user_message=message) from None
        ucs2 = encoding.analyse(sms.text).encoding == encoding.SmsEncoding.UCS2
        form = {
            "api_key": self.credential("API_KEY"),
            "api_secret": self.credential("API_SECRET"),
            "from": self.sender(sms),
            "to": msisdn,
            "text": sms.text,
            "type": "unicode" if ucs2 else "text",  # "text" would turn non-GSM characters into "?"
            "client-ref": sms.reference,
            "callback": app_settings.PUBLIC_URL.rstrip("/") + reverse("hooks:dlr", args=[self.slug]),
        }
        return base.RequestSpec("POST", "sms/json", headers={"Accept": "application/json"}, form=form)

    def sender(self, sms: base.OutboundSms) -> str:
        """The message's sender ID, else ALPHASMS_VONAGE_FROM, else ALPHASMS_SMS_SENDER_ID; a numeric sender
        loses its "+" (Vonage writes E.164 as digits). ``from`` is required: GatewayMisconfigured if none."""
        value = sms.sender_id or app_settings.gateway_setting("VONAGE_FROM") or app_settings.SMS_SENDER_ID
        if not value:
            raise errors.GatewayMisconfigured(
                "ALPHASMS_VONAGE_FROM is not set: Vonage needs a sender (alphanumeric ID or Vonage number)"
            )
        return value[1:] if re.fullmatch(r"\+\d+", value) else value

    def parse_send_response(self, response: http.HttpResponse) -> base.SendResult:
        """Accepted when every part has status "0" and an id; else the first failing part's error, although
        the HTTP status was 200 (parts before it may have gone out: see README, "Partial acceptance")."""
        count, parts = parse_answer(response)
        for index, part in enumerate(parts, 1):
            if part.status != "0":
                raise error_for_status(part, response, f"part {index}/{len(parts)}")
        ids = tuple(part.message_id for part in parts)
        if not all(ids):
            raise UnexpectedResponse("accepted part without message-id", http_status=response.status)
        return base.SendResult(gateway_message_id=ids[0], segments=count or len(ids), part_ids=ids)

    def classify_error(self, response: http.HttpResponse) -> GatewayError:
        """A non-2xx answer: a known Vonage status in a 4xx body wins, else HTTP semantics."""
        if response.status < 500 and response.status != 429:
            with contextlib.suppress(UnexpectedResponse):
                part = parse_answer(response)[1][0]
                if part.status in STATUS_CODES:
                    return error_for_status(part, response, "part 1")
        return base.classify_http_status(response)

    def verify_webhook(self, request: HttpRequest) -> None:
        webhooks.verify_webhook(request)

    def parse_dlr(self, request: HttpRequest) -> list[base.DlrEvent]:
        return webhooks.parse_dlr(request)

    def parse_mo(self, request: HttpRequest) -> list[base.MoEvent]:
        return webhooks.parse_mo(request)


def error_for_status(part: Part, response: http.HttpResponse, where: str) -> GatewayError:
    """The error for a part's non-zero ``status``; the excerpt holds the code and the redacted error text,
    never the number or SMS text. An unknown code is a transient GatewayError (not queued, reason unknown)."""
    excerpt = http.redact(f"{where} status={part.status} error-text={part.error_text[:80]}")
    details: dict[str, Any] = dict(provider_code=part.status, http_status=response.status, excerpt=excerpt)
    if part.status in STATUS_CODES:
        error_class, sentence = STATUS_CODES[part.status]
        return error_class(f"Vonage status {part.status}", user_message=sentence, **details)
    return GatewayError(f"Vonage did not queue the message (status {part.status or 'none'})", **details)
