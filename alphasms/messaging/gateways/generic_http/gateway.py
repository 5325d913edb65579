"""Generic HTTP gateway: the long tail of small SMS providers, configured by JSON instead of code.

The provider call is described by GENERIC_HTTP_CONFIG (``config.py``; README.md has two worked examples):
method, url, headers, body type (form | json | query) and a body template whose string values may hold
``{to_e164} {to_msisdn} {text} {sender_id} {reference} {dlr_url}`` and ``${ALPHASMS_GENERIC_HTTP_…}``
secrets. Bodies are built as data and encoded by ``gateways.http`` (JSON by ``json.dumps``, form and query
by ``urlencode``): never by string concatenation, so quotes, "&", "+" or braces in a text stay text.
The answer is judged by the configured success condition (HTTP statuses; a JSON path that must equal a
value, or a regex on the body), the message id taken by JSON path or regex group, and provider error codes
mapped to our errors by the ``errors`` table.

Only the body fields the configuration lists leave (DESIGN.md invariant 6): the configuration is the
contract, and the tests assert the exact payloads of the README's examples.
"""

from __future__ import annotations

import base64
import dataclasses
import urllib.parse
from typing import Any

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging import phone
from alphasms.messaging.gateways import base, errors, http
from alphasms.messaging.gateways.errors import GatewayError, UnexpectedResponse
from alphasms.messaging.gateways.generic_http import config, webhooks
from alphasms.messaging.gateways.generic_http.config import Config, Template


class GenericHttpGateway(base.Gateway):
    slug = "generic_http"
    display_name = "HTTP-Anbieter (JSON-Konfiguration)"
    docs_url = ""  # the provider's own documentation; the README explains the configuration
    supports_dlr = True  # when the configuration has a "dlr" mapping (else every callback is refused)
    supports_mo = False
    supports_alphanumeric_sender = True  # passed on as configured; the provider decides
    max_segments = 10
    max_requests_per_second = 5.0  # small providers rarely publish limits: stay gentle
    settings_spec = (  # README.md "Settings"
        base.GatewaySetting("GENERIC_HTTP_CONFIG", required=True),
        base.GatewaySetting("GENERIC_HTTP_DLR_SECRET", secret=True),
    )

    def base_url(self) -> str:
        """Scheme and host of the configured url (secrets resolved); the rest is the request's path."""
        parts = urllib.parse.urlsplit(self._url(config.load()))
        return f"{parts.scheme}://{parts.netloc}"

    def build_send_request(self, sms: base.OutboundSms) -> base.RequestSpec:
        """The configured request for ``sms``: exactly the configured headers and body fields, no others.

        A field that is only ``{sender_id}`` is left out when there is no sender ID. Raises InvalidRecipient
        (permanent) unless ``to_e164`` is E.164, GatewayMisconfigured for an invalid configuration or an
        unset secret. No I/O.
        """
        cfg = config.load()
        try:
            msisdn = phone.to_msisdn(sms.to_e164)
        except ValueError:
            message = "Die Empfängernummer ist nicht im internationalen Format (+49…)."
            raise errors.InvalidRecipient("recipient is not an E.164 number", user_message=message) from None
        sender = sms.sender_id or app_settings.gateway_setting("SMS_SENDER_ID")
        values = {
            "to_e164": sms.to_e164,
            "to_msisdn": msisdn,
            "text": sms.text,
            "sender_id": sender,
            "reference": sms.reference,
            "dlr_url": webhooks.dlr_url(sms.reference) if cfg.dlr else "",
        }
        body = _render(cfg.body, values, cfg.body_type)
        parts = urllib.parse.urlsplit(self._url(cfg))
        query = parts.query
        if cfg.body_type == "query":
            query = "&".join(q for q in (parts.query, urllib.parse.urlencode(body)) if q)
        path = parts.path + (f"?{query}" if query else "")
        headers = {name: template.render({}, config.secret) for name, template in cfg.headers.items()}
        if cfg.basic_auth:
            user, password = (template.render({}, config.secret) for template in cfg.basic_auth)
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return base.RequestSpec(
            cfg.method,
            path,
            headers=headers,
            form=body if cfg.body_type == "form" else None,
            json_body=body if cfg.body_type == "json" else None,
        )

    def send(self, sms: base.OutboundSms) -> base.SendResult:
        """As ``Gateway.send``; the answer reports no parts, so segments are our own count."""
        result = super().send(sms)
        return dataclasses.replace(result, segments=max(result.segments, sms.segments))

    def parse_send_response(self, response: http.HttpResponse) -> base.SendResult:
        """Accepted when the success condition holds: then the message id ("" when none is configured or
        found). A 2xx outside ``success.status``, unreadable JSON or an unmatched regex without an error
        code is UnexpectedResponse (ambiguous); a readable refusal raises the mapped error or
        RejectedByProvider (permanent)."""
        cfg = config.load()
        if response.status not in cfg.success_statuses:
            raise UnexpectedResponse(
                f"HTTP {response.status} is not a configured success status", http_status=response.status
            )
        verdict = _success(cfg, response)
        if verdict:
            found = cfg.message_id.find(response.body) if cfg.message_id else None
            return base.SendResult(gateway_message_id=found or "")
        code = cfg.error_code.find(response.body) if cfg.error_code else None
        if code is None and verdict is None:
            raise UnexpectedResponse(
                "answer does not meet the success condition",
                http_status=response.status,
                excerpt=response.excerpt(),
            )
        raise _error(cfg, code or "", response) or errors.RejectedByProvider(
            f"{cfg.name} refused the message", provider_code=code or "", http_status=response.status
        )

    def classify_error(self, response: http.HttpResponse) -> GatewayError:
        """A non-2xx answer: an error code mapped in ``errors`` wins, else HTTP semantics."""
        cfg = config.load()
        code = cfg.error_code.find(response.body) if cfg.error_code else None
        return _error(cfg, code or "", response) or base.classify_http_status(response)

    def verify_webhook(self, request: HttpRequest) -> None:
        webhooks.verify_webhook(request)

    def parse_dlr(self, request: HttpRequest) -> list[base.DlrEvent]:
        return webhooks.parse_dlr(request)

    @staticmethod
    def _url(cfg: Config) -> str:
        return cfg.url.render({}, config.secret)


