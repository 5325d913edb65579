"""SMPP ``deliver_sm``: receipts → ``DlrEvent``, other messages (MO) → ``MoEvent``, and applying them.

SMPP has no webhooks: receipts and replies arrive on the bound session (``session.py``), which calls
``handle_deliver`` in its handler thread and answers ``deliver_sm_resp`` with the status returned here.

A receipt is a ``deliver_sm`` whose esm_class message type (bits 5–2, mask 0x3C) is 0x04 "SMSC delivery
receipt" or 0x20 "intermediate delivery notification" (SMPP v3.4 §5.2.12). Its id and state come from the
TLVs ``receipted_message_id`` (0x001E) and ``message_state`` (0x0427, §5.3.2.35) when present, else from
the text in ``short_message`` (SMPP v3.4 Appendix B, de-facto format, sources in README.md)::

    id:smsc-1 sub:001 dlvrd:001 submit date:2611301015 done date:2611301016 stat:DELIVRD err:000 text:

The receipt's ``text:`` (the start of our SMS) and the addresses (phone numbers) are *not* kept in ``raw``.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import DatabaseError, close_old_connections

from alphasms.conf import app_settings
from alphasms.messaging.gateways.base import DeliveryStatus, DlrEvent, MoEvent
from alphasms.messaging.gateways.smpp.wire import decode_text
from alphasms.messaging.gateways.smpp.wire import text as field_text
from alphasms.messaging.phone import to_e164

log = logging.getLogger("alphasms.gateways.smpp")

ESME_ROK = 0x00
ESME_RX_T_APPN = 0x64  # "ESME receiver temporary app error": the SMSC should deliver it again later
_RECEIPT_TYPES = {0x04, 0x20}
_MO_TYPE = 0x00
_UDHI = 0x40

#: ``stat:`` word → ours (SMPP v3.4 Appendix B; buckets as in shared/reference/sms-providers.md §6.1:
#: ACCEPTD is the SMSC's acceptance → queued; DELETED without our cancel request → undelivered).
STAT_MAP: dict[str, DeliveryStatus] = {
    "ENROUTE": DeliveryStatus.SENT,
    "DELIVRD": DeliveryStatus.DELIVERED,
    "EXPIRED": DeliveryStatus.EXPIRED,
    "DELETED": DeliveryStatus.UNDELIVERED,
    "UNDELIV": DeliveryStatus.UNDELIVERED,
    "ACCEPTD": DeliveryStatus.QUEUED,
    "UNKNOWN": DeliveryStatus.UNKNOWN,
    "REJECTD": DeliveryStatus.REJECTED,
}
#: TLV ``message_state`` value → ``stat:`` word (SMPP v3.4 §5.2.28).
MESSAGE_STATES: dict[int, str] = dict(
    enumerate(("ENROUTE", "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"), 1)
)
_FIELD = re.compile(r"\b(id|sub|dlvrd|submit date|done date|stat|err|text):", re.IGNORECASE)
#: Waits before trying a receipt again whose part is not recorded yet: the SMSC may answer faster than
#: the worker commits the attempt's parts (it does so right after ``send`` returns).
RETRY_DELAYS_S = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0)


def parse_receipt_text(text: str) -> dict[str, str]:
    """``"id:1 sub:001 … stat:DELIVRD err:000 text:Hallo"`` → ``{"id": "1", …, "text": "Hallo"}`` (keys lower
    case; ``text`` runs to the end, the others to the next field). Missing fields are absent."""
    matches = list(_FIELD.finditer(text))
    fields: dict[str, str] = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        fields[match.group(1).lower()] = text[match.end() : end].strip()
    return fields


def parse_deliver(pdu: Any) -> DlrEvent | MoEvent | None:
    """Map one parsed ``deliver_sm`` (smpplib PDU) to a receipt, an MO or None (other message types)."""
    message_type = (pdu.esm_class or 0) & 0x3C
    if message_type in _RECEIPT_TYPES:
        return _receipt(pdu)
    if message_type == _MO_TYPE:
        return _mo(pdu)
    return None


def _receipt(pdu: Any) -> DlrEvent:
    fields = parse_receipt_text(field_text(pdu.short_message or b""))
    receipted_id = field_text(pdu.receipted_message_id or b"")
    message_id = receipted_id or fields.get("id", "")
    stat = MESSAGE_STATES.get(pdu.message_state or 0) or fields.get("stat", "").upper()
    error = fields.get("err", "")
    if pdu.network_error_code:
        error = error or pdu.network_error_code.hex()
    raw = {k: v for k, v in fields.items() if k != "text"}
    raw.update(
        receipted_message_id=field_text(pdu.receipted_message_id or b""), message_state=pdu.message_state
    )
    return DlrEvent(
        status=STAT_MAP.get(stat, DeliveryStatus.UNKNOWN),
        gateway_message_id=convert_receipt_id(message_id),
        provider_status=stat,
        provider_error_code=error,
        occurred_at=receipt_time(fields.get("done date", "")),
        raw=raw,
    )


def convert_receipt_id(message_id: str) -> str:
    """Some SMSCs give the id in hex in ``submit_sm_resp`` and in decimal in receipts, or the other way
    round; ``SMPP_RECEIPT_ID`` = ``dec_to_hex`` / ``hex_to_dec`` converts the receipt's (default: as is)."""
    conversion = app_settings.gateway_setting("SMPP_RECEIPT_ID")
    try:
        if conversion == "dec_to_hex":
            return format(int(message_id, 10), "x")
        if conversion == "hex_to_dec":
            return str(int(message_id, 16))
    except ValueError:
        log.warning("smpp receipt id is not a number; SMPP_RECEIPT_ID=%s not applied", conversion)
    return message_id


