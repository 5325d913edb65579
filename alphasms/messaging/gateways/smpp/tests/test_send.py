"""Sending over SMPP to a real SMSC peer (node-smpp on loopback): PDU fields, parts and UDH, failure drill.

Expected bytes are written out from the standards, independently of the code under test: GSM 7-bit default
alphabet values from 3GPP TS 23.038 §6.2.1 (unpacked, one septet per octet), the concatenation UDH from
TS 23.040 §9.2.3.24.1, command_status values from SMPP v3.4 §5.1.3.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import override_settings

from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import OutboundSms
from alphasms.messaging.gateways.smpp import session
from alphasms.messaging.gateways.smpp.codes import COMMAND_STATUS, session_error
from alphasms.messaging.gateways.smpp.gateway import SmppGateway
from alphasms.messaging.gateways.smpp.tests.conftest import PASSWORD, SYSTEM_ID, smpp_settings

NUMBER = "+4915112345678"
# 45 characters whose GSM-7 values equal their ASCII codes (letters, digits, space, "." and ","), × 9:
# 405 septets → 3 parts of at most 153 (TS 23.040 concatenation).
LONG_TEXT = "Termin morgen um 9.30 Uhr, Praxis Sonnenhof. " * 9


def sms(text: str = "Ihr Termin ist morgen um 9.30 Uhr.", sender: str = "Praxis") -> OutboundSms:
    return OutboundSms(
        reference="0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60", to_e164=NUMBER, text=text, sender_id=sender
    )


def short_message(submit: dict[str, Any]) -> bytes:
    return bytes.fromhex(submit["short_message_hex"])


class TestRequestEncoding:
    def test_a_three_part_message_carries_one_reference_and_rejoins_to_the_text(self, smsc):
        result = SmppGateway().send(sms(LONG_TEXT))

        submits = smsc.wait_for("submit_sm", 3)
        payloads = [short_message(s) for s in submits]
        reference = payloads[0][3]
        assert [p[:6] for p in payloads] == [bytes([0x05, 0x00, 0x03, reference, 0x03, n]) for n in (1, 2, 3)]
        assert [(s["esm_class"], s["data_coding"]) for s in submits] == [(0x40, 0x00)] * 3
        assert [len(p) - 6 for p in payloads] == [153, 153, 99]
        assert b"".join(p[6:] for p in payloads).decode("ascii") == LONG_TEXT
        assert result.part_ids == ("smsc-1", "smsc-2", "smsc-3")
        assert (result.gateway_message_id, result.segments) == ("smsc-1", 3)

    def test_the_next_long_message_gets_another_reference(self, smsc):
        SmppGateway().send(sms(LONG_TEXT))
        SmppGateway().send(sms(LONG_TEXT))

        references = {short_message(s)[3] for s in smsc.wait_for("submit_sm", 6)}
        assert len(references) == 2

    def test_it_sends_exactly_the_listed_fields_and_no_tlv(self, smsc):
        SmppGateway().send(sms("Ihr Termin ist morgen um 9.30 Uhr."))

        (submit,) = smsc.wait_for("submit_sm")
        fields = {
            k: v
            for k, v in submit.items()
            if k not in ("t", "event", "index", "sequence_number", "outstanding")
        }
        assert fields == {
            "service_type": "",
            "source_addr_ton": 5,
            "source_addr_npi": 0,
            "source_addr": "Praxis",
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": "4915112345678",
            "esm_class": 0x00,
            "protocol_id": 0,
            "priority_flag": 0,
            "schedule_delivery_time": "",
            "validity_period": "",
            "registered_delivery": 1,
            "replace_if_present_flag": 0,
            "data_coding": 0x00,
            "sm_default_msg_id": 0,
            "short_message_hex": b"Ihr Termin ist morgen um 9.30 Uhr.".hex(),
            "tlvs": [],
        }

    def test_it_encodes_umlauts_and_the_euro_sign_as_gsm_septets(self, smsc):
        SmppGateway().send(sms("Grüße €"))

        (submit,) = smsc.wait_for("submit_sm")
        # G r ü ß e space, then € as escape 0x1B + 0x65 (TS 23.038 §6.2.1, §6.2.1.1)
        assert short_message(submit) == bytes([0x47, 0x72, 0x7E, 0x1E, 0x65, 0x20, 0x1B, 0x65])
        assert submit["data_coding"] == 0x00

    def test_a_text_outside_gsm_goes_as_ucs2_in_parts_of_67_code_units(self, smsc):
        text = "Привет, ваш приём завтра в 9:30. " * 3  # 99 UTF-16 code units → 2 parts

        result = SmppGateway().send(sms(text))

        submits = smsc.wait_for("submit_sm", 2)
        payloads = [short_message(s) for s in submits]
        assert [(s["data_coding"], s["esm_class"]) for s in submits] == [(0x08, 0x40)] * 2
        assert [p[4:6] for p in payloads] == [b"\x02\x01", b"\x02\x02"]
        assert len(payloads[0]) - 6 == 67 * 2
        assert b"".join(p[6:] for p in payloads).decode("utf-16-be") == text
        assert result.segments == 2

    @pytest.mark.parametrize(
        ("sender", "ton_npi_addr"),
        [
            ("Praxis", (5, 0, "Praxis")),
            ("+4930123456", (1, 1, "4930123456")),
            ("", (0, 0, "")),
        ],
    )
    def test_the_sender_sets_source_ton_and_npi(self, smsc, sender, ton_npi_addr):
        SmppGateway().send(sms(sender=sender))

        (submit,) = smsc.wait_for("submit_sm")
        assert (submit["source_addr_ton"], submit["source_addr_npi"], submit["source_addr"]) == ton_npi_addr

    def test_it_falls_back_to_the_configured_source_address(self, start_smsc):
        peer = start_smsc()
        with override_settings(ALPHASMS=smpp_settings(peer.port, SMPP_SOURCE_ADDR="PraxisBlau")):
            SmppGateway().send(sms(sender=""))

        assert peer.wait_for("submit_sm")[0]["source_addr"] == "PraxisBlau"

    def test_it_binds_as_transceiver_with_the_configured_account(self, start_smsc):
        peer = start_smsc()
        with override_settings(ALPHASMS=smpp_settings(peer.port, SMPP_SYSTEM_TYPE="ALPHA")):
            SmppGateway().send(sms())

        (bind,) = peer.wait_for("bind_transceiver")
        assert (bind["system_id"], bind["password"], bind["system_type"]) == (SYSTEM_ID, PASSWORD, "ALPHA")
        assert bind["interface_version"] == 0x34

    def test_one_session_serves_many_sends(self, smsc):
        for _ in range(3):
            SmppGateway().send(sms())

        assert len(smsc.wait_for("submit_sm", 3)) == 3
        assert len(smsc.of("bind_transceiver")) == 1

    @pytest.mark.parametrize("number", ["4915112345678", "+49 151 12345678", "Praxis"])
    def test_it_refuses_a_recipient_that_is_not_e164_before_connecting(self, smsc, number):
        with pytest.raises(errors.InvalidRecipient) as caught:
            SmppGateway().send(OutboundSms(reference="r", to_e164=number, text="Hallo"))

        assert caught.value.permanent
        assert smsc.of("bind_transceiver") == []

    @pytest.mark.parametrize("sender", ["Praxis am Markt", "Grüße", "+49301234567890123"])
    def test_it_refuses_a_sender_smpp_cannot_carry(self, smsc, sender):
        with pytest.raises(errors.SenderNotAllowed):
            SmppGateway().send(sms(sender=sender))

        assert smsc.of("submit_sm") == []

    @pytest.mark.parametrize(
        ("name", "value", "variable"),
        [
            ("SMPP_HOST", "", "ALPHASMS_SMPP_HOST"),
            ("SMPP_PASSWORD", "", "ALPHASMS_SMPP_PASSWORD"),
            ("SMPP_PASSWORD", "longer-than-8", "ALPHASMS_SMPP_PASSWORD"),
            ("SMPP_WINDOW", "ten", "ALPHASMS_SMPP_WINDOW"),
        ],
    )
    def test_it_names_a_missing_or_invalid_setting(self, smsc, name, value, variable):
        with override_settings(ALPHASMS=smpp_settings(smsc.port, **{name: value})):
            with pytest.raises(errors.GatewayMisconfigured) as caught:
                SmppGateway().send(sms())

        assert variable in str(caught.value)
        assert not isinstance(caught.value, errors.GatewayError)
        assert smsc.of("bind_transceiver") == []


class TestFailureDrill:
    """The HTTP drill's SMPP analogue: credentials, throttling, error codes, silence, refusal, garbage."""

    def drill(self, start_smsc, sms_text: str = "Hallo", **config) -> errors.GatewayError:
        timeout_s = config.pop("timeout_s", 2)
        peer = start_smsc(**config)
        with override_settings(ALPHASMS=smpp_settings(peer.port, SMPP_TIMEOUT_S=timeout_s)):
            with pytest.raises(errors.GatewayError) as caught:
                SmppGateway().send(sms(sms_text))
        return caught.value

    def test_a_rejected_password_is_a_permanent_authentication_failure(self, start_smsc):
        peer = start_smsc(password="another")
        with override_settings(ALPHASMS=smpp_settings(peer.port)):
            with pytest.raises(errors.AuthenticationFailed) as caught:
                SmppGateway().send(sms())

        assert (caught.value.permanent, caught.value.ambiguous) == (True, False)
        assert caught.value.provider_code == "ESME_RINVPASWD"
        assert "ALPHASMS_SMPP_SYSTEM_ID" in caught.value.user_message
        assert peer.of("submit_sm") == []

    def test_a_failed_bind_is_an_authentication_failure(self, start_smsc):
        error = self.drill(start_smsc, bind_status=0x0D)

        assert type(error) is errors.AuthenticationFailed and error.provider_code == "ESME_RBINDFAIL"

    def test_throttling_is_a_transient_rate_limit(self, start_smsc):
        error = self.drill(start_smsc, submit_statuses={"1": 0x58})

        assert type(error) is errors.RateLimited
        assert (error.permanent, error.ambiguous, error.provider_code) == (False, False, "ESME_RTHROTTLED")
        assert error.user_message.startswith("Der SMSC bremst den Versand")

    def test_a_full_queue_means_unavailable_for_now(self, start_smsc):
        error = self.drill(start_smsc, submit_statuses={"1": 0x14})

        assert type(error) is errors.GatewayUnavailable and not error.permanent and not error.ambiguous

    def test_an_invalid_destination_is_a_permanent_invalid_recipient(self, start_smsc):
        error = self.drill(start_smsc, submit_statuses={"1": 0x0B})

        assert type(error) is errors.InvalidRecipient and error.permanent
        assert error.user_message == "Der SMSC hält die Empfängernummer für ungültig."

    def test_an_invalid_source_is_a_sender_not_allowed(self, start_smsc):
        error = self.drill(start_smsc, submit_statuses={"1": 0x0A})

        assert type(error) is errors.SenderNotAllowed and error.permanent

    @pytest.mark.parametrize("status", [s for s in COMMAND_STATUS if s not in (0x0D, 0x0E, 0x0F, 0x53)])
    def test_each_submit_status_maps_to_its_error_and_sentence(self, start_smsc, status):
        error = self.drill(start_smsc, submit_statuses={"1": status})

        name, error_class, sentence = COMMAND_STATUS[status]
        assert (type(error), error.user_message, error.provider_code) == (error_class, sentence, name)

    def test_a_vendor_specific_status_is_a_transient_error(self, start_smsc):
        error = self.drill(start_smsc, submit_statuses={"1": 0x400})

        assert type(error) is errors.GatewayError
        assert (error.permanent, error.ambiguous, error.provider_code) == (False, False, "0x00000400")

    def test_no_submit_sm_resp_within_the_timeout_is_an_unknown_outcome(self, start_smsc):
        started = time.monotonic()
        error = self.drill(start_smsc, silent_submits=[1], timeout_s=0.5)

        assert type(error) is errors.OutcomeUnknown and error.ambiguous and not error.permanent
        assert 0.5 <= time.monotonic() - started < 2.5
        assert error.user_message == "Der SMSC hat nicht geantwortet; unklar, ob die SMS hinausging."

    def test_a_connection_closed_after_submit_is_an_unknown_outcome(self, start_smsc):
        error = self.drill(start_smsc, close_on_submit=1)

        assert type(error) is errors.OutcomeUnknown and error.ambiguous

    def test_an_answer_that_is_no_pdu_is_an_unknown_outcome(self, start_smsc):
        error = self.drill(start_smsc, garbage_on_submit=1)

        assert type(error) is errors.OutcomeUnknown and error.ambiguous

    def test_a_refused_connection_is_unavailable_and_certainly_not_sent(self, unused_tcp_port):
        with override_settings(ALPHASMS=smpp_settings(unused_tcp_port)):
            with pytest.raises(errors.GatewayUnavailable) as caught:
                SmppGateway().send(sms())

        assert (caught.value.permanent, caught.value.ambiguous) == (False, False)
        assert caught.value.user_message == "Der SMSC ist gerade nicht erreichbar; neuer Versuch folgt."

    def test_a_throttled_later_part_is_retried_so_the_handset_gets_every_part(self, start_smsc):
        peer = start_smsc(submit_statuses={"2": 0x58})
        with override_settings(ALPHASMS=smpp_settings(peer.port)):
            result = SmppGateway().send(sms(LONG_TEXT))

        submits = peer.wait_for("submit_sm", 4)
        assert [short_message(s)[5] for s in submits] == [1, 2, 2, 3]
        assert result.part_ids == ("smsc-1", "smsc-3", "smsc-4")

    def test_a_later_part_refused_for_good_is_an_unknown_outcome(self, start_smsc):
        error = self.drill(start_smsc, sms_text=LONG_TEXT, submit_statuses={"2": 0x45})

        assert type(error) is errors.OutcomeUnknown and error.ambiguous
        assert error.provider_code == "ESME_RSUBMITFAIL"
        assert "Teil" in error.user_message

    def test_a_full_window_is_a_rate_limit(self):
        error = session_error(session.WindowFull("10 submit_sm outstanding"))

        assert type(error) is errors.RateLimited and not error.ambiguous


@pytest.fixture
def unused_tcp_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
