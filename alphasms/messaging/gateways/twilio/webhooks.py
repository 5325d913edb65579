"""Twilio webhooks: verify ``X-Twilio-Signature``, map status callbacks (DLR) and inbound SMS (MO).

Signature (https://www.twilio.com/docs/usage/webhooks/webhooks-security, read 2026-11-30; same algorithm as
twilio/twilio-python ``twilio/request_validator.py`` @ dd225d4f): base64 HMAC-SHA1, keyed with the account's
Auth Token, of the full URL Twilio called followed by every POST parameter sorted by name (values of a
repeated name sorted too), each as ``name + value`` without separators. The URL is rebuilt from our
``PUBLIC_URL`` (authoritative behind a proxy, where Django's own view of scheme and host is unreliable) plus
``request.get_full_path()``. Twilio signs some URLs with and some without the default port, so both are
accepted, as twilio-python does. The scheme has no timestamp, so there is no replay window: a replayed
callback is one report again, stored once (DESIGN.md invariant 4; reliability-security-privacy.md §1.4).

Twilio echoes no client reference: our DeliveryAttempt UUID travels in the ``StatusCallback`` URL's query
(``?ref=<uuid>``), which the signature covers. Callbacks are ``application/x-www-form-urlencoded`` POSTs with
``MessageSid``, ``MessageStatus``, ``ErrorCode`` (failed/undelivered), ``To``, ``From``, ``AccountSid``,
``ApiVersion``, ``SmsSid``, ``SmsStatus``; Twilio may add parameters without notice (all are signed).
https://www.twilio.com/docs/messaging/guides/track-outbound-message-status (read 2026-11-30).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import urllib.parse

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging.gateways.base import DeliveryStatus, DlrEvent, MoEvent
from alphasms.messaging.gateways.errors import GatewayMisconfigured, WebhookForged
from alphasms.messaging.phone import to_msisdn

log = logging.getLogger("alphasms.webhooks.twilio")

DLR_PATH = "/hooks/twilio/dlr/"
_S = DeliveryStatus

#: Twilio ``MessageStatus`` (spec ``message_enum_status``) -> ours. Meanings:
#: https://www.twilio.com/docs/messaging/api/message-resource#message-status-values (read 2026-11-30);
#: buckets as in shared/reference/sms-providers.md §6.1.
STATUS_MAP: dict[str, DeliveryStatus] = {
    "accepted": _S.ACCEPTED,  # a Messaging Service took the request, sender not chosen yet
    "scheduled": _S.ACCEPTED,  # waits for SendAt (we never schedule)
    "queued": _S.QUEUED,  # waits in Twilio's per-sender queue
    "sending": _S.QUEUED,  # being handed to the carrier
    "sent": _S.SENT,  # the carrier accepted it, no handset receipt yet
    "delivered": _S.DELIVERED,
    "read": _S.DELIVERED,  # read receipt (WhatsApp/RCS only)
    "undelivered": _S.UNDELIVERED,  # the carrier reported non-delivery (see ErrorCode)
    "failed": _S.FAILED,  # Twilio could not send it (see ErrorCode); not charged
    "partially_delivered": _S.UNDELIVERED,  # some parts arrived: the whole text did not (§6.1 aggregate rule)
    "canceled": _S.FAILED,  # a scheduled message was cancelled
    "receiving": _S.UNKNOWN,  # inbound-only states, never expected for our MT
    "received": _S.UNKNOWN,
}

#: ``ErrorCode`` of a failed/undelivered callback -> a sharper status. Each documented at
#: https://www.twilio.com/docs/api/errors/<code> (read 2026-11-30).
DELIVERY_ERRORS: dict[str, DeliveryStatus] = {
    "30001": _S.FAILED,  # queue overflow: sent too fast for the sender's throughput
    "30002": _S.REJECTED,  # account suspended before sending (billing or policy)
    "30003": _S.UNDELIVERED,  # unreachable handset: switched off, no signal (often transient)
    "30004": _S.REJECTED,  # message blocked (by the recipient or the carrier)
    "30005": _S.UNDELIVERED,  # unknown handset: number does not exist or is inactive
    "30006": _S.UNDELIVERED,  # landline or unreachable carrier
    "30007": _S.REJECTED,  # filtered by the carrier as spam/fraud
    "30008": _S.FAILED,  # unknown error at the carrier
}


def auth_token() -> str:
    """The Auth Token (ALPHASMS_TWILIO_AUTH_TOKEN): API password and webhook signing key.

    Raises GatewayMisconfigured when it is empty."""
    token = app_settings.gateway_setting("TWILIO_AUTH_TOKEN")
    if not token:
        raise GatewayMisconfigured(
            "ALPHASMS_TWILIO_AUTH_TOKEN is not set: copy the Auth Token from the Twilio Console (Account "
            "Info) and set ALPHASMS_TWILIO_AUTH_TOKEN or ALPHASMS_TWILIO_AUTH_TOKEN_FILE"
        )
    return token


def status_callback_url(reference: str) -> str:
    """``{PUBLIC_URL}/hooks/twilio/dlr/?ref=<reference>``, or "" when PUBLIC_URL is empty (no DLRs)."""
    public = app_settings.PUBLIC_URL.rstrip("/")
    return f"{public}{DLR_PATH}?{urllib.parse.urlencode({'ref': reference})}" if public else ""


def signed_url(request: HttpRequest) -> str:
    """The URL Twilio called: PUBLIC_URL's scheme, host and path prefix plus the request's path and query
    (a prefix Django already sees, through FORCE_SCRIPT_NAME, is not repeated)."""
    public = urllib.parse.urlsplit(app_settings.PUBLIC_URL)
    prefix, path = public.path.rstrip("/"), request.get_full_path()
    if prefix and not path.startswith(prefix + "/"):
        path = prefix + path
    return f"{public.scheme}://{public.netloc}{path}"


def signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    """base64(HMAC-SHA1(token, url + name1 + value1 + …)) over ``params`` sorted by name, then value."""
    data = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def verify_webhook(request: HttpRequest) -> None:
    """Raise WebhookForged unless ``request`` carries a valid ``X-Twilio-Signature`` for our Auth Token.

    Raises GatewayMisconfigured without an Auth Token. No side effects.
    """
    given = request.headers.get("X-Twilio-Signature", "").strip()
    if not given:
        raise WebhookForged("missing X-Twilio-Signature header")
    token, params, url = auth_token(), form_fields(request), signed_url(request)
    if not any(hmac.compare_digest(signature(token, u, params), given) for u in _port_variants(url)):
        if "X-Twilio-Webhooks-Signature-Settings" in request.headers:
            raise WebhookForged("signed with a Webhook Rule's shared key (HMAC-SHA256): not supported")
        raise WebhookForged(f"X-Twilio-Signature does not match {url.split('?')[0]}")


def _port_variants(url: str) -> set[str]:
    """``url`` without any port and with its port (the scheme's default when none is given)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return {parts._replace(netloc=host).geturl(), parts._replace(netloc=f"{host}:{port}").geturl()}


def form_fields(request: HttpRequest) -> list[tuple[str, str]]:
    """The POST parameters decoded from the raw body, in order ([] for other methods, which Twilio signs
    over the URL alone). Raises WebhookForged for a body that is not UTF-8."""
    if request.method != "POST":
        return []
    try:
        return urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise WebhookForged("body is not UTF-8 form data") from None


def parse_dlr(request: HttpRequest) -> list[DlrEvent]:
    """The status callback in a verified request as zero or one ``DlrEvent``; ``reference`` is the
    ``ref`` query value. A callback without MessageSid or MessageStatus gives [] (logged). Unknown
    statuses map to ``unknown``; ``occurred_at`` stays None (Twilio sends no time zone with its times)."""
    fields = dict(form_fields(request))
    status = fields.get("MessageStatus") or fields.get("SmsStatus", "")
    sid = fields.get("MessageSid") or fields.get("SmsSid", "")
    if not (status and sid):
        log.warning("twilio status callback without MessageSid or MessageStatus ignored")
        return []
    error_code = fields.get("ErrorCode", "")
    ours = STATUS_MAP.get(status.lower(), _S.UNKNOWN)
    if ours in (_S.FAILED, _S.UNDELIVERED):
        ours = DELIVERY_ERRORS.get(error_code, ours)
    reference = request.GET.get("ref", "")
    return [DlrEvent(ours, reference, sid, status, error_code, raw=fields)]


def parse_mo(request: HttpRequest) -> list[MoEvent]:
    """The inbound SMS in a verified request (fields ``From``, ``Body``, ``MessageSid``) as zero or one
    ``MoEvent``. A sender that is not E.164 (``whatsapp:+49…``, a short code) gives [] (logged)."""
    fields = dict(form_fields(request))
    sender = fields.get("From", "")
    try:
        to_msisdn(sender)
    except ValueError:
        log.warning("twilio inbound message from a sender that is not an E.164 number ignored")
        return []
    sid = fields.get("MessageSid") or fields.get("SmsSid", "")
    return [MoEvent(from_e164=sender, text=fields.get("Body", ""), gateway_message_id=sid, raw=fields)]
