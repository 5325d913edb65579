"""The explicit gateway registry: slug → dotted path, imported lazily (STYLE.md §1 rule 3).

Adding a gateway touches its folder, one line here and the settings table in README.md.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from alphasms.conf import app_settings
from alphasms.messaging.gateways.base import Gateway
from alphasms.messaging.gateways.errors import GatewayMisconfigured

GATEWAYS: dict[str, str] = {
    "outbox": "alphasms.messaging.gateways.outbox.gateway.OutboxGateway",
    "sevenio": "alphasms.messaging.gateways.sevenio.gateway.SevenioGateway",
    "twilio": "alphasms.messaging.gateways.twilio.gateway.TwilioGateway",
    "vonage": "alphasms.messaging.gateways.vonage.gateway.VonageGateway",
    "android": "alphasms.messaging.gateways.android.gateway.AndroidGateway",
    "websms": "alphasms.messaging.gateways.websms.gateway.WebsmsGateway",
    "sipgate": "alphasms.messaging.gateways.sipgate.gateway.SipgateGateway",
    "generic_http": "alphasms.messaging.gateways.generic_http.gateway.GenericHttpGateway",
    "kannel": "alphasms.messaging.gateways.kannel.gateway.KannelGateway",
    "smpp": "alphasms.messaging.gateways.smpp.gateway.SmppGateway",
    "gtx": "alphasms.messaging.gateways.gtx.gateway.GtxGateway",
    "fake": "alphasms.messaging.gateways.fake.gateway.FakeGateway",
}


def get_gateway(slug: str) -> Gateway:
    """Return a new instance of the gateway registered under ``slug``.

    Raises GatewayMisconfigured naming the known slugs when ``slug`` is not registered.
    """
    try:
        path = GATEWAYS[slug]
    except KeyError:
        known = ", ".join(sorted(GATEWAYS))
        raise GatewayMisconfigured(
            f"ALPHASMS_SMS_GATEWAY={slug!r} is not a known gateway; choose one of: {known}"
        ) from None
    gateway_class: type[Gateway] = import_string(path)
    return gateway_class()


def active_sms_gateway() -> Gateway:
    """The SMS gateway selected by the setting ALPHASMS_SMS_GATEWAY (default ``outbox``)."""

    return get_gateway(app_settings.SMS_GATEWAY)
