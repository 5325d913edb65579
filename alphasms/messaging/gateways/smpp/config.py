"""The SMPP gateway's settings, read at call time (``ALPHASMS`` dict, then ``ALPHASMS_SMPP_*`` variables).

All names, defaults and units are listed in README.md beside this file. Missing or invalid values raise
``GatewayMisconfigured`` naming the exact environment variable; nothing is sent then.
"""

from __future__ import annotations

from alphasms.conf import app_settings
from alphasms.messaging.gateways.errors import GatewayMisconfigured
from alphasms.messaging.gateways.smpp.session import SmppConfig

#: Bind fields: SMPP 3.4 §4.1.1 caps them at 16/9/13 octets including the terminating NUL; smpplib would
#: cut longer values silently, and the SMSC would then refuse a password we never configured.
BIND_FIELD_LIMITS = {"SYSTEM_ID": 15, "PASSWORD": 8, "SYSTEM_TYPE": 12}


def read_config() -> SmppConfig:
    """The session settings now. Raises GatewayMisconfigured (not a GatewayError: no retry swallows it)."""
    bind = {name: setting(name, required=name != "SYSTEM_TYPE") for name in BIND_FIELD_LIMITS}
    for name, limit in BIND_FIELD_LIMITS.items():
        if len(bind[name]) > limit or not bind[name].isascii():
            raise GatewayMisconfigured(
                f"ALPHASMS_SMPP_{name} must be at most {limit} ASCII characters (SMPP 3.4 §4.1.1)"
            )
    return SmppConfig(
        host=setting("HOST", required=True),
        port=int(number("PORT", 2775)),
        system_id=bind["SYSTEM_ID"],
        password=bind["PASSWORD"],
        system_type=bind["SYSTEM_TYPE"],
        window=max(1, int(number("WINDOW", 10))),
        throughput_per_s=number("THROUGHPUT_PER_S", 10.0),
        timeout_s=number("TIMEOUT_S", app_settings.HTTP_TIMEOUT_S),
        enquire_link_s=number("ENQUIRE_LINK_S", 30.0),
        reconnect_min_s=number("RECONNECT_MIN_S", 1.0),
        reconnect_max_s=number("RECONNECT_MAX_S", 60.0),
    )


def setting(name: str, required: bool = False) -> str:
    """``SMPP_<name>`` as text ("" when unset); GatewayMisconfigured when ``required`` and empty."""
    value = app_settings.gateway_setting(f"SMPP_{name}")
    if required and not value:
        raise GatewayMisconfigured(
            f"ALPHASMS_SMPP_{name} is not set: the SMSC operator gives host, system_id and password of the "
            f"ESME account; set ALPHASMS_SMPP_{name} (secrets also as ALPHASMS_SMPP_{name}_FILE)"
        )
    return value


def number(name: str, default: float) -> float:
    """``SMPP_<name>`` as a number, ``default`` when unset; GatewayMisconfigured when not a number."""
    value = setting(name)
    try:
        return float(value) if value else float(default)
    except ValueError:
        raise GatewayMisconfigured(f"ALPHASMS_SMPP_{name}={value!r} is not a number") from None
