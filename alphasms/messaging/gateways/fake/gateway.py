"""An in-memory gateway for application tests (anymail ``backends/test.py``).

Sent messages are appended to ``FakeGateway.outbox``; tests queue errors in ``FakeGateway.script`` to make
the next sends fail the way a provider would.
"""

from __future__ import annotations

from typing import ClassVar

from alphasms.messaging.gateways.base import Gateway, OutboundSms, SendResult
from alphasms.messaging.gateways.errors import GatewayError


class FakeGateway(Gateway):
    slug = "fake"
    display_name = "Fake (tests)"
    max_requests_per_second = 10_000.0
    outbox: ClassVar[list[OutboundSms]] = []
    script: ClassVar[list[GatewayError]] = []

    def send(self, sms: OutboundSms) -> SendResult:
        """Record ``sms``, or raise the next scripted error."""
        if self.script:
            raise self.script.pop(0)
        self.outbox.append(sms)
        return SendResult(gateway_message_id=f"fake-{len(self.outbox)}", segments=sms.segments)

    @classmethod
    def reset(cls) -> None:
        cls.outbox.clear()
        cls.script.clear()
