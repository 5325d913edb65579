"""Receipts and MO over SMPP: parsing ``deliver_sm``; receipts applied to the database through the session.

The end-to-end tests run the real dispatcher against the real SMSC peer: the message goes out in three
``submit_sm``, the SMSC sends one ``deliver_sm`` receipt per part, and the core combines them into one
message status (as in tests/messaging/test_reports.py).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from smpplib import smpp  # type: ignore[import-untyped]

from alphasms.appointments.services.planning import plan
from alphasms.messaging.gateways.base import DeliveryStatus, DlrEvent, MoEvent
from alphasms.messaging.gateways.smpp import receipts
from alphasms.messaging.gateways.smpp.gateway import SmppGateway
from alphasms.messaging.gateways.smpp.tests.conftest import smpp_settings
from alphasms.messaging.gateways.smpp.wire import Sequence
from alphasms.messaging.models import (
    AttemptPart,
    DeliveryAttempt,
    DeliveryReport,
    InboundMessage,
    MessageStatus,
    OutboundMessage,
)
from alphasms.messaging.services.dispatch import Dispatcher
from tests.conftest import make_appointment, make_customer, make_rule

UTC = dt.UTC
FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "receipts.json").read_text())["receipts"]
START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)  # 14:30 Berlin, inside the sending window
DUE = dt.datetime(2026, 12, 3, 13, 30, tzinfo=UTC)
# 3 GSM-7 parts once "{given_name}" is filled in (ö is GSM-7: 1 septet).
LONG_TEMPLATE = "Hallo {given_name}, " + "Ihr Termin in der Praxis Sonnenhof ist morgen um 14.30 Uhr. " * 7


def deliver(**fields) -> object:
    """A ``deliver_sm`` as the session reads it: encoded by smpplib, then parsed back."""
    raw = smpp.make_pdu("deliver_sm", client=Sequence(), **fields).generate()
    return smpp.parse_pdu(raw, client=Sequence(), allow_unknown_opt_params=True)


class TestReceiptParsing:
    @pytest.mark.parametrize("case", FIXTURES, ids=[c["name"] for c in FIXTURES])
    def test_it_reads_every_field_of_the_documented_text(self, case):
        assert receipts.parse_receipt_text(case["text"]) == case["fields"]

    def test_it_prefers_the_tlvs_and_keeps_no_text_or_numbers(self):
        pdu = deliver(
            esm_class=0x04,
            source_addr="4915112345678",
            short_message=FIXTURES[1]["text"].encode(),
            receipted_message_id="smsc-9",
            message_state=2,
        )
        event = receipts.parse_deliver(pdu)

        assert isinstance(event, DlrEvent)
        assert (event.gateway_message_id, event.status, event.provider_status) == (
            "smsc-9",
            DeliveryStatus.DELIVERED,
            "DELIVRD",
        )
        assert event.provider_error_code == "001"
        assert "Hallo" not in json.dumps(event.raw) and "4915112345678" not in json.dumps(event.raw)

    def test_it_reads_the_text_when_there_are_no_tlvs(self):
        event = receipts.parse_deliver(deliver(esm_class=0x04, short_message=FIXTURES[2]["text"].encode()))

        assert isinstance(event, DlrEvent)
        assert (event.gateway_message_id, event.status, event.provider_error_code) == (
            "7f3a",
            DeliveryStatus.EXPIRED,
            "027",
        )
        assert event.occurred_at == dt.datetime(2026, 11, 30, 10, 16, 42, tzinfo=UTC)

    def test_the_done_date_is_read_in_the_smscs_time_zone(self):
        with override_settings(ALPHASMS={**settings.ALPHASMS, "SMPP_RECEIPT_TZ": "Europe/Berlin"}):
            occurred_at = receipts.receipt_time("2611301016")

        assert occurred_at == dt.datetime(2026, 11, 30, 9, 16, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("conversion", "receipt_id", "expected"),
        [
            ("", "255", "255"),
            ("dec_to_hex", "255", "ff"),
            ("hex_to_dec", "ff", "255"),
            ("dec_to_hex", "x", "x"),
        ],
    )
    def test_it_converts_receipt_ids_to_the_submit_sm_resp_format(self, conversion, receipt_id, expected):
        with override_settings(ALPHASMS={**settings.ALPHASMS, "SMPP_RECEIPT_ID": conversion}):
            assert receipts.convert_receipt_id(receipt_id) == expected

    @pytest.mark.parametrize(
        ("stat", "expected"),
        [
            ("ENROUTE", DeliveryStatus.SENT),
            ("DELIVRD", DeliveryStatus.DELIVERED),
            ("EXPIRED", DeliveryStatus.EXPIRED),
            ("DELETED", DeliveryStatus.UNDELIVERED),
            ("UNDELIV", DeliveryStatus.UNDELIVERED),
            ("ACCEPTD", DeliveryStatus.QUEUED),
            ("UNKNOWN", DeliveryStatus.UNKNOWN),
            ("REJECTD", DeliveryStatus.REJECTED),
            ("SOMETHING", DeliveryStatus.UNKNOWN),
        ],
    )
    def test_it_maps_each_state(self, stat, expected):
        text = f"id:1 sub:001 dlvrd:000 submit date:2611301015 done date:2611301016 stat:{stat} err:000 text:"
        event = receipts.parse_deliver(deliver(esm_class=0x04, short_message=text.encode()))

        assert isinstance(event, DlrEvent) and (event.status, event.provider_status) == (expected, stat)

    def test_every_message_state_value_has_a_stat_word(self):
        assert set(receipts.MESSAGE_STATES.values()) == set(receipts.STAT_MAP)

    def test_an_sme_acknowledgement_is_neither_receipt_nor_mo(self):
        assert receipts.parse_deliver(deliver(esm_class=0x08, short_message=b"ack")) is None


class TestMoParsing:
    @pytest.mark.parametrize(
        ("data_coding", "esm_class", "payload", "text"),
        [
            (0x08, 0x00, "STOP 🛑".encode("utf-16-be"), "STOP 🛑"),
            (0x00, 0x40, bytes([5, 0, 3, 7, 2, 1]) + b"NEIN", "NEIN"),
            (0x00, 0x00, bytes([0x1B, 0x65, 0x35]), "€5"),
            (0x03, 0x00, "Grüße".encode("latin-1"), "Grüße"),
        ],
    )
    def test_it_decodes_the_text_by_data_coding_and_skips_the_udh(
        self, data_coding, esm_class, payload, text
    ):
        pdu = deliver(
            source_addr_ton=2, source_addr="015112345678", esm_class=esm_class, data_coding=data_coding,
            short_message=payload,
        )  # fmt: skip
        event = receipts.parse_deliver(pdu)

        assert isinstance(event, MoEvent) and event.text == text
        assert event.from_e164 == "+4915112345678"  # a national number, read as German


class TestHttpRoute:
    @pytest.mark.parametrize("hook", ["/hooks/smpp/dlr/", "/hooks/smpp/mo/"])
    def test_an_http_post_is_refused_because_reports_and_replies_come_on_the_session(self, hook):
        client = Client(enforce_csrf_checks=True)
        response = client.post(hook, data=b"id:1 stat:DELIVRD", content_type="text/plain")

        assert response.status_code == 400
        assert client.head(hook).status_code == 200


@pytest.fixture
def three_part_message(alphasms_settings, location):
    make_rule(body_template=LONG_TEMPLATE)
    make_appointment(location, make_customer(), START)
    plan(DUE - dt.timedelta(days=1))
    message = OutboundMessage.objects.get()
    assert message.segments == 3
    return message


def dispatch(alphasms_settings, peer) -> dict[str, int]:
    alphasms_settings.update(smpp_settings(peer.port), SMS_GATEWAY="smpp", SMS_SENDER_ID="Praxis")
    with time_machine.travel(DUE, tick=True):
        return Dispatcher("w1", sms_gateway=SmppGateway()).run_once().outcomes


@pytest.mark.django_db(transaction=True)
class TestReceiptsInTheDatabase:
    def test_the_receipts_of_all_three_parts_combine_into_one_delivered_message(
        self, three_part_message, alphasms_settings, start_smsc
    ):
        peer = start_smsc(receipts="immediate")  # a receipt may beat the worker's commit of the parts

        assert dispatch(alphasms_settings, peer) == {"sent": 1}

        assert [r["command_status"] for r in peer.wait_for("deliver_sm_resp", 3)] == [0, 0, 0]
        attempt = DeliveryAttempt.objects.get()
        assert (attempt.gateway, attempt.gateway_message_id, attempt.segments) == ("smpp", "smsc-1", 3)
        parts = list(AttemptPart.objects.filter(attempt=attempt).values_list("gateway_message_id", "status"))
        assert parts == [("smsc-1", "delivered"), ("smsc-2", "delivered"), ("smsc-3", "delivered")]
        assert OutboundMessage.objects.get().status == MessageStatus.DELIVERED
        assert set(DeliveryReport.objects.values_list("provider_status", flat=True)) == {"DELIVRD"}

    def test_a_message_is_delivered_only_when_the_last_part_is(
        self, three_part_message, alphasms_settings, start_smsc
    ):
        peer = start_smsc(receipts="hold", receipt_tlvs=False)  # text-only receipts, released by hand
        dispatch(alphasms_settings, peer)
        peer.command(cmd="deliver_sm", **text_receipt("smsc-2", "DELIVRD"))
        peer.command(cmd="deliver_sm", **text_receipt("smsc-1", "DELIVRD"))
        peer.wait_for("deliver_sm_resp", 2)

        assert OutboundMessage.objects.get().status == MessageStatus.SENT

        peer.command(cmd="release_receipts")  # the SMSC's own receipts for all three: two are repeats
        peer.wait_for("deliver_sm_resp", 5)
        assert OutboundMessage.objects.get().status == MessageStatus.DELIVERED

    def test_one_undeliverable_part_makes_the_message_undelivered(
        self, three_part_message, alphasms_settings, start_smsc
    ):
        peer = start_smsc(receipts="hold")
        dispatch(alphasms_settings, peer)
        peer.command(cmd="deliver_sm", **text_receipt("smsc-3", "UNDELIV", err="001"))
        peer.wait_for("deliver_sm_resp")

        assert OutboundMessage.objects.get().status == MessageStatus.UNDELIVERED
        assert DeliveryReport.objects.get().provider_error_code == "001"

    def test_a_repeated_receipt_is_one_event(self, three_part_message, alphasms_settings, start_smsc):
        peer = start_smsc(receipts="hold")
        dispatch(alphasms_settings, peer)
        for _ in range(2):
            peer.command(cmd="deliver_sm", **text_receipt("smsc-1", "DELIVRD"))
        responses = peer.wait_for("deliver_sm_resp", 2)

        assert [r["command_status"] for r in responses] == [0, 0]
        assert responses[1]["t"] - responses[0]["t"] < 1000  # acknowledged at once, not retried
        assert DeliveryReport.objects.count() == 1

    def test_a_reply_on_the_session_confirms_the_appointment(
        self, three_part_message, alphasms_settings, start_smsc
    ):
        peer = start_smsc()
        dispatch(alphasms_settings, peer)
        with time_machine.travel(DUE + dt.timedelta(minutes=10), tick=True):
            peer.command(
                cmd="deliver_sm",
                source_addr_ton=1,
                source_addr_npi=1,
                source_addr="4915112345678",
                destination_addr="Praxis",
                esm_class=0x00,
                data_coding=0x00,
                short_message_hex=b"JA".hex(),
            )
            assert peer.wait_for("deliver_sm_resp")[0]["command_status"] == 0

        reply = InboundMessage.objects.get()
        assert (reply.gateway, reply.from_e164, reply.text) == ("smpp", "+4915112345678", "JA")
        assert reply.message == three_part_message
        three_part_message.appointment.refresh_from_db()
        assert three_part_message.appointment.confirmed_at is not None

    def test_a_receipt_for_an_unknown_id_is_acknowledged_and_dropped(
        self, three_part_message, alphasms_settings, start_smsc
    ):
        peer = start_smsc(receipts="hold")
        dispatch(alphasms_settings, peer)
        peer.command(cmd="deliver_sm", **text_receipt("not-ours", "DELIVRD"))

        assert peer.wait_for("deliver_sm_resp")[0]["command_status"] == 0
        assert DeliveryReport.objects.count() == 0


def text_receipt(message_id: str, stat: str, err: str = "000") -> dict[str, object]:
    dates = "submit date:2612031330 done date:2612031331"
    text = f"id:{message_id} sub:001 dlvrd:000 {dates} stat:{stat} err:{err} text:"
    return {"esm_class": 0x04, "data_coding": 0, "short_message_hex": text.encode().hex()}
