"""The e-mail channel: one reminder e-mail per attempt, sent over SMTP through Django's backend.

Pipeline: ``OutboundEmail`` (one ``DeliveryAttempt``) → ``build_message`` (a Django ``EmailMessage`` whose
``message()`` is RFC 5322-correct) → ``SmtpUtf8EmailBackend`` (``settings.EMAIL_BACKEND``) →
``send_email`` returns the Message-ID.

* **Headers** (DESIGN.md invariant 6): From, To, Subject, Date, Message-ID, Auto-Submitted,
  Content-Language and the MIME structure headers, nothing else: no X-Mailer, no machine name (Django's
  own Message-ID carries the host's FQDN; ours is ``<attempt-uuid@sender-domain>``, so replies and
  bounces quoting it can be correlated, RFC 5322 §3.6.4).
* **Encoding**: see ``email_format``: display names and subjects as whole RFC 2047 encoded-words when the
  envelope is ASCII, never an encoded-word in an addr-spec (RFC 2047 §5); IDN domains as A-labels via
  Python's ``idna`` codec (IDNA 2003; the IDNA 2008 ``idna`` package is not installed).
* **SMTPUTF8** (RFC 6531/6532): a non-ASCII local part (sender or recipient) needs a server that
  advertises SMTPUTF8 after EHLO; then MAIL FROM carries ``SMTPUTF8`` and headers are raw UTF-8. There is
  no downgrade (RFC 6530 §8), so otherwise ``SmtpUtf8Unsupported`` is raised before MAIL FROM.
* **Transport**: STARTTLS (``EMAIL_USE_TLS``, port 587, RFC 3207), implicit TLS (``EMAIL_USE_SSL``, port
  465, RFC 8314) and AUTH are Django's, with a client class that can send non-ASCII passwords
  (``email_smtp.Utf8AuthSMTP``). Certificates are verified against the system CAs (or the file named by
  ``SSL_CERT_FILE``). Settings are read when a backend is created, i.e. at call time.

Errors (``alphasms.messaging.gateways.errors``; ``str()`` never holds the SMTP password, and addresses
in server replies are masked):

* ``EmailPermanentError``: a 5xx reply to MAIL/RCPT/DATA (RFC 5321 §4.2.1), e.g. 550 recipient rejected.
* ``SmtpUtf8Unsupported`` (permanent): EAI address, server without SMTPUTF8; nothing was sent.
* ``InvalidEmailAddress`` (permanent): the address cannot be written on the wire.
* ``EmailTransientError``: 4xx replies, refused connections, timeouts or drops before DATA.
* ``EmailOutcomeUnknown`` (ambiguous, also an ``OutcomeUnknown``): timeout or drop once DATA was issued.
* ``SmtpMisconfigured`` (a ``GatewayMisconfigured``, not a GatewayError): credentials refused (535),
  AUTH or STARTTLS not offered, certificate not trusted; it names the setting to fix.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage as StdlibEmailMessage
from email.message import Message
from email.policy import Policy
from email.utils import format_datetime, getaddresses
from io import BytesIO

from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends import smtp
from django.utils import timezone

from alphasms.messaging.email_format import (
    InvalidEmailAddress,
    MimeParts,
    build_mime,
    check_language,
    clean_header_text,
    parse_address,
    requires_smtputf8,
)
from alphasms.messaging.email_smtp import (
    EmailOutcomeUnknown,
    EmailPermanentError,
    EmailTransientError,
    Envelope,
    SmtpMisconfigured,
    SmtpUtf8Unsupported,
    Utf8AuthSMTP,
    Utf8AuthSMTPSSL,
    classify,
    make_scrubber,
    send_transaction,
)
from alphasms.messaging.gateways.errors import GatewayError, GatewayMisconfigured

__all__ = [
    "EmailOutcomeUnknown",
    "EmailPermanentError",
    "EmailTransientError",
    "InvalidEmailAddress",
    "OutboundEmail",
    "ReminderEmailMessage",
    "SmtpMisconfigured",
    "SmtpUtf8EmailBackend",
    "SmtpUtf8Unsupported",
    "build_message",
    "reference_from_message_id",
    "requires_smtputf8",
    "send_email",
]

_REFERENCE = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\Z")  # fits a msg-id's id-left
_MESSAGE_ID = re.compile(r"<([^<>@]+)@[^<>@]+>\Z")


@dataclass(frozen=True)
class OutboundEmail:
    """One reminder e-mail for one attempt.

    ``reference``: our ``DeliveryAttempt`` id (UUID string), put into the Message-ID. Addresses are bare
    addr-specs ("jörg.bäcker@beispiel-mail.example"), names are display names ("" for none). ``language``
    is a BCP 47 tag ("de", "en") for Content-Language. ``ics``: an RFC 5545 object with CRLF lines and
    ``METHOD:PUBLISH``, attached as text/calendar; method=PUBLISH, or None for no attachment.
    """

    reference: str
    from_name: str
    from_address: str
    to_name: str
    to_address: str
    subject: str
    text: str
    language: str
    ics: bytes | None = None


class ReminderEmailMessage(EmailMessage):
    """A Django ``EmailMessage`` for one ``OutboundEmail``; ``message()`` builds it with ``build_mime``.

    The Django attributes (subject, body, from_email, to, attachments) mirror the content for tests that
    read ``mail.outbox``; ``envelope``, ``message_id`` and ``parts`` are what the backend sends.
    """

    def __init__(self, parts: MimeParts) -> None:
        super().__init__(
            subject=parts.subject,
            body=parts.text,
            from_email=str(Address(parts.sender_name, parts.sender.local, parts.sender.domain)),
            to=[str(Address(parts.recipient_name, parts.recipient.local, parts.recipient.domain))],
        )
        if parts.ics is not None:
            self.attach(parts.ics_filename, parts.ics, "text/calendar")
        self.parts = parts
        self.envelope = Envelope(parts.sender, (parts.recipient,))
        self.message_id = parts.message_id

    def message(self, *, policy: Policy | None = None) -> StdlibEmailMessage:
        """The RFC 5322 message; ``policy`` is ignored: the envelope decides SMTP vs SMTPUTF8 policy."""
        return build_mime(self.parts)

    def recipients(self) -> list[str]:
        return [r.addr_spec for r in self.envelope.recipients]


def build_message(mail: OutboundEmail) -> ReminderEmailMessage:
    """Build the Django message for ``mail``; no I/O.

    Header values are cleaned (control characters and line breaks become spaces, so no header can be
    injected); the Date is now in UTC; the Message-ID is ``<{reference}@{sender A-label domain}>``.
    Raises ``InvalidEmailAddress`` (permanent GatewayError) for an address that cannot be written, and
    ValueError for a programming error (reference not msg-id-safe, bad language tag, an .ics without
    ``METHOD:PUBLISH``).
    """
    sender, recipient = parse_address(mail.from_address), parse_address(mail.to_address)
    if not _REFERENCE.match(mail.reference):
        raise ValueError(f"reference must be msg-id safe (a UUID), got {mail.reference!r}")
    if mail.ics is not None and b"METHOD:PUBLISH" not in mail.ics:
        raise ValueError("the .ics must contain METHOD:PUBLISH to match method=PUBLISH (RFC 6047 §2.4)")
    language = check_language(mail.language)
    parts = MimeParts(
        sender_name=clean_header_text(mail.from_name),
        sender=sender,
        recipient_name=clean_header_text(mail.to_name),
        recipient=recipient,
        subject=clean_header_text(mail.subject),
        text=mail.text,
        language=language,
        date=format_datetime(timezone.now().astimezone(dt.UTC).replace(microsecond=0)),
        message_id=f"<{mail.reference}@{sender.domain}>",
        ics=mail.ics,
        ics_filename="termin.ics" if language.lower().startswith("de") else "appointment.ics",
    )
    return ReminderEmailMessage(parts)


def send_email(mail: OutboundEmail) -> str:
    """Send ``mail`` through ``settings.EMAIL_BACKEND`` and return its Message-ID ("<uuid@domain>").

    Side effects: one SMTP connection (connect, optional STARTTLS and AUTH, one transaction, QUIT); the
    practice's server receives sender, recipient, subject, text and the optional .ics, nothing else.
    Errors: see the module docstring (``EmailPermanentError``, ``SmtpUtf8Unsupported``,
    ``InvalidEmailAddress``, ``EmailTransientError``, ``EmailOutcomeUnknown``, ``SmtpMisconfigured``).
    Sources: RFC 5321 (SMTP), 5322 (format), 2047 §5, 6531/6532 (SMTPUTF8), 3834, 5545.
    """
    message = build_message(mail)
    get_connection(fail_silently=False).send_messages([message])
    return message.message_id


def reference_from_message_id(message_id: str) -> str | None:
    """Our attempt reference from a Message-ID we generated ("<uuid@domain>" -> "uuid"), else None.

    For bounces and replies: their In-Reply-To/References quote it (RFC 5322 §3.6.4)."""
    match = _MESSAGE_ID.match(message_id.strip())
    return match.group(1) if match else None


class SmtpUtf8EmailBackend(smtp.EmailBackend):
    """Django's SMTP backend with SMTPUTF8, explicit transaction stages and errors mapped to ours.

    For a ``ReminderEmailMessage`` the envelope comes from the message; any other Django message (admin
    mail, password reset) is sent with Django's own MIME and must have ASCII local parts. A message with
    several recipients is sent only if every RCPT is accepted. Raises the errors listed in the module
    docstring instead of smtplib's; ``fail_silently`` is not supported for SMTP errors.
    """

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        try:
            return int(super().send_messages(email_messages))
        except (GatewayError, GatewayMisconfigured):
            raise
        except (smtplib.SMTPException, OSError) as exc:  # from open(): connect, STARTTLS, AUTH
            error = classify(exc, "connect", make_scrubber(self.username, self.password))
        # Raised outside the except block: no chained smtplib traceback (its frames hold the password).
        raise error

    @property
    def connection_class(self) -> type[Utf8AuthSMTP]:
        return Utf8AuthSMTPSSL if self.use_ssl else Utf8AuthSMTP

    def _send(self, email_message: EmailMessage) -> bool:
        if not email_message.recipients():
            return False
        envelope, data = _envelope_and_bytes(email_message)
        connection = self.connection
        assert connection is not None, "send_messages() opens the connection first"
        try:
            connection.ehlo_or_helo_if_needed()
        except (smtplib.SMTPException, OSError) as exc:
            error = classify(exc, "connect", make_scrubber(self.username, self.password))
        else:
            if envelope.smtputf8 and not connection.has_extn("smtputf8"):
                raise self._smtputf8_unsupported(envelope)
            send_transaction(connection, envelope, data, make_scrubber(self.username, self.password))
            return True
        raise error

    def _close_connection(self, connection: smtplib.SMTP) -> None:
        # QUIT comes after the server's final reply: a failure here must neither turn a sent message
        # into an error nor replace the error being raised.
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()

    def _smtputf8_unsupported(self, envelope: Envelope) -> SmtpUtf8Unsupported:
        eai = [a.addr_spec for a in (envelope.sender, *envelope.recipients) if a.smtputf8]
        return SmtpUtf8Unsupported(
            f"SMTP server {self.host}:{self.port} does not advertise SMTPUTF8 (RFC 6531), which "
            f"{', '.join(eai)} needs for its non-ASCII local part; nothing was sent. Fix: reach this "
            "customer by SMS, or set ALPHASMS_SMTP_HOST to a server that offers SMTPUTF8."
        )


def _envelope_and_bytes(message: EmailMessage) -> tuple[Envelope, bytes]:
    if isinstance(message, ReminderEmailMessage):
        return message.envelope, _wire_bytes(message.message())
    sender = parse_address(getaddresses([message.from_email])[0][1])
    recipients = tuple(parse_address(addr) for _, addr in getaddresses(message.recipients()))
    envelope = Envelope(sender, recipients)
    if envelope.smtputf8:
        # Django's MIME would put an encoded-word into the addr-spec (RFC 2047 §5 forbids it).
        raise EmailPermanentError(
            "non-ASCII local part in a plain Django message; build it with "
            "alphasms.messaging.email.build_message, which writes SMTPUTF8 headers"
        )
    return envelope, _wire_bytes(message.message())


def _wire_bytes(msg: Message) -> bytes:
    """Serialise with CRLF line ends (RFC 5321 §2.3.8) for both stdlib and Django's compat32 messages."""
    buffer = BytesIO()
    BytesGenerator(buffer, mangle_from_=False).flatten(msg, linesep="\r\n")
    return buffer.getvalue()
