"""One test message through a gateway, and a diagnosis that says what is wrong when it fails: the use
case behind ``alphasms send-test`` and the "Send test" button of Settings → Gateways.

An address with "@" goes through the configured mail server or e-mail provider; anything else through
the named SMS gateway. The message is not stored as an ``OutboundMessage`` (it reminds nobody): it is
one provider call with a fresh reference, and it costs what one SMS costs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from alphasms.conf import app_settings
from alphasms.messaging.encoding import analyse
from alphasms.messaging.gateways.base import OutboundSms
from alphasms.messaging.gateways.errors import (
    AuthenticationFailed,
    GatewayError,
    GatewayUnavailable,
    InsufficientFunds,
    InvalidRecipient,
    OutcomeUnknown,
    RateLimited,
    SenderNotAllowed,
)
from alphasms.messaging.gateways.registry import GATEWAYS, get_gateway
from alphasms.messaging.phone import FLAG_MESSAGES, TYPE_LABELS, to_e164

DEFAULT_TEXT = "Test von AlphaSMS: Wenn Sie diese Nachricht lesen, funktioniert der Versand."


class SendTestInputError(ValueError):
    """Bad input, nothing sent: ``field`` is ``gateway`` or ``to``; ``headline_de``/``headline_en`` say
    what is wrong in one sentence and ``hints_de``/``hints_en`` list why (one sentence each, e.g. the
    phone number's flags); ``de``/``en`` are headline and hints as one text (for the CLI)."""

    def __init__(
        self, field: str, de: str, en: str, hints_de: Sequence[str] = (), hints_en: Sequence[str] = ()
    ) -> None:
        self.field, self.headline_de, self.headline_en = field, de, en
        self.hints_de, self.hints_en = tuple(hints_de), tuple(hints_en)
        self.de = " ".join([de, *self.hints_de]).strip()
        self.en = " ".join([en, *self.hints_en]).strip()
        super().__init__(self.en)


@dataclass(frozen=True)
class SendTestOutcome:
    """What happened: ``accepted`` by the provider (then ``message_id`` is its id, "" if none) or not
    (then ``code`` is the error's stable slug and ``de``/``en`` the diagnosis sentence). ``channel`` is
    ``sms`` or ``email``; ``gateway`` the slug used (``smtp``/the provider for e-mail)."""

    accepted: bool
    channel: str
    gateway: str
    message_id: str = ""
    code: str = ""
    de: str = ""
    en: str = ""


def diagnosis(exc: GatewayError) -> tuple[str, str]:
    """(German, English) explanation of a failed test send: which part is wrong and what to do."""
    detail = f"{exc.detail} {exc.excerpt}".lower()
    if "ssl" in detail or "certificate" in detail or "tls" in detail:
        return (
            "TLS: die verschlüsselte Verbindung scheiterte (Zertifikat, Uhrzeit des Rechners, Proxy).",
            "TLS: the encrypted connection failed (certificate, the computer's clock, a proxy).",
        )
    if isinstance(exc, AuthenticationFailed):
        return (
            "Zugangsdaten: der Anbieter lehnt API-Schlüssel oder Passwort ab – im Kundenkonto prüfen.",
            "Credentials: the provider refuses the API key or password – check them in your account.",
        )
    if isinstance(exc, SenderNotAllowed):
        return (
            "Absenderkennung: beim Anbieter nicht erlaubt oder nicht registriert – "
            "ALPHASMS_SMS_SENDER_ID prüfen.",
            "Sender ID: not allowed or not registered at the provider – check ALPHASMS_SMS_SENDER_ID.",
        )
    if isinstance(exc, InvalidRecipient):
        return (
            "Nummer: der Anbieter hält die Empfängernummer für ungültig oder nicht erreichbar.",
            "Number: the provider considers the recipient invalid or unreachable.",
        )
    if isinstance(exc, InsufficientFunds):
        return (
            "Guthaben: das Konto beim Anbieter muss aufgeladen werden.",
            "Funds: top up the provider account.",
        )
    if isinstance(exc, RateLimited):
        return (
            "Der Anbieter bremst: später erneut versuchen.",
            "The provider is rate limiting: try again later.",
        )
    if isinstance(exc, (GatewayUnavailable, OutcomeUnknown)):
        return (
            "Netzwerk: der Anbieter ist nicht erreichbar (Adresse, Firewall, Proxy, Internetverbindung).",
            "Network: the provider cannot be reached (address, firewall, proxy, internet connection).",
        )
    return (f"Der Anbieter hat abgelehnt: {exc.user_message}", f"The provider refused: {exc}")


_SETTING = re.compile(r"ALPHASMS_[A-Z0-9_]+")


def misconfiguration(exc: Exception) -> tuple[str, str]:
    """(German, English) sentence for a ``GatewayMisconfigured``: the gateways word it in English only
    ("ALPHASMS_SEVENIO_API_KEY is not set: create an API key …"), so the German one names the settings
    it mentions and the fix; the English one is the gateway's own text."""
    detail = str(exc)
    names = [n for n in dict.fromkeys(_SETTING.findall(detail)) if not n.endswith("_FILE")]
    english = f"Setting missing or wrong: {detail}"
    if not names:
        return "Das Gateway ist nicht vollständig eingerichtet; die Einstellungen prüfen.", english
    listed = " und ".join(names)
    if "not set" in detail or "missing" in detail:
        verb = "ist nicht gesetzt" if len(names) == 1 else "sind nicht gesetzt"
        return (
            f"Einstellung fehlt: {listed} {verb}. Den Wert im Kundenkonto des Anbieters nachsehen "
            f"(siehe Dokumentation des Anbieters) und unter Einstellungen → Gateways speichern oder "
            f"als {names[0]} bzw. {names[0]}_FILE setzen.",
            english,
        )
    verb = "hat" if len(names) == 1 else "haben"
    return (
        f"Einstellung falsch: {listed} {verb} einen unbrauchbaren Wert. Den Wert mit der "
        "Dokumentation des Anbieters vergleichen und neu speichern.",
        english,
    )


def send_test(gateway: str, to: str, text: str = DEFAULT_TEXT) -> SendTestOutcome:
    """Send one test message to ``to`` (a mobile number in any common spelling, or an e-mail address)
    through the SMS gateway ``gateway`` (a registry slug; ignored for an address, and ``smtp`` forces
    e-mail) and return the outcome; a provider's refusal is an outcome, not an exception.

    Side effects: one provider call (one SMS paid on success) or one e-mail sent. Raises
    :class:`SendTestInputError` (unknown gateway, not a mobile number; nothing sent) and
    ``GatewayMisconfigured`` (a setting missing or wrong; its message names the setting, nothing sent).
    """
    if "@" in to or gateway == "smtp":
        return _send_email(to, text)
    if gateway not in GATEWAYS:
        known = ", ".join(sorted(GATEWAYS))
        raise SendTestInputError(
            "gateway",
            f"Gateway {gateway!r} unbekannt; möglich: {known}",
            f"Unknown gateway {gateway!r}; choose one of: {known}",
        )
    number = to_e164(to)
    if not number.e164 or not number.sms_ok:
        kind = TYPE_LABELS.get(number.type, (number.type, number.type))
        flags = [FLAG_MESSAGES.get(f, (f, f)) for f in number.flags]
        raise SendTestInputError(
            "to",
            f"{to!r} ist keine Mobilnummer ({kind[0]}).",
            f"{to!r} is not a mobile number ({kind[1]}).",
            [de for de, _en in flags],
            [en for _de, en in flags],
        )
    sms = OutboundSms(
        reference=str(uuid.uuid4()),
        to_e164=number.e164,
        text=text,
        sender_id=app_settings.SMS_SENDER_ID,
        segments=analyse(text).segments,
    )
    try:
        message_id = get_gateway(gateway).send(sms).gateway_message_id
    except GatewayError as exc:
        de, en = diagnosis(exc)
        return SendTestOutcome(False, "sms", gateway, code=exc.code, de=de, en=en)
    return SendTestOutcome(True, "sms", gateway, message_id=message_id)


def _send_email(to: str, text: str) -> SendTestOutcome:
    from email.utils import parseaddr

    from django.conf import settings

    from alphasms.messaging.email import OutboundEmail, send_email
    from alphasms.messaging.email_providers import configured_slug

    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    mail = OutboundEmail(
        reference=str(uuid.uuid4()),
        from_name=name,
        from_address=address,
        to_name="",
        to_address=to,
        subject="Test von AlphaSMS",
        text=text,
        language="de",
    )
    provider = configured_slug()
    try:
        message_id = send_email(mail)
    except GatewayError as exc:
        de, en = diagnosis(exc)
        return SendTestOutcome(False, "email", provider, code=exc.code, de=de, en=en)
    return SendTestOutcome(True, "email", provider, message_id=message_id)