def receipt_time(value: str) -> datetime | None:
    """``done date`` YYMMDDhhmm[ss] as aware UTC. Receipts carry no zone: it is the SMSC's local time,
    ``SMPP_RECEIPT_TZ`` (IANA name, default UTC). Unreadable → None."""
    pattern = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S"}.get(len(value))  # strptime alone reads 10 digits as 12
    try:
        local = datetime.strptime(value, pattern) if pattern else None
    except ValueError:
        local = None
    if local is None:
        return None
    zone = ZoneInfo(app_settings.gateway_setting("SMPP_RECEIPT_TZ") or "UTC")
    return local.replace(tzinfo=zone).astimezone(UTC)


def _mo(pdu: Any) -> MoEvent:
    payload: bytes = pdu.short_message or pdu.message_payload or b""
    if (pdu.esm_class or 0) & _UDHI and payload:
        payload = payload[1 + payload[0] :]  # skip the User Data Header (TS 23.040 §9.2.3.24)
    sender, ton = field_text(pdu.source_addr or b""), pdu.source_addr_ton or 0
    from_e164 = f"+{sender}" if ton == 1 and sender.isdigit() else (to_e164(sender).e164 or "")
    return MoEvent(
        from_e164=from_e164,
        text=decode_text(payload, pdu.data_coding or 0),
        received_at=datetime.now(UTC),
        raw={"data_coding": pdu.data_coding or 0, "esm_class": pdu.esm_class or 0, "source_addr_ton": ton},
    )


def handle_deliver(pdu: Any, session: Any) -> int:
    """Apply one ``deliver_sm``; returns the ``command_status`` for its ``deliver_sm_resp``.

    Receipts go to ``services.reports.apply_reports("smpp", …)``; a receipt for a part this session
    submitted moments ago that matches nothing yet is tried again (``RETRY_DELAYS_S``). MO go to
    ``services.replies.receive_mo("smpp", …)`` (which may send an acknowledgement SMS). A database error
    (on the last try) answers ESME_RX_T_APPN, so the SMSC delivers it again. Side effects: DB writes.
    """
    from alphasms.messaging.services.replies import receive_mo
    from alphasms.messaging.services.reports import apply_reports

    event = parse_deliver(pdu)
    close_old_connections()
    if isinstance(event, MoEvent):
        try:
            receive_mo("smpp", [event])
        except DatabaseError as exc:
            log.warning("smpp MO not stored: %s", exc)
            return ESME_RX_T_APPN
        return ESME_ROK
    if event is None:
        return ESME_ROK
    for delay_s in (0.0, *RETRY_DELAYS_S):
        time.sleep(delay_s)
        try:
            if apply_reports("smpp", [event]) or _part_recorded(event.gateway_message_id):
                return ESME_ROK  # stored, or a repeat of a stored report (one event, invariant 4)
        except DatabaseError as exc:
            log.warning("smpp receipt not stored yet: %s", exc)
            close_old_connections()
            continue
        if not session.recently_submitted(event.gateway_message_id):
            return ESME_ROK  # not one of ours: acknowledged, so the SMSC stops sending it
    return ESME_RX_T_APPN


def _part_recorded(message_id: str) -> bool:
    # apply_reports() returns 0 both for a repeat and for a part the worker has not recorded yet; only
    # the second is worth waiting for. (A per-event outcome from apply_reports would make this query moot.)
    from alphasms.messaging.models import AttemptPart

    return AttemptPart.objects.filter(attempt__gateway="smpp", gateway_message_id=message_id).exists()
