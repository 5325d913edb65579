"""SMTP-level helpers for the e-mail channel: our error classes, the envelope, a UTF-8-safe AUTH client,
the MAIL/RCPT/DATA transaction and the mapping of smtplib failures to our errors.

Used by ``alphasms.messaging.email`` (which re-exports the errors). Reply classes follow RFC 5321 §4.2.1
(4yz transient, 5yz permanent); enhanced status codes RFC 3463; AUTH replies RFC 4954 §6.
"""

from __future__ import annotations

import base64
import hmac
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from alphasms.messaging.email_format import MailAddress
from alphasms.messaging.gateways.errors import GatewayError, GatewayMisconfigured, OutcomeUnknown

if TYPE_CHECKING:
    from typing_extensions import Buffer

_ADDRESS_IN_TEXT = re.compile(r"[^\s<>\"'()\[\]]+@[^\s<>\"'()\[\]]+")
_ENHANCED_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}\b")  # RFC 3463
_AUTH_REPLY_CODES = frozenset({530, 534, 535, 538})  # RFC 4954 §6: authentication required/failed


class EmailPermanentError(GatewayError):
    """The server refused for good (5xx, RFC 5321 §4.2.1): retrying this message cannot help.

    ``code`` is "email_recipient_rejected" (RCPT), "email_sender_rejected" (MAIL FROM) or
    "email_rejected" (DATA); ``provider_code`` is the reply code and RFC 3463 status ("550 5.1.1")."""

    code = "email_rejected"
    permanent = True
    default_user_message = "Der Mailserver hat die E-Mail endgültig abgelehnt."

    def __init__(self, detail: str = "", *, code: str | None = None, **kwargs: object) -> None:
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]
        if code:
            self.code = code


class SmtpUtf8Unsupported(EmailPermanentError):
    """The address has a non-ASCII local part and the configured server does not offer SMTPUTF8.

    Raised before MAIL FROM: nothing was sent. Permanent for this server; the customer should be reached
    by SMS, or the practice should use a server that advertises SMTPUTF8 (RFC 6531)."""

    code = "smtputf8_unsupported"
    default_user_message = (
        "E-Mail an diese Adresse ist über den eingestellten SMTP-Server nicht zustellbar (kein SMTPUTF8); "
        "bitte per SMS erinnern oder einen Mailserver mit SMTPUTF8 einstellen."
    )


class EmailTransientError(GatewayError):
    """Not sent this time for sure: a 4xx reply, connection refused, or timeout/drop before DATA."""

    code = "email_unavailable"
    default_user_message = (
        "Der Mailserver hat die E-Mail vorübergehend nicht angenommen; neuer Versuch folgt."
    )


class EmailOutcomeUnknown(EmailTransientError, OutcomeUnknown):
    """DATA was sent but no final reply came (timeout, dropped connection): the server may have the mail."""

    code = "outcome_unknown"
    ambiguous = True
    default_user_message = OutcomeUnknown.default_user_message


class SmtpMisconfigured(GatewayMisconfigured):
    """The SMTP settings are wrong (credentials, TLS mode, certificate); the message names the setting."""


@dataclass(frozen=True)
class Envelope:
    """The SMTP envelope (RFC 5321 §2.3.1): reverse-path, forward-paths, and whether SMTPUTF8 is needed."""

    sender: MailAddress
    recipients: tuple[MailAddress, ...]

    @property
    def smtputf8(self) -> bool:
        return self.sender.smtputf8 or any(r.smtputf8 for r in self.recipients)


