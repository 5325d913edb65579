"""Kannel 1.4 (open-source SMS gateway, self-hosted): send through the smsbox's HTTP ``sendsms`` interface.

``GET {KANNEL_BASE_URL}/cgi-bin/sendsms`` with exactly ``username``, ``password`` (a sendsms-user group),
``to`` (E.164; Kannel's SMPP module turns a leading "+" into TON international), ``text``, ``from`` (only
with a sender ID), ``charset=UTF-8``, ``coding`` (0 = GSM 7-bit, 2 = UCS-2), ``dlr-mask=31`` (all five
report types) and ``dlr-url`` (our signed hook, see webhooks.py). Kannel answers plain text: 202
"0: Accepted for delivery" or "3: Queued for later delivery" (stored, sent when the SMSC is back); errors
as below. The answer carries no message id: reports are matched by our reference in the dlr-url.

Sources (read 2026-11-30): Kannel userguide 1.4.5, "Sending SMS" / "SMS Push (send-sms) CGI interface",
https://www.kannel.org/download/1.4.5/userguide-1.4.5/userguide.html ; answers and statuses from
gw/smsbox.c (``delayed_http_reply``, ``smsbox_req_sendsms``, ``smsbox_req_handle``), e.g. kannel mirror
vaska94/Kannel @ 31343f0c, and checked against Debian's kannel 1.4.5-12 (tests/test_kannel_live.py).
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging import encoding
from alphasms.messaging.gateways import base, errors, http
from alphasms.messaging.gateways.errors import GatewayError
from alphasms.messaging.gateways.kannel import webhooks

_E164 = re.compile(r"\+[1-9]\d{1,14}")  # a space would make Kannel send to several receivers
_SETTINGS = "ALPHASMS_KANNEL_USERNAME/_PASSWORD prüfen (sendsms-user in kannel.conf)"

#: Accepting answers (status 202): body prefix -> our status. "Sent." is the immediate-sendsms-reply mode.
ACCEPTED: dict[str, base.DeliveryStatus] = {
    "0: Accepted for delivery": base.DeliveryStatus.ACCEPTED,
    "3: Queued for later delivery": base.DeliveryStatus.QUEUED,
    "Sent.": base.DeliveryStatus.ACCEPTED,
}

#: Error answers: (HTTP status, body prefix) -> (error, German sentence for staff). gw/smsbox.c.
ANSWERS: dict[tuple[int, str], tuple[type[GatewayError], str]] = {
    (403, "Authorization failed"): (
        errors.AuthenticationFailed,
        f"Kannel lehnt die Zugangsdaten ab ({_SETTINGS}).",
    ),
    (403, "Not routable"): (errors.RejectedByProvider, "Kannel hat keine SMSC-Route für diese Nachricht."),
    (503, "Temporal failure"): (
        errors.GatewayUnavailable,
        "Kannel kann gerade nicht senden; neuer Versuch folgt.",
    ),
    (400, "Missing receiver"): (
        errors.RejectedByProvider,
        "Kannel vermisst die Empfängernummer (Programmfehler).",
    ),
    (400, "Empty receiver"): (
        errors.RejectedByProvider,
        "Kannel vermisst die Empfängernummer (Programmfehler).",
    ),
    (400, "Number(s) has/have been denied"): (
        errors.RejectedByProvider,
        "Kannel sperrt diese Nummer (white/black list oder allowed/denied-prefix in kannel.conf).",
    ),
    (400, "Sender missing"): (
        errors.SenderNotAllowed,
        "Kannel braucht eine Absenderkennung: ALPHASMS_SMS_SENDER_ID oder default-sender setzen.",
    ),
    (400, "Charset or body misformed"): (errors.RejectedByProvider, "Kannel kann den Text nicht umkodieren."),
}


class KannelGateway(base.Gateway):
    slug = "kannel"
    display_name = "Kannel"
    docs_url = "https://www.kannel.org/download/1.4.5/userguide-1.4.5/userguide.html"
    supports_dlr = True  # dlr-url with a signed reference, see webhooks.py
    supports_mo = False  # Kannel cannot authenticate an MO get-url beyond a URL secret (README)
    supports_alphanumeric_sender = True  # passed on; whether the SMSC behind Kannel accepts it varies
    max_segments = 10
    max_requests_per_second = 50.0  # the smsbox takes hundreds/s; the SMSC's throughput is set in kannel.conf
    settings_spec = (  # README.md "Settings"
        base.GatewaySetting("KANNEL_BASE_URL", required=True),
        base.GatewaySetting("KANNEL_USERNAME", required=True),
        base.GatewaySetting("KANNEL_PASSWORD", required=True, secret=True),
        base.GatewaySetting("KANNEL_DLR_SECRET", required=True, secret=True),
    )

    def base_url(self) -> str:
        """The smsbox's sendsms root, e.g. ``http://127.0.0.1:13013`` (KANNEL_BASE_URL, required)."""
        return self._required("KANNEL_BASE_URL", "the smsbox's sendsms URL, e.g. http://127.0.0.1:13013")

    def build_send_request(self, sms: base.OutboundSms) -> base.RequestSpec:
        """The sendsms GET described in the module docstring; nothing else leaves (DESIGN.md invariant 6).

        Raises InvalidRecipient (permanent) unless ``to_e164`` is E.164, GatewayMisconfigured when a
        setting is missing. No I/O.
        """
        if not _E164.fullmatch(sms.to_e164):
            message = "Die Empfängernummer ist nicht im internationalen Format (+49…)."
            raise errors.InvalidRecipient("recipient is not an E.164 number", user_message=message)
        params = {
            "username": self._required("KANNEL_USERNAME", "the username of a sendsms-user group"),
            "password": self._required("KANNEL_PASSWORD", "the password of that sendsms-user group"),
            "to": sms.to_e164,
            "text": sms.text,
            "charset": "UTF-8",
            "coding": "0" if encoding.is_gsm7(sms.text) else "2",  # Kannel: 0 = 7 bit, 2 = UCS-2
            "dlr-mask": "31",
            "dlr-url": webhooks.dlr_url(sms.reference),
        }
        sender = sms.sender_id or app_settings.gateway_setting("SMS_SENDER_ID")
        if sender:
            params["from"] = sender
        return base.RequestSpec("GET", "cgi-bin/sendsms?" + urllib.parse.urlencode(params))

    def send(self, sms: base.OutboundSms) -> base.SendResult:
        """As ``Gateway.send``; Kannel does not report parts, so segments are our own count."""
        result = super().send(sms)
        return dataclasses.replace(result, segments=max(result.segments, sms.segments))

    def parse_send_response(self, response: http.HttpResponse) -> base.SendResult:
        """A 2xx answer: "0: Accepted…" -> accepted, "3: Queued…" -> queued; "Message splits: N" is read when
        present. Any other 2xx body raises UnexpectedResponse (ambiguous: it may have been taken)."""
        text = response.body.decode("utf-8", "replace").strip()
        for prefix, status in ACCEPTED.items():
            if text.startswith(prefix):
                splits = re.search(r"Message splits: (\d+)", text)
                return base.SendResult("", status=status, segments=int(splits.group(1)) if splits else 1)
        raise errors.UnexpectedResponse(
            "not a Kannel sendsms answer", http_status=response.status, excerpt=response.excerpt()
        )

    def classify_error(self, response: http.HttpResponse) -> GatewayError:
        """Kannel's answers from ANSWERS by status and body prefix; anything else by HTTP semantics."""
        text = response.body.decode("utf-8", "replace").strip()
        for (status, prefix), (error_class, sentence) in ANSWERS.items():
            if response.status == status and text.startswith(prefix):
                return error_class(
                    f"Kannel: {prefix}",
                    user_message=sentence,
                    provider_code=prefix,
                    http_status=status,
                    excerpt=response.excerpt(),
                )
        return base.classify_http_status(response)

    def verify_webhook(self, request: HttpRequest) -> None:
        webhooks.verify_webhook(request)

    def parse_dlr(self, request: HttpRequest) -> list[base.DlrEvent]:
        return webhooks.parse_dlr(request)

    @staticmethod
    def _required(name: str, what: str) -> str:
        value = app_settings.gateway_setting(name)
        if not value:
            raise errors.GatewayMisconfigured(
                f"ALPHASMS_{name} is not set: {what} (or ALPHASMS_{name}_FILE for a secret)"
            )
        return value
