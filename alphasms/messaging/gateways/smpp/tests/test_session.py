"""The long-lived session against a real SMSC peer: keep-alive, reconnect with backoff, window, throughput."""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time

import pytest
from django.test import override_settings

from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import OutboundSms
from alphasms.messaging.gateways.smpp import session
from alphasms.messaging.gateways.smpp.gateway import SmppGateway
from alphasms.messaging.gateways.smpp.tests.conftest import smpp_settings
from alphasms.messaging.gateways.smpp.tests.test_send import LONG_TEXT

SMS = OutboundSms(reference="r-1", to_e164="+4915112345678", text="Hallo", sender_id="Praxis")


def wait_until(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


class TestKeepAlive:
    def test_it_answers_the_smscs_enquire_link(self, smsc):
        SmppGateway().send(SMS)
        smsc.command(cmd="enquire_link")

        smsc.wait_for("enquire_link_resp")

    def test_it_sends_enquire_link_while_the_link_is_idle(self, start_smsc):
        peer = start_smsc()
        with override_settings(ALPHASMS=smpp_settings(peer.port, SMPP_ENQUIRE_LINK_S=0.3)):
            SmppGateway().send(SMS)
            peer.wait_for("enquire_link", 3, timeout_s=5)
            assert SmppGateway().session().bound
        assert len(peer.of("bind_transceiver")) == 1  # answered probes keep the one session

    def test_an_unanswered_enquire_link_drops_and_rebinds_the_link(self, start_smsc):
        peer = start_smsc(answer_enquire_link=False)
        with override_settings(
            ALPHASMS=smpp_settings(peer.port, SMPP_ENQUIRE_LINK_S=0.2, SMPP_TIMEOUT_S=0.5)
        ):
            SmppGateway().send(SMS)
            peer.wait_for("bind_transceiver", 2, timeout_s=5)


class TestReconnect:
    def test_the_smsc_going_away_mid_session_is_survived_with_backoff(self, start_smsc, caplog):
        first = start_smsc()
        port = first.port
        with override_settings(ALPHASMS=smpp_settings(port)):
            gateway = SmppGateway()
            gateway.send(SMS)
            smpp = gateway.session()
            with caplog.at_level(logging.WARNING, logger="alphasms.gateways.smpp"):
                first.stop()
                wait_until(lambda: not smpp.bound)
                with pytest.raises(errors.GatewayUnavailable) as caught:
                    gateway.send(SMS)  # while reconnecting: fails at once, certainly not sent
                assert not caught.value.ambiguous
                wait_until(lambda: len(re.findall(r"retry in 0\.4 s", caplog.text)) >= 2)

                second = start_smsc(port=port)
                wait_until(lambda: smpp.bound, timeout_s=5)
            result = gateway.send(SMS)

        delays = [float(d) for d in re.findall(r"(?:retry|reconnect) in ([0-9.]+) s", caplog.text)]
        assert delays[:4] == [0.1, 0.2, 0.4, 0.4]  # exponential, capped at SMPP_RECONNECT_MAX_S
        assert result.gateway_message_id == "smsc-1"
        assert len(second.of("bind_transceiver")) == 1 and smpp.reconnects == 1

    def test_an_unbind_from_the_smsc_is_answered_and_the_session_rebinds(self, smsc):
        SmppGateway().send(SMS)
        smsc.command(cmd="unbind")

        smsc.wait_for("unbind_resp")
        smsc.wait_for("bind_transceiver", 2)
        wait_until(lambda: SmppGateway().session().bound)
        SmppGateway().send(SMS)

    def test_closing_the_sessions_unbinds(self, smsc):
        SmppGateway().send(SMS)
        session.close_all()

        smsc.wait_for("unbind")

    def test_a_bind_failure_is_retried_with_backoff_and_reported_at_once_meanwhile(self, start_smsc):
        peer = start_smsc(password="another")
        with override_settings(ALPHASMS=smpp_settings(peer.port)):
            with pytest.raises(errors.AuthenticationFailed):
                SmppGateway().send(SMS)
            started = time.monotonic()
            with pytest.raises(errors.AuthenticationFailed):
                SmppGateway().send(SMS)
            assert time.monotonic() - started < 0.1  # no wait for a connection that will fail again
            peer.wait_for("bind_transceiver", 3, timeout_s=5)  # still trying: the password may be fixed


class TestFlowControl:
    def test_the_window_caps_outstanding_submit_sm_across_threads(self, start_smsc):
        peer = start_smsc(resp_delay_ms=150)
        with override_settings(ALPHASMS=smpp_settings(peer.port, SMPP_WINDOW=2)):
            SmppGateway().send(SMS)  # bind first, so all threads find the session ready
            threads = [threading.Thread(target=SmppGateway().send, args=(SMS,)) for _ in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=10)

        submits = peer.wait_for("submit_sm", 7)
        assert max(s["outstanding"] for s in submits) == 2

    def test_the_throughput_limit_spaces_every_part(self, start_smsc):
        peer = start_smsc()
        with override_settings(ALPHASMS=smpp_settings(peer.port, SMPP_THROUGHPUT_PER_S=5)):
            SmppGateway().send(SMS)
            SmppGateway().send(OutboundSms(reference="r-2", to_e164=SMS.to_e164, text=LONG_TEXT))

        times = [s["t"] for s in peer.wait_for("submit_sm", 4)]
        gaps_ms = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps_ms) >= 180, gaps_ms  # 1/5 s, less a little clock granularity


class TestSettingsChange:
    def test_a_session_with_outdated_settings_is_closed(self, start_smsc):
        peer = start_smsc()
        with override_settings(ALPHASMS=smpp_settings(peer.port)):
            old = SmppGateway().session()
            SmppGateway().send(SMS)
        with override_settings(ALPHASMS=smpp_settings(peer.port, SMPP_WINDOW=3)):
            SmppGateway().send(SMS)

        peer.wait_for("unbind")
        wait_until(lambda: not old.bound)
        assert len(peer.of("bind_transceiver")) == 2

    def test_start_binds_without_sending_so_receipts_and_replies_can_arrive(self, smsc):
        SmppGateway().start()

        smsc.wait_for("bind_transceiver")
        wait_until(lambda: SmppGateway().session().bound)
        assert smsc.of("submit_sm") == []
