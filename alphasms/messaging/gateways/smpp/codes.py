"""SMPP v3.4 ``command_status`` values and session failures → our errors, with a sentence for staff.

Source: SMPP Protocol Specification v3.4 Issue 1.2, §5.1.3 "command_status"
(https://smpp.org/SMPP_v3_4_Issue1_2.pdf#page=112, read 2026-11-30; the same values are in smpplib 2.2.4
``smpplib/consts.py``). The spec names codes but not whether a retry helps; that judgement is ours and
follows the NowSMS code reference (http://blog.nowsms.com/2009/09/smpp-error-code-reference.html) and
OpenMarket's submit_sm_resp table (https://openmarket.com/docs/Content/apis/v4smpp/mt-response-codes.htm),
both read 2026-11-30: 0x08 and 0x14 "you may retry", 0x58 "exceeded the configured throttle limit".
"""

from __future__ import annotations

from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.errors import GatewayError
from alphasms.messaging.gateways.smpp.session import NotBound, SessionError, WindowFull

_AUTH, _BUG, _DOWN = errors.AuthenticationFailed, errors.RejectedByProvider, errors.GatewayUnavailable
_OUR_BUG = " (Programmfehler, bitte melden)."
_CREDENTIALS = "Der SMSC hat die SMPP-Anmeldung abgelehnt ({}); ALPHASMS_SMPP_SYSTEM_ID/-_PASSWORD prüfen."

#: command_status → (name, our error, staff sentence).
COMMAND_STATUS: dict[int, tuple[str, type[GatewayError], str]] = {
    0x01: ("ESME_RINVMSGLEN", _BUG, "Der SMSC hält die Nachrichtenlänge für ungültig" + _OUR_BUG),
    0x02: ("ESME_RINVCMDLEN", _BUG, "Der SMSC hält die PDU-Länge für ungültig" + _OUR_BUG),
    0x03: ("ESME_RINVCMDID", _BUG, "Der SMSC kennt den SMPP-Befehl nicht" + _OUR_BUG),
    0x04: ("ESME_RINVBNDSTS", _DOWN, "Die SMPP-Sitzung war nicht angemeldet; neuer Versuch folgt."),
    0x05: ("ESME_RALYBND", _DOWN, "Der SMSC meldet eine doppelte Anmeldung; neuer Versuch folgt."),
    0x06: ("ESME_RINVPRTFLG", _BUG, "Der SMSC lehnt die Priorität ab" + _OUR_BUG),
    0x07: ("ESME_RINVREGDLVFLG", _BUG, "Der SMSC lehnt die Anforderung von Zustellberichten ab."),
    0x08: ("ESME_RSYSERR", _DOWN, "Systemfehler beim SMSC; neuer Versuch folgt."),
    0x0A: ("ESME_RINVSRCADR", errors.SenderNotAllowed, "Der SMSC lehnt die Absenderkennung ab."),
    0x0B: ("ESME_RINVDSTADR", errors.InvalidRecipient, "Der SMSC hält die Empfängernummer für ungültig."),
    0x0D: ("ESME_RBINDFAIL", _AUTH, _CREDENTIALS.format("Bind failed")),
    0x0E: ("ESME_RINVPASWD", _AUTH, _CREDENTIALS.format("falsches Passwort")),
    0x0F: ("ESME_RINVSYSID", _AUTH, _CREDENTIALS.format("unbekannte System-ID")),
    0x14: ("ESME_RMSGQFUL", _DOWN, "Die Warteschlange des SMSC ist voll; neuer Versuch folgt."),
    0x15: ("ESME_RINVSERTYP", _BUG, "Der SMSC lehnt den service_type ab" + _OUR_BUG),
    0x43: ("ESME_RINVESMCLASS", _BUG, "Der SMSC lehnt die esm_class (langer SMS-Kopf) ab."),
    0x45: (
        "ESME_RSUBMITFAIL",
        errors.RejectedByProvider,
        "Der SMSC hat die SMS abgelehnt (submit_sm failed).",
    ),
    0x48: ("ESME_RINVSRCTON", errors.SenderNotAllowed, "Der SMSC lehnt die Art der Absenderkennung ab."),
    0x49: ("ESME_RINVSRCNPI", errors.SenderNotAllowed, "Der SMSC lehnt die Art der Absenderkennung ab."),
    0x50: ("ESME_RINVDSTTON", errors.InvalidRecipient, "Der SMSC lehnt das Nummernformat des Empfängers ab."),
    0x51: ("ESME_RINVDSTNPI", errors.InvalidRecipient, "Der SMSC lehnt das Nummernformat des Empfängers ab."),
    0x53: ("ESME_RINVSYSTYP", _AUTH, _CREDENTIALS.format("system_type; ALPHASMS_SMPP_SYSTEM_TYPE prüfen")),
    0x58: (
        "ESME_RTHROTTLED",
        errors.RateLimited,
        "Der SMSC bremst den Versand (Durchsatz-Limit); neuer Versuch folgt.",
    ),
    0x61: ("ESME_RINVSCHED", _BUG, "Der SMSC lehnt die Versandzeit ab" + _OUR_BUG),
    0x62: ("ESME_RINVEXPIRY", _BUG, "Der SMSC lehnt die Gültigkeitsdauer ab" + _OUR_BUG),
    0x64: ("ESME_RX_T_APPN", _DOWN, "Vorübergehender Fehler beim SMSC; neuer Versuch folgt."),
    0x65: ("ESME_RX_P_APPN", errors.RejectedByProvider, "Der SMSC hat die SMS dauerhaft abgelehnt."),
    0x66: ("ESME_RX_R_APPN", errors.RejectedByProvider, "Der SMSC hat die SMS abgelehnt."),
    0xC0: ("ESME_RINVOPTPARSTREAM", _BUG, "Der SMSC kann die Zusatzfelder nicht lesen" + _OUR_BUG),
    0xC1: ("ESME_ROPTPARNOTALLWD", _BUG, "Der SMSC erlaubt ein Zusatzfeld nicht" + _OUR_BUG),
    0xC2: ("ESME_RINVPARLEN", _BUG, "Der SMSC hält eine Feldlänge für ungültig" + _OUR_BUG),
    0xC3: ("ESME_RMISSINGOPTPARAM", _BUG, "Dem SMSC fehlt ein Zusatzfeld" + _OUR_BUG),
    0xC4: ("ESME_RINVOPTPARAMVAL", _BUG, "Der SMSC lehnt den Wert eines Zusatzfelds ab" + _OUR_BUG),
    0xFF: ("ESME_RUNKNOWNERR", _DOWN, "Unbekannter Fehler beim SMSC; neuer Versuch folgt."),
}


