"""E-mail through an ESP's HTTP API (django-anymail) instead of the practice's SMTP server.

``ALPHASMS_EMAIL_PROVIDER`` selects the provider: ``smtp`` (default: ``SmtpUtf8EmailBackend``),
``amazon_ses``, ``brevo``, ``mailgun`` or ``postmark``. Each provider is one ``EmailProvider`` entry in
``PROVIDERS``: anymail's backend path and which of our settings become which backend kwarg. Settings are
read at call time through ``app_settings.gateway_setting`` (``ALPHASMS`` dict, then ``ALPHASMS_<NAME>``
env), never from ``settings.ANYMAIL``, so settings.py stays untouched.

What leaves (DESIGN.md invariant 6): the ``ReminderEmailMessage`` from ``build_message`` — sender,
recipient, subject, text and the optional .ics. No anymail metadata, tags, custom ids or headers: the
ESP's own message id (``anymail_status.message_id``) is stored as ``gateway_message_id`` and tracking
webhooks are matched by it. Open and click tracking are switched off per message where the ESP takes a
per-message switch (Mailgun ``o:tracking-*=no``; Postmark ``TrackOpens=false``/``TrackLinks=None``);
Brevo and SES have account-level tracking only (see EMAIL_PROVIDERS.md).

Errors: anymail's exceptions become ours (``gateways.errors``), with a German sentence for staff:
configuration → ``EmailProviderMisconfigured``; all recipients refused or an invalid address →
``InvalidRecipient``; HTTP 401/403 → ``AuthenticationFailed``; 429 → ``RateLimited``; 503 or no
connection → ``GatewayUnavailable``; other 5xx, read timeouts and unreadable 2xx → ambiguous
(``OutcomeUnknown``/``UnexpectedResponse``); other 4xx → ``RejectedByProvider``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.mail import get_connection

from alphasms.conf import app_settings
from alphasms.messaging.email import OutboundEmail, build_message
from alphasms.messaging.gateways import http
from alphasms.messaging.gateways.base import classify_http_status
from alphasms.messaging.gateways.errors import (
    GatewayError,
    GatewayMisconfigured,
    GatewayUnavailable,
    InvalidRecipient,
    OutcomeUnknown,
    UnexpectedResponse,
)

SMTP = "smtp"
_ADDRESS = re.compile(r"[^\s<>\"'(),;:\[\]]+@([^\s<>\"'(),;:\[\]]+)")


class EmailProviderMisconfigured(GatewayMisconfigured):
    """An ESP setting or package is missing or refused; the message names the setting to fix."""


@dataclass(frozen=True)
class EmailProvider:
    """One ESP: our ``slug``, anymail's ``esp_name`` (as its webhook signal reports it), the backend's
    dotted path, ``kwargs``: backend kwarg → our setting name, and the settings that must be set."""

    slug: str
    display_name: str
    esp_name: str
    backend: str
    docs_url: str
    kwargs: Mapping[str, str]
    required: tuple[str, ...]
    per_message_tracking_switch: bool = False
    extra: str = ""  # our pyproject extra that installs the backend's packages, if any

    def connection_kwargs(self) -> dict[str, Any]:
        """Backend kwargs from our settings, read now; raises ``EmailProviderMisconfigured``."""
        missing = [f"ALPHASMS_{name}" for name in self.required if not app_settings.gateway_setting(name)]
        if missing:
            raise EmailProviderMisconfigured(
                f"ALPHASMS_EMAIL_PROVIDER={self.slug} needs {', '.join(missing)} (see {self.docs_url})"
            )
        kwargs: dict[str, Any] = {"fail_silently": False}
        for kwarg, name in self.kwargs.items():
            if value := app_settings.gateway_setting(name):
                kwargs[kwarg] = value
        if self.slug == "amazon_ses":
            kwargs = _ses_kwargs(kwargs)
        else:
            kwargs["timeout"] = app_settings.HTTP_TIMEOUT_S  # requests: connect and read timeout
        return kwargs


def _ses_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """boto3 wants session and client params; one try per call (the worker retries, not botocore)."""
    timeout_s = app_settings.HTTP_TIMEOUT_S
    session: dict[str, Any] = {
        k: kwargs.pop(k) for k in ("aws_access_key_id", "aws_secret_access_key") if k in kwargs
    }
    session["region_name"] = kwargs.pop("region_name")
    client: dict[str, Any] = {
        "config": {
            "retries": {"max_attempts": 1, "mode": "standard"},
            "connect_timeout": timeout_s,
            "read_timeout": timeout_s,
        }
    }
    if "endpoint_url" in kwargs:
        client["endpoint_url"] = kwargs.pop("endpoint_url")
    return {**kwargs, "session_params": session, "client_params": client}


# Backend kwargs per anymail's ESP docs (https://anymail.dev/en/stable/esps/<esp>/#settings).
PROVIDERS: dict[str, EmailProvider] = {
    "amazon_ses": EmailProvider(
        slug="amazon_ses",
        display_name="Amazon SES",
        esp_name="Amazon SES",
        backend="anymail.backends.amazon_ses.EmailBackend",
        docs_url="https://anymail.dev/en/stable/esps/amazon_ses/",
        kwargs={
            "region_name": "AMAZON_SES_REGION",
            "aws_access_key_id": "AMAZON_SES_ACCESS_KEY_ID",
            "aws_secret_access_key": "AMAZON_SES_SECRET_ACCESS_KEY",
            "endpoint_url": "AMAZON_SES_ENDPOINT_URL",
        },
        required=("AMAZON_SES_REGION",),
        extra="amazon-ses",
    ),
    "brevo": EmailProvider(
        slug="brevo",
        display_name="Brevo",
        esp_name="Brevo",
        backend="anymail.backends.brevo.EmailBackend",
        docs_url="https://anymail.dev/en/stable/esps/brevo/",
        kwargs={"api_key": "BREVO_API_KEY", "api_url": "BREVO_API_URL"},
        required=("BREVO_API_KEY",),
    ),
    "mailgun": EmailProvider(
        slug="mailgun",
        display_name="Mailgun",
        esp_name="Mailgun",
        backend="anymail.backends.mailgun.EmailBackend",
        docs_url="https://anymail.dev/en/stable/esps/mailgun/",
        kwargs={
            "api_key": "MAILGUN_API_KEY",
            "sender_domain": "MAILGUN_SENDER_DOMAIN",
            "api_url": "MAILGUN_API_URL",
        },
        required=("MAILGUN_API_KEY",),
        per_message_tracking_switch=True,
    ),
    "postmark": EmailProvider(
        slug="postmark",
        display_name="Postmark",
        esp_name="Postmark",
        backend="anymail.backends.postmark.EmailBackend",
        docs_url="https://anymail.dev/en/stable/esps/postmark/",
        kwargs={"server_token": "POSTMARK_SERVER_TOKEN", "api_url": "POSTMARK_API_URL"},
        required=("POSTMARK_SERVER_TOKEN",),
        per_message_tracking_switch=True,
    ),
}


def configured_slug() -> str:
    """The configured provider slug as written (lower-case), unchecked: for labelling an attempt;
    ``send_via_provider`` rejects an unknown one with ``EmailProviderMisconfigured``."""
    return (app_settings.gateway_setting("EMAIL_PROVIDER") or SMTP).strip().lower()[:32]


def provider_slug() -> str:
    """The configured e-mail provider: ``smtp`` or a key of ``PROVIDERS``; raises on an unknown one."""
    slug = configured_slug()
    if slug != SMTP and slug not in PROVIDERS:
        raise EmailProviderMisconfigured(
            f"ALPHASMS_EMAIL_PROVIDER={slug!r} is unknown; use one of {SMTP}, {', '.join(PROVIDERS)}"
        )
    return slug


def send_via_provider(mail: OutboundEmail) -> str:
    """Send ``mail`` through the configured ESP's API and return the ESP's message id.

    Side effects: one HTTPS request to the ESP (boto3 for SES). Raises ``EmailProviderMisconfigured``
    (setting/package missing, credentials refused by anymail's checks) or a ``GatewayError``.
    """
    from anymail.exceptions import AnymailConfigurationError, AnymailError

    slug = provider_slug()
    if slug == SMTP:
        raise EmailProviderMisconfigured("ALPHASMS_EMAIL_PROVIDER is smtp: use email.send_email")
    provider = PROVIDERS[slug]
    message: Any = build_message(mail)
    if provider.per_message_tracking_switch:
        message.track_opens = False
        message.track_clicks = False
    try:
        connection = get_connection(provider.backend, **provider.connection_kwargs())
        connection.send_messages([message])
    except AnymailConfigurationError as exc:
        hint = f' (pip install "alphasms[{provider.extra}]")' if provider.extra else ""
        error: GatewayError | EmailProviderMisconfigured = EmailProviderMisconfigured(
            f"{provider.display_name}: {_mask(str(exc))}{hint}"
        )
    except AnymailError as exc:
        error = classify_anymail_error(exc, provider)
    else:
        message_id = message.anymail_status.message_id
        if not message_id:
            raise UnexpectedResponse(
                f"{provider.display_name} accepted the message without a message id",
                user_message=_sentence(provider, "hat keine Nachrichtenkennung geliefert; Ergebnis unklar."),
            )
        return str(message_id)
    raise error  # outside the except block: no chained traceback holding the payload


def classify_anymail_error(exc: Exception, provider: EmailProvider) -> GatewayError:
    """Map one anymail send error to ours (table in the module docstring)."""
    import requests
    from anymail.exceptions import AnymailInvalidAddress, AnymailRecipientsRefused

    name = provider.display_name
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return InvalidRecipient(
            f"{name} refused the recipient",
            user_message=_sentence(provider, "hat die Empfängeradresse abgelehnt (ungültig oder gesperrt)."),
        )
    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None)
    if isinstance(response, requests.Response) and status is not None:
        ours = http.HttpResponse(
            status=int(status),
            headers={k.lower(): v for k, v in response.headers.items()},
            body=_mask(response.text).encode("utf-8"),
        )
        if 200 <= ours.status < 300:  # anymail could not read a 2xx answer
            return UnexpectedResponse(
                f"{name}: unreadable answer", http_status=ours.status, excerpt=ours.excerpt()
            )
        error = classify_http_status(ours)
        error.detail = f"{name}: {error.detail}"
        return error
    cause = exc.__cause__
    if isinstance(cause, requests.ConnectTimeout) or (
        isinstance(cause, requests.ConnectionError) and _not_connected(cause)
    ):
        return GatewayUnavailable(
            f"{name}: {type(cause).__name__}",
            user_message=_sentence(provider, "ist gerade nicht erreichbar; neuer Versuch folgt."),
        )
    if cause is not None and _is_boto_not_connected(cause):
        return GatewayUnavailable(
            f"{name}: {type(cause).__name__}",
            user_message=_sentence(provider, "ist gerade nicht erreichbar; neuer Versuch folgt."),
        )
    boto_status = _boto_http_status(cause)
    if boto_status is not None:
        return classify_http_status(http.HttpResponse(status=boto_status, body=_mask(str(cause)).encode()))
    return OutcomeUnknown(
        f"{name}: {type(cause or exc).__name__}",
        user_message=_sentence(provider, "hat nicht geantwortet; unklar, ob die E-Mail angenommen wurde."),
    )


def _sentence(provider: EmailProvider, rest: str) -> str:
    return f"Der E-Mail-Anbieter {provider.display_name} {rest}"


def _mask(text: str) -> str:
    """Mask e-mail addresses an ESP echoes in errors ("…@beispiel.example")."""
    return _ADDRESS.sub(lambda m: f"…@{m.group(1)}", text)


def _not_connected(exc: BaseException) -> bool:
    """True if the connection was never established (refused, DNS): the request did not leave."""
    from urllib3.exceptions import NewConnectionError

    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        reason = getattr(seen, "reason", None)
        if isinstance(seen, NewConnectionError) or isinstance(reason, NewConnectionError):
            return True
        arg = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = arg or seen.__cause__ or seen.__context__
    return False


def _is_boto_not_connected(exc: BaseException) -> bool:
    """botocore's "no connection" errors (checked by name: botocore is an optional package)."""
    return type(exc).__name__ in {"EndpointConnectionError", "ConnectTimeoutError"}


def _boto_http_status(exc: BaseException | None) -> int | None:
    """The HTTP status of a botocore ``ClientError`` (SES), else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status else None
    return None