class _Utf8Str(str):
    """A str whose ``encode()`` is always UTF-8, whatever codec smtplib asks for."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return str(self).encode("utf-8", errors)


class Utf8AuthSMTP(smtplib.SMTP):
    """smtplib.SMTP that can log in with a non-ASCII user name or password.

    smtplib encodes every AUTH response as ASCII, so "Passwört" raises UnicodeEncodeError before anything
    is sent (cpython#73936, open since 2017). SASL PLAIN is UTF-8 (RFC 4616 §2), and servers expect the
    same for LOGIN and the CRAM-MD5 key; here each response smtplib builds is handed back as a str that
    encodes as UTF-8, so smtplib's own AUTH exchange (challenges, error handling) stays in charge.

    EHLO greets as "localhost": Django would send the machine's host name, which names the practice PC
    and is not among the data that may leave (DESIGN.md invariant 6); servers copy it into Received.
    """

    def __init__(
        self, host: str = "", port: int = 0, local_hostname: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(host, port, "localhost", **kwargs)

    def auth(
        self, mechanism: str, authobject: Callable[..., Any], *, initial_response_ok: bool = True
    ) -> tuple[int, bytes]:
        def utf8_authobject(challenge: bytes | None = None) -> Any:
            response = authobject(challenge)
            return None if response is None else _Utf8Str(response)

        return super().auth(mechanism, utf8_authobject, initial_response_ok=initial_response_ok)

    @overload
    def auth_cram_md5(self, challenge: None = None) -> None: ...
    @overload
    def auth_cram_md5(self, challenge: Buffer) -> str: ...
    def auth_cram_md5(self, challenge: Buffer | None = None) -> str | None:
        if challenge is None:  # CRAM-MD5 has no initial response (RFC 2195)
            return None
        digest = hmac.new(self.password.encode("utf-8"), bytes(challenge), "md5").hexdigest()
        return f"{self.user} {digest}"


class Utf8AuthSMTPSSL(Utf8AuthSMTP, smtplib.SMTP_SSL):
    """``Utf8AuthSMTP`` over implicit TLS (port 465, RFC 8314 §3.3)."""


def send_transaction(
    connection: smtplib.SMTP, envelope: Envelope, data: bytes, scrub: Callable[[str], str]
) -> None:
    """MAIL, RCPT, DATA (RFC 5321 §3.3) step by step, so a failure knows whether DATA was already sent.

    ``data`` is the message with CRLF line ends; dot-stuffing is smtplib's. With SMTPUTF8 the MAIL FROM
    carries the parameter (RFC 6531 §3.4) and smtplib switches its commands to UTF-8. No SIZE
    parameter: reminders are a few kB, and the envelope stays exactly "MAIL FROM:<…> [SMTPUTF8]".
    Raises our errors via ``classify``; returns only when the server answered 250 to the end of DATA.
    """
    stage = "mail"
    try:
        code, reply = connection.mail(envelope.sender.addr_spec, ["SMTPUTF8"] if envelope.smtputf8 else [])
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, envelope.sender.addr_spec)
        stage = "rcpt"
        for recipient in envelope.recipients:
            code, reply = connection.rcpt(recipient.addr_spec)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({recipient.addr_spec: (code, reply)})
        stage = "data"
        code, reply = connection.data(data)
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
    except (smtplib.SMTPException, OSError) as exc:
        error = classify(exc, stage, scrub)
    else:
        return
    raise error  # outside the except block, so no smtplib traceback is chained


def make_scrubber(username: str, password: str) -> Callable[[str], str]:
    """Return a function that masks the password (plain and as sent in AUTH PLAIN/LOGIN) and any e-mail
    address in a text, for error details that end up in logs."""
    secrets: list[str] = []
    if password:
        secrets.append(password)
        for raw in (password, f"\0{username}\0{password}"):
            secrets.append(base64.b64encode(raw.encode()).decode())

    def scrub(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return _ADDRESS_IN_TEXT.sub("[address]", text)

    return scrub


def _reply(exc: BaseException) -> tuple[int | None, str]:
    raw: bytes | str
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, raw = next(iter(exc.recipients.values()))
    elif isinstance(exc, smtplib.SMTPResponseException):
        code, raw = exc.smtp_code, exc.smtp_error
    else:
        return None, f"{type(exc).__name__}: {exc}"
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return code, " ".join(text.split())


_PERMANENT_BY_STAGE = {
    "mail": ("email_sender_rejected", "Der Mailserver lehnt die Absenderadresse ab (Absender prüfen)."),
    "rcpt": ("email_recipient_rejected", "Der Mailserver hat die Empfängeradresse abgelehnt; bitte prüfen."),
    "data": ("email_rejected", EmailPermanentError.default_user_message),
}


def classify(exc: BaseException, stage: str, scrub: Callable[[str], str]) -> Exception:
    """Map an smtplib/socket failure at ``stage`` to our error (see the module docstring)."""
    code, text = _reply(exc)
    text = scrub(text)
    detail = f"SMTP {stage}: {text}" if code is None else f"SMTP {stage}: {code} {text}"
    if code is not None and not 400 <= code < 600:
        code = None  # smtplib's -1 for an unreadable reply: as good as no reply
    status = _ENHANCED_STATUS.search(text)
    provider_code = f"{code} {status.group()}" if code and status else str(code or "")
    if isinstance(exc, smtplib.SMTPAuthenticationError) or code in _AUTH_REPLY_CODES:
        return SmtpMisconfigured(f"{detail}; check ALPHASMS_SMTP_USER and ALPHASMS_SMTP_PASSWORD")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SmtpMisconfigured(
            f"{detail}; check ALPHASMS_SMTP_STARTTLS / ALPHASMS_SMTP_SSL / ALPHASMS_SMTP_PORT "
            "(STARTTLS on 587, implicit TLS on 465) and whether the server offers AUTH"
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SmtpMisconfigured(f"{detail}; the server certificate is not trusted for ALPHASMS_SMTP_HOST")
    if code is not None and 500 <= code < 600 and stage in _PERMANENT_BY_STAGE:
        slug, sentence = _PERMANENT_BY_STAGE[stage]
        return EmailPermanentError(detail, code=slug, user_message=sentence, provider_code=provider_code)
    if code is None and stage == "data":
        return EmailOutcomeUnknown(detail)
    if code is None:
        return EmailTransientError(
            detail, user_message="Der Mailserver ist gerade nicht erreichbar; neuer Versuch folgt."
        )
    # 4xx at any stage, and 5xx while connecting (a refusal of the session, not of this message).
    return EmailTransientError(detail, provider_code=provider_code)