def status_name(status: int) -> str:
    """``0x58`` → ``"ESME_RTHROTTLED"``; unknown (e.g. vendor-specific 0x400–0x4FF) → ``"0x00000400"``."""
    return COMMAND_STATUS[status][0] if status in COMMAND_STATUS else f"0x{status:08X}"


def error_for_status(status: int, command: str = "submit_sm_resp") -> GatewayError:
    """The error for a non-zero ``command_status``. A code not in the table is a transient
    ``GatewayError``: the SMSC refused the PDU (so nothing went out) for a reason we cannot classify."""
    name = status_name(status)
    detail = f"SMPP {command} command_status {name}"
    if status not in COMMAND_STATUS:
        return GatewayError(detail, provider_code=name)
    _, error_class, sentence = COMMAND_STATUS[status]
    return error_class(detail, user_message=sentence, provider_code=name)


def session_error(exc: SessionError) -> GatewayError:
    """Map a protocol failure: bind rejected → its command_status; not sent → GatewayUnavailable or
    RateLimited (window full); sent without an answer → OutcomeUnknown (ambiguous)."""
    if isinstance(exc, NotBound) and exc.status:
        return error_for_status(exc.status, "bind_transceiver_resp")
    if isinstance(exc, WindowFull):
        return errors.RateLimited(f"SMPP window full: {exc}", provider_code="window")
    if exc.sent:
        return errors.OutcomeUnknown(
            f"SMPP: {exc}", user_message="Der SMSC hat nicht geantwortet; unklar, ob die SMS hinausging."
        )
    return errors.GatewayUnavailable(
        f"SMPP: {exc}", user_message="Der SMSC ist gerade nicht erreichbar; neuer Versuch folgt."
    )
