"""Addresses and MIME for the e-mail channel: addr-specs, IDN domains, header encoding, the message tree.

Framework-free helpers behind ``alphasms.messaging.email`` (which re-exports what callers need).

Two header modes, chosen per message by its envelope:

* **ASCII** (every local part is ASCII): 7-bit headers. A non-ASCII display name or subject becomes RFC 2047
  encoded-words *as a whole* (a "phrase" or unstructured text, RFC 2047 §5(1) and §5(3)); the addr-spec
  after it stays plain ASCII, because "an encoded-word MUST NOT appear in any portion of an addr-spec"
  (§5). Python's default policy breaks that rule for non-ASCII local parts (cpython#122476), so these
  headers are written with ``set_raw`` from ``email.header.Header`` output, never re-folded by the policy.
* **UTF-8** (a local part is non-ASCII, an EAI address): raw UTF-8 headers under
  ``email.policy.SMTPUTF8`` (RFC 6532 §3); the transport must then use SMTPUTF8 (RFC 6531).

IDN domains are written as A-labels (punycode) in both modes. The ``idna`` package (IDNA 2008, RFC 5891)
is not installed, so Python's built-in ``idna`` codec is used: IDNA 2003 (RFC 3490/3491, nameprep). The
two disagree on four "deviation" characters (ß, ς, ZWJ, ZWNJ): IDNA 2003 maps "straße.example" to
"strasse.example", a *different* registered domain, so such domains are refused instead of guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy as email_policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr

from alphasms.messaging.gateways.errors import InvalidRecipient

MAX_LINE = 78  # RFC 5322 §2.1.1: lines SHOULD be at most 78 characters without CRLF
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_ASCII_LOCAL = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*\Z")  # dot-atom, RFC 5322 §3.2.3
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")  # LDH label, RFC 1035 §2.3.1 / RFC 5890
_IDNA_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")  # UTS #46 §4.1.1: ß ς ZWNJ ZWJ
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*\Z")  # BCP 47 shape, RFC 3282 Content-Language


class InvalidEmailAddress(InvalidRecipient):
    """The address cannot be written on the wire as given (no '@', bad characters, a bad domain).

    Permanent (``code`` "invalid_recipient", also a ValueError): the customer record needs correcting."""

    default_user_message = "Die E-Mail-Adresse ist ungültig; bitte im Kundenstamm korrigieren."


@dataclass(frozen=True)
class MailAddress:
    """One addr-spec ready for the wire: ``local`` as given (may be UTF-8), ``domain`` in A-labels.

    ``smtputf8`` is True when the local part is non-ASCII, i.e. the envelope needs SMTPUTF8 (RFC 6531 §3.3).
    """

    local: str
    domain: str

    @property
    def addr_spec(self) -> str:
        return f"{self.local}@{self.domain}"

    @property
    def smtputf8(self) -> bool:
        return not self.local.isascii()


def parse_address(address: str) -> MailAddress:
    """Parse a bare addr-spec ("anna@bücher.example") into a ``MailAddress`` with an A-label domain.

    Accepts dot-atom local parts (RFC 5322 §3.2.3) with UTF-8 characters allowed (RFC 6532 §3.2); quoted
    local parts, address literals and comments are refused. Surrounding whitespace is ignored.
    Raises ``InvalidEmailAddress`` (permanent) naming what is wrong. No I/O.
    """
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        raise InvalidEmailAddress(f"not an addr-spec (local@domain): {address!r}")
    ascii_skeleton = "".join(ch if ch.isascii() else "a" for ch in local)
    if not _ASCII_LOCAL.match(ascii_skeleton) or len(local.encode()) > 64:  # RFC 5321 §4.5.3.1.1
        raise InvalidEmailAddress(f"local part is not a dot-atom of at most 64 octets: {address!r}")
    return MailAddress(local, to_ascii_domain(domain))


def to_ascii_domain(domain: str) -> str:
    """Return ``domain`` with every label as an A-label ("bücher.example" -> "xn--bcher-kva.example").

    Uses Python's ``idna`` codec (IDNA 2003, RFC 3490 ToASCII with nameprep); refuses the IDNA 2003/2008
    deviation characters (ß, ς, ZWJ, ZWNJ) rather than map them to another domain. Raises
    ``InvalidEmailAddress`` for empty or over-long labels and characters a hostname cannot hold.
    """
    if not domain.isascii():
        if _IDNA_DEVIATIONS & set(domain):
            raise InvalidEmailAddress(
                f"domain {domain!r} contains ß, ς, ZWJ or ZWNJ, which IDNA 2003 (Python's codec) maps to a "
                "different domain than IDNA 2008; install the 'idna' package to send there"
            )
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidEmailAddress(f"domain {domain!r} is not a valid IDN: {exc}") from None
    labels = domain.removesuffix(".").split(".")
    if len(domain) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InvalidEmailAddress(f"domain {domain!r} is not a valid host name")
    return ".".join(labels)


def requires_smtputf8(address: str) -> bool:
    """True when ``address`` has a non-ASCII local part, so it can only travel with SMTPUTF8 (RFC 6531).

    A non-ASCII *domain* alone does not need it (it becomes punycode), nor does a display name (it
    becomes an RFC 2047 encoded-word). Does not validate the address; use ``parse_address`` for that.
    """
    return not address.strip().rpartition("@")[0].isascii()


def clean_header_text(text: str) -> str:
    """Collapse whitespace and drop control characters: no CR/LF can ever start a header of its own."""
    return " ".join(_CONTROL.sub(" ", text).split())


def check_language(language: str) -> str:
    """Return ``language`` if it has the shape of a BCP 47 tag ("de", "en-GB"), else raise ValueError."""
    if not _LANGUAGE.match(language):
        raise ValueError(f"Content-Language must be a BCP 47 tag such as 'de', got {language!r}")
    return language


def _encoded(header: str, text: str) -> str:
    """Unstructured text as 7-bit header value: as is when ASCII, else whole RFC 2047 encoded-words."""
    charset = "us-ascii" if text.isascii() else "utf-8"  # "utf-8" would encode plain ASCII too
    return Header(text, charset, header_name=header).encode(linesep="\n")


def _ascii_mailbox(header: str, name: str, address: MailAddress) -> str:
    """A name-addr with an ASCII addr-spec; the display name quoted (RFC 5322 §3.2.4) or encoded."""
    if not name:
        return address.addr_spec
    if name.isascii():
        return formataddr((name, address.addr_spec))
    phrase = _encoded(header, name)
    lines = phrase.split("\n")
    used = len(lines[-1]) + (len(header) + 2 if len(lines) == 1 else 0)
    fold = "\n " if used + len(address.addr_spec) + 3 > MAX_LINE else " "
    return f"{phrase}{fold}<{address.addr_spec}>"


@dataclass(frozen=True)
class MimeParts:
    """Everything that goes into the message tree; header values already cleaned and checked."""

    sender_name: str
    sender: MailAddress
    recipient_name: str
    recipient: MailAddress
    subject: str
    text: str
    language: str
    date: str
    message_id: str
    ics: bytes | None
    ics_filename: str

    @property
    def smtputf8(self) -> bool:
        return self.sender.smtputf8 or self.recipient.smtputf8


def build_mime(parts: MimeParts) -> EmailMessage:
    """Build the stdlib message: headers in a fixed order, a quoted-printable text/plain body and, when
    ``parts.ics`` is set, a multipart/mixed with a base64 text/calendar; method=PUBLISH attachment
    (RFC 5545 §3.1 requires CRLF lines, which base64 keeps byte for byte; RFC 6047 §2.4 method parameter).

    Quoted-printable rather than 8bit keeps the body 7-bit, so no server needs 8BITMIME (RFC 6152).
    """
    policy = email_policy.SMTPUTF8 if parts.smtputf8 else email_policy.SMTP
    msg = EmailMessage(policy=policy)
    if parts.smtputf8:
        msg["From"] = Address(parts.sender_name, parts.sender.local, parts.sender.domain)
        msg["To"] = Address(parts.recipient_name, parts.recipient.local, parts.recipient.domain)
        msg["Subject"] = parts.subject
    else:
        msg.set_raw("From", _ascii_mailbox("From", parts.sender_name, parts.sender))
        msg.set_raw("To", _ascii_mailbox("To", parts.recipient_name, parts.recipient))
        msg.set_raw("Subject", _encoded("Subject", parts.subject))
    msg.set_raw("Date", parts.date)
    msg.set_raw("Message-ID", parts.message_id)
    msg.set_raw("Auto-Submitted", "auto-generated")  # RFC 3834 §5: no auto-replies to this
    msg.set_content(parts.text, cte="quoted-printable")
    if parts.ics is not None:
        msg.make_mixed()
        calendar = EmailMessage(policy=policy)
        calendar.set_content(
            parts.ics,
            "text",
            "calendar",
            cte="base64",
            disposition="attachment",
            filename=parts.ics_filename,
            params={"method": "PUBLISH", "charset": "utf-8"},
        )
        del calendar["MIME-Version"]  # belongs to the top level only (RFC 2045 §4)
        msg.attach(calendar)
    # Last: set_content() and make_mixed() clear or move every Content-* header of the top level.
    msg.set_raw("Content-Language", parts.language)  # RFC 3282
    return msg
