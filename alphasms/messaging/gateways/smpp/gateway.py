"""SMPP 3.4 (any SMSC that offers an ESME account): ``submit_sm`` over a long-lived transceiver session.

We split and encode the text ourselves (``messaging.encoding``: GSM-7 unpacked with data_coding 0x00, else
UCS-2 with 0x08) and send one ``submit_sm`` per part; a long message's parts carry the concatenation UDH
``05 00 03 ref total seq`` (3GPP TS 23.040 §9.2.3.24.1) with esm_class 0x40 (UDHI, SMPP v3.4 §5.2.12) and
the same 8-bit reference. Each part asks for a receipt (registered_delivery 1) and gets its own
``message_id``, so ``SendResult.part_ids`` lists them and the core combines the parts' receipts.
Fields that leave: source/destination address with TON/NPI, esm_class, registered_delivery, data_coding and
the part bytes; nothing else (DESIGN.md invariant 6). SMPP has no client reference field, so our attempt id
does not travel; receipts match by message_id.

Spec: SMPP v3.4 Issue 1.2, https://smpp.org/SMPP_v3_4_Issue1_2.pdf (read 2026-11-30). Session handling is
in ``session.py``, receipts and MO in ``receipts.py``, command_status codes in ``codes.py``; settings and
quirks in ``README.md`` beside this file.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from typing import Any

from django.http import HttpRequest

from alphasms.conf import app_settings
from alphasms.messaging import encoding
from alphasms.messaging.gateways import base, errors
from alphasms.messaging.gateways.errors import GatewayError
from alphasms.messaging.gateways.smpp import receipts
from alphasms.messaging.gateways.smpp.codes import error_for_status, session_error
from alphasms.messaging.gateways.smpp.config import read_config, setting
from alphasms.messaging.gateways.smpp.session import SessionError, SmppSession, session_for
from alphasms.messaging.phone import to_msisdn

_NUMERIC_SENDER = re.compile(r"\+?[0-9]{1,15}")
_ALPHANUMERIC_SENDER = re.compile(r"[ -~]{1,11}")  # printable ASCII; TS 23.040 §9.1.2.5: ≤ 11 characters
_RETRY_PART_STATUSES = {0x14, 0x58}  # queue full, throttled: a later part is worth waiting for
_PART_RETRY_DELAYS_S = (0.5, 1.0, 2.0)
_DATA_CODING = {encoding.SmsEncoding.GSM7: 0x00, encoding.SmsEncoding.UCS2: 0x08}  # SMPP v3.4 §5.2.19
_references = itertools.count(random.randrange(256))  # concatenation references, one per long message


class SmppGateway(base.Gateway):
    slug = "smpp"
    display_name = "SMPP 3.4 (SMSC)"
    docs_url = "https://smpp.org/SMPP_v3_4_Issue1_2.pdf"
    supports_dlr = True  # receipts arrive on the session (deliver_sm), not over HTTP
    supports_mo = True  # on the session, as deliver_sm; only to a numeric sender (alphanumeric is one-way)
    supports_alphanumeric_sender = True
    max_segments = 10
    max_requests_per_second = 10.0  # messages; the session paces PDUs at SMPP_THROUGHPUT_PER_S
    settings_spec = (  # README.md "Settings"
        base.GatewaySetting("SMPP_HOST", required=True),
        base.GatewaySetting("SMPP_PORT"),
        base.GatewaySetting("SMPP_SYSTEM_ID", required=True),
        base.GatewaySetting("SMPP_PASSWORD", required=True, secret=True),
        base.GatewaySetting("SMPP_SYSTEM_TYPE"),
        base.GatewaySetting("SMPP_SOURCE_ADDR"),
    )

    def session(self) -> SmppSession:
        """This process's session for the current settings (see ``session.session_for``)."""
        return session_for(read_config(), receipts.handle_deliver)

    def start(self) -> None:
        """Bind now, in the background: a worker should call this at start, or receipts and replies wait
        for its first send. Raises GatewayMisconfigured; connection problems are retried, not raised."""
        self.session().start()

    def build_submits(self, sms: base.OutboundSms) -> list[dict[str, Any]]:
        """The ``submit_sm`` fields (smpplib names) of each part, in order. No I/O.

        Raises InvalidRecipient unless ``to_e164`` is E.164, SenderNotAllowed for a sender that is neither
        an E.164 number nor 1–11 printable ASCII characters (both permanent).
        """
        try:
            destination = to_msisdn(sms.to_e164)
        except ValueError:
            raise errors.InvalidRecipient("recipient is not an E.164 number") from None
        sender = sms.sender_id or setting("SOURCE_ADDR") or app_settings.gateway_setting("SMS_SENDER_ID")
        info = encoding.analyse(sms.text)
        common = {**_source(sender), "dest_addr_ton": 1, "dest_addr_npi": 1, "destination_addr": destination}
        common.update(registered_delivery=1, data_coding=_DATA_CODING[info.encoding])
        total = info.segments
        reference = next(_references) % 256 if total > 1 else 0
        submits = []
        for n, part in enumerate(info.parts, 1):
            udh = encoding.concat_udh(reference, total, n) if total > 1 else b""
            payload = udh + encoding.encode_part(part, info.encoding)
            submits.append({**common, "esm_class": 0x40 if udh else 0x00, "short_message": payload})
        return submits

    def send(self, sms: base.OutboundSms) -> base.SendResult:
        """Submit every part on this process's session and wait for each ``submit_sm_resp``.

        Errors: the first part's failure is mapped as it is (``codes.error_for_status``; connection refused
        or lost before sending → GatewayUnavailable, no answer → OutcomeUnknown). Once a part is accepted,
        any later failure is OutcomeUnknown: the handset may show a fragment and a resend duplicates it.
        Side effects: one ``submit_sm`` per part (money spent per part); may connect and bind.
        """
        parts = self.build_submits(sms)
        smsc = self.session()
        part_ids: list[str] = []
        for fields in parts:
            try:
                part_ids.append(self._submit_part(smsc, fields, retry=bool(part_ids)))
            except GatewayError as error:
                if not part_ids:
                    raise
                done = len(part_ids)
                raise errors.OutcomeUnknown(
                    f"part {done + 1}/{len(parts)} failed after {done} accepted: {error.detail}",
                    user_message="Nur ein Teil der langen SMS wurde angenommen; unklar, was ankam.",
                    provider_code=error.provider_code,
                ) from error
        return base.SendResult(gateway_message_id=part_ids[0], segments=len(parts), part_ids=tuple(part_ids))

    def _submit_part(self, smsc: SmppSession, fields: dict[str, Any], retry: bool) -> str:
        delays_s = list(_PART_RETRY_DELAYS_S if retry else ())
        while True:
            try:
                response = smsc.submit(**fields)
            except SessionError as exc:
                raise session_error(exc) from exc
            if response.status == 0:
                return response.message_id
            if not delays_s or response.status not in _RETRY_PART_STATUSES:
                raise error_for_status(response.status, response.command)
            time.sleep(delays_s.pop(0))

    def verify_webhook(self, request: HttpRequest) -> None:
        """SMPP reports arrive on the session only: any HTTP request to /hooks/smpp/… is refused (400)."""
        raise errors.WebhookForged("SMPP has no HTTP webhooks; receipts arrive on the SMPP session")

    def parse_dlr(self, request: HttpRequest) -> list[base.DlrEvent]:
        return []

    def parse_mo(self, request: HttpRequest) -> list[base.MoEvent]:
        return []


def _source(sender: str) -> dict[str, Any]:
    """source_addr with TON/NPI: none (the account's default), international number 1/1, alphanumeric 5/0."""
    if not sender:
        return {"source_addr_ton": 0, "source_addr_npi": 0, "source_addr": ""}
    if _NUMERIC_SENDER.fullmatch(sender):
        return {"source_addr_ton": 1, "source_addr_npi": 1, "source_addr": sender.lstrip("+")}
    if _ALPHANUMERIC_SENDER.fullmatch(sender):
        return {"source_addr_ton": 5, "source_addr_npi": 0, "source_addr": sender}
    raise errors.SenderNotAllowed("sender is neither E.164 nor 1-11 ASCII characters")
