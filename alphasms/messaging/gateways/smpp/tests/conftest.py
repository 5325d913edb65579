"""Fixtures of the SMPP tests: a real SMSC peer per test, settings pointing at it, sessions closed after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.messaging.gateways.smpp import session
from alphasms.messaging.gateways.smpp.tests.smsc import FakeSmsc
from tests.conftest import alphasms_settings, location  # noqa: F401 - the project's fixtures, for DB tests

SYSTEM_ID, PASSWORD = "alphasms", "pw-4711"


def smpp_settings(port: int, **extra: Any) -> dict[str, Any]:
    """ALPHASMS settings for the SMSC on ``port``: fast timeouts and backoff, no pacing unless asked."""
    return {
        **settings.ALPHASMS,
        "SMPP_HOST": "127.0.0.1",
        "SMPP_PORT": port,
        "SMPP_SYSTEM_ID": SYSTEM_ID,
        "SMPP_PASSWORD": PASSWORD,
        "SMPP_SYSTEM_TYPE": "",
        "SMPP_SOURCE_ADDR": "",
        "SMS_SENDER_ID": "",
        "SMPP_TIMEOUT_S": 2,
        "SMPP_THROUGHPUT_PER_S": 0,
        "SMPP_RECONNECT_MIN_S": 0.1,
        "SMPP_RECONNECT_MAX_S": 0.4,
        **extra,
    }


@pytest.fixture(autouse=True)
def close_sessions() -> Iterator[None]:
    """Every test starts without a session and leaves none running (they are per process)."""
    session.close_all()
    yield
    session.close_all()


@pytest.fixture
def start_smsc() -> Iterator[Callable[..., FakeSmsc]]:
    """``start_smsc(**config)`` runs an SMSC (see smsc.js) for this test; all are stopped at the end."""
    started: list[FakeSmsc] = []

    def start(**config: Any) -> FakeSmsc:
        smsc = FakeSmsc(**{"password": PASSWORD, "receipts": "none", **config})
        started.append(smsc)
        return smsc

    yield start
    session.close_all()  # unbind while the peers still run
    for smsc in started:
        smsc.stop()


@pytest.fixture
def smsc(start_smsc: Callable[..., FakeSmsc]) -> Iterator[FakeSmsc]:
    """A well-behaved SMSC with the gateway's settings pointing at it."""
    peer = start_smsc()
    with override_settings(ALPHASMS=smpp_settings(peer.port)):
        yield peer
