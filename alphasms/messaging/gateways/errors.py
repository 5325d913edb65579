"""The one hierarchy of gateway errors (STYLE.md §4).

Each error carries a stable ``code`` slug, whether it is ``permanent`` (retrying cannot help), a
``user_message`` sentence staff understand (German; the English text is in ``user_message_en``), and the
provider's ``provider_code`` and ``http_status``. ``str()`` gives the full diagnostic with a redacted
excerpt of the response. Misconfiguration is *not* a GatewayError, so no retry loop swallows it.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class GatewayError(Exception):
    """Root of all provider-call failures.

    ``ambiguous`` is True when the request may have reached the provider (timeout after sending, 5xx
    after the body left): the attempt becomes ``unknown`` instead of ``retry_wait``.
    """

    code = "gateway_error"
    permanent = False
    ambiguous = False
    default_user_message = "Der Anbieter hat die Nachricht nicht angenommen."

    def __init__(
        self,
        detail: str = "",
        *,
        user_message: str | None = None,
        provider_code: str = "",
        http_status: int | None = None,
        excerpt: str = "",
    ) -> None:
        self.detail = detail
        self.user_message = user_message or self.default_user_message
        self.provider_code = provider_code
        self.http_status = http_status
        self.excerpt = excerpt
        super().__init__(detail)

    def __str__(self) -> str:
        parts = [f"{self.code}: {self.detail or self.user_message}"]
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.provider_code:
            parts.append(f"provider code {self.provider_code}")
        if self.excerpt:
            parts.append(f"response: {self.excerpt}")
        return "; ".join(parts)

    def scrub(self, secrets: tuple[str, ...]) -> GatewayError:
        """Replace each non-empty value of ``secrets`` by "***" in every text of this error (an API key
        in a URL path that a provider echoes in its answer). Returns self."""
        for secret in (s for s in secrets if s):
            self.detail = self.detail.replace(secret, "***")
            self.user_message = self.user_message.replace(secret, "***")
            self.provider_code = self.provider_code.replace(secret, "***")
            self.excerpt = self.excerpt.replace(secret, "***")
        self.args = (self.detail,)
        return self


class InvalidRecipient(GatewayError, ValueError):
    code = "invalid_recipient"
    permanent = True
    default_user_message = "Die Nummer oder Adresse ist ungültig oder nicht erreichbar."


class RecipientOptedOut(GatewayError):
    code = "recipient_opted_out"
    permanent = True
    default_user_message = "Der Empfänger hat Nachrichten beim Anbieter abbestellt."


class SenderNotAllowed(GatewayError):
    code = "sender_not_allowed"
    permanent = True
    default_user_message = "Die Absenderkennung ist beim Anbieter nicht erlaubt."


class AuthenticationFailed(GatewayError, PermissionError):
    code = "authentication_failed"
    permanent = True
    default_user_message = "Der Anbieter hat die Zugangsdaten abgelehnt (API-Schlüssel prüfen)."


class InsufficientFunds(GatewayError):
    code = "insufficient_funds"
    permanent = True
    default_user_message = "Das Guthaben beim Anbieter reicht nicht aus."


class RejectedByProvider(GatewayError):
    code = "rejected"
    permanent = True
    default_user_message = "Der Anbieter hat die Nachricht abgelehnt."


class RateLimited(GatewayError):
    """Too many requests; ``retry_after_s`` (seconds) from the provider's Retry-After, if any."""

    code = "rate_limited"
    default_user_message = "Der Anbieter bremst den Versand; neuer Versuch folgt."

    def __init__(self, detail: str = "", *, retry_after_s: float | None = None, **kwargs: object) -> None:
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]
        self.retry_after_s = retry_after_s


class GatewayUnavailable(GatewayError, ConnectionError):
    """The request certainly did not go through (connection refused, DNS, 503 before processing)."""

    code = "gateway_unavailable"
    default_user_message = "Der Anbieter ist gerade nicht erreichbar; neuer Versuch folgt."


class OutcomeUnknown(GatewayError, TimeoutError):
    """The request left us but no usable answer came back (timeout, reset, 5xx after sending)."""

    code = "outcome_unknown"
    ambiguous = True
    default_user_message = "Unklar, ob der Anbieter die Nachricht angenommen hat."


class UnexpectedResponse(GatewayError):
    """The provider answered 2xx with a body we cannot read: it probably accepted, so it is ambiguous."""

    code = "unexpected_response"
    ambiguous = True
    default_user_message = "Der Anbieter hat unverständlich geantwortet; Ergebnis unklar."


class WebhookForged(Exception):
    """A webhook failed verification (bad or missing signature, outside the replay window)."""


class GatewayMisconfigured(ImproperlyConfigured):
    """A gateway lacks a setting or package; the message names it exactly."""
