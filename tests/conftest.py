"""Shared fixtures: an isolated data directory, AlphaSMS settings overrides and small factories."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.appointments.models import Appointment, Channel, Customer, Location, ReminderRule
from alphasms.messaging.gateways.fake.gateway import FakeGateway
from alphasms.privacy.models import ConsentSource
from alphasms.privacy.services import record_opt_in

UTC = dt.UTC


@pytest.fixture
def alphasms_settings(tmp_path: Any) -> Iterator[dict[str, Any]]:
    """ALPHASMS settings for a test: fake SMS gateway, serial worker, outbox in tmp_path.

    Tests change values by mutating the returned dict (it is the live settings dict)."""
    values = {
        **settings.ALPHASMS,
        "SMS_GATEWAY": "fake",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "WORKER_CONCURRENCY": 1,
        "SMS_SENDER_ID": "Praxis",
        "ALLOWED_PRIVATE_HOSTS": ["127.0.0.1", "localhost"],
    }
    with override_settings(ALPHASMS=values):
        FakeGateway.reset()
        yield values
        FakeGateway.reset()


@pytest.fixture
def location(db: Any) -> Location:
    return Location.objects.create(name="Praxis Sonnenhof", phone="+49 30 1234567")


def make_customer(
    number: str = "1001",
    given: str = "Jörg",
    family: str = "Bäcker",
    mobile: str = "+4915112345678",
    email: str = "joerg@example.org",
    consent: tuple[str, ...] = ("sms", "email"),
    language: str = "de",
) -> Customer:
    """A customer with an SMS-capable mobile and opt-ins for ``consent`` channels."""
    customer = Customer.objects.create(
        customer_number=number,
        given_name=given,
        family_name=family,
        mobile_e164=mobile,
        mobile_raw=mobile,
        mobile_sms_ok=bool(mobile),
        email=email,
        language=language,
    )
    for channel in consent:
        record_opt_in(customer, channel, source=ConsentSource.FORM, wording_version="v1", recorded_by="test")
    return customer


def make_rule(channel: str = Channel.SMS, offset_s: int = 24 * 3600, **kwargs: Any) -> ReminderRule:
    """A rule with a short template; window 08:00–20:00 unless given."""
    defaults: dict[str, Any] = {
        "name": f"{channel} {offset_s}",
        "channel": channel,
        "offset_s": offset_s,
        "body_template": "Hallo {given_name}, Termin {date} um {time}.",
        "subject_template": "Termin am {date}" if channel == Channel.EMAIL else "",
    }
    defaults.update(kwargs)
    return ReminderRule.objects.create(**defaults)


def make_appointment(
    location: Location, customer: Customer | None, start_at: dt.datetime, **kwargs: Any
) -> Appointment:
    return Appointment.objects.create(
        location=location,
        customer=customer,
        start_at=start_at,
        end_at=start_at + dt.timedelta(minutes=30),
        summary=str(customer or "?"),
        **kwargs,
    )
