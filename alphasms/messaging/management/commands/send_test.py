"""``alphasms send-test --gateway NAME --to NUMBER_OR_ADDRESS [--text TEXT]``: send one message and,
when it fails, say what is wrong — credentials, sender ID, number, network or TLS — and what to do.

An address with "@" goes through the configured mail server; anything else through the named SMS
gateway. Exit codes: 0 accepted, 1 the provider refused or could not be reached, 2 usage error.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

from django.core.management.base import CommandParser

from alphasms.cli_text import t
from alphasms.commands import AlphaCommand, UsageError
from alphasms.messaging.encoding import analyse
from alphasms.messaging.gateways.base import OutboundSms
from alphasms.messaging.gateways.errors import (
    AuthenticationFailed,
    GatewayError,
    GatewayMisconfigured,
    GatewayUnavailable,
    InsufficientFunds,
    InvalidRecipient,
    OutcomeUnknown,
    RateLimited,
    SenderNotAllowed,
)
from alphasms.messaging.gateways.registry import GATEWAYS, get_gateway
from alphasms.messaging.phone import FLAG_MESSAGES, to_e164

DEFAULT_TEXT = "Test von AlphaSMS: Wenn Sie diese Nachricht lesen, funktioniert der Versand."


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


class Command(AlphaCommand):
    help = "Sendet eine Testnachricht über ein Gateway und erklärt, was bei einem Fehler nicht stimmt."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--gateway", required=True, help=f"eines von: {', '.join(sorted(GATEWAYS))}, smtp"
        )
        parser.add_argument("--to", required=True, help="Mobilnummer oder E-Mail-Adresse")
        parser.add_argument("--text", default=DEFAULT_TEXT)

    def handle(self, *args: Any, **options: Any) -> None:
        slug, to, text = options["gateway"], options["to"], options["text"]
        try:
            if "@" in to or slug == "smtp":
                message_id = self._send_email(to, text)
            else:
                message_id = self._send_sms(slug, to, text)
        except GatewayMisconfigured as exc:
            raise UsageError(
                t(f"Einstellung fehlt oder ist falsch: {exc}", f"Setting missing or wrong: {exc}")
            ) from None
        except GatewayError as exc:
            de, en = diagnosis(exc)
            self.stderr.write(t(f"Fehlgeschlagen ({exc.code}). {de}", f"Failed ({exc.code}). {en}"))
            sys.exit(1)
        self.stdout.write(
            t(
                f"Angenommen. Kennung beim Anbieter: {message_id or '–'}",
                f"Accepted. Provider's id: {message_id or '–'}",
            )
        )

    def _send_sms(self, slug: str, to: str, text: str) -> str:
        if slug not in GATEWAYS:
            raise UsageError(
                t(
                    f"--gateway: {slug!r} unbekannt; möglich: {', '.join(sorted(GATEWAYS))}",
                    f"--gateway: unknown {slug!r}; choose one of: {', '.join(sorted(GATEWAYS))}",
                )
            )
        number = to_e164(to)
        if not number.e164 or not number.sms_ok:
            reasons = "; ".join(FLAG_MESSAGES.get(f, (f, f))[0] for f in number.flags) or number.type
            raise UsageError(
                t(
                    f"--to: {to!r} ist keine Mobilnummer ({reasons}).",
                    f"--to: {to!r} is not a mobile number ({number.type}).",
                )
            )
        from alphasms.conf import app_settings

        sms = OutboundSms(
            reference=str(uuid.uuid4()),
            to_e164=number.e164,
            text=text,
            sender_id=app_settings.SMS_SENDER_ID,
            segments=analyse(text).segments,
        )
        return get_gateway(slug).send(sms).gateway_message_id

    def _send_email(self, to: str, text: str) -> str:
        from email.utils import parseaddr

        from django.conf import settings

        from alphasms.messaging.email import OutboundEmail, send_email

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
        return send_email(mail)