def _render(value: Any, values: dict[str, str], body_type: str) -> Any:
    """The body value with templates rendered; numbers become text in form and query bodies. A field
    that is only ``{sender_id}`` is dropped when there is no sender ID (the provider's default applies)."""
    if isinstance(value, Template):
        return value.render(values, config.secret)
    if isinstance(value, dict):
        return {
            key: _render(item, values, body_type)
            for key, item in value.items()
            if values["sender_id"] or not _only_sender(item)
        }
    if isinstance(value, list):
        return [_render(item, values, body_type) for item in value]
    return value if body_type == "json" else str(value)


def _only_sender(value: Any) -> bool:
    return isinstance(value, Template) and value.tokens == (("placeholder", "sender_id"),)


def _success(cfg: Config, response: http.HttpResponse) -> bool | None:
    """True/False when the answer says so; None when it cannot be read (field missing, regex unmatched)."""
    if cfg.success_regex is not None:
        return True if cfg.success_regex.search(response.body.decode("utf-8", "replace")) else None
    if not cfg.success_path:
        return True
    value = config.lookup(base.json_body(response), cfg.success_path)
    return None if value is None else value in cfg.success_equals


def _error(cfg: Config, code: str, response: http.HttpResponse) -> GatewayError | None:
    """The error mapped to the provider's ``code`` in ``errors``; the excerpt is the code only."""
    if code not in cfg.errors:
        return None
    error_class = cfg.errors[code]
    return error_class(
        f"{cfg.name} error code {code}",
        provider_code=code,
        http_status=response.status,
        excerpt=f"code={code}",
    )
