"""System check of the generic HTTP gateway's configuration (Django check framework, generic_http.E00x).

Register it once, e.g. in the messaging app's ``ready()``::

    from django.core import checks
    from alphasms.messaging.gateways.generic_http.checks import validate_config
    checks.register(validate_config)

It can also be called directly: ``validate_config()`` returns the list of problems (empty when fine).
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error

from alphasms.conf import app_settings
from alphasms.messaging.gateways.errors import GatewayMisconfigured
from alphasms.messaging.gateways.generic_http import config


def validate_config(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Check GENERIC_HTTP_CONFIG: readable JSON, valid shape and rules, every ``${…}`` secret set, and the
    DLR secret set when there is a dlr mapping. One ``Error`` per problem: ``msg`` names the field, ``hint``
    the fix. Nothing to check (``[]``) when the setting is empty and the gateway is not selected.
    Reads files and settings; no network."""
    if not app_settings.gateway_setting("GENERIC_HTTP_CONFIG").strip():
        if app_settings.SMS_GATEWAY != "generic_http":
            return []
        return [
            Error(
                "ALPHASMS_SMS_GATEWAY is generic_http but ALPHASMS_GENERIC_HTTP_CONFIG is not set",
                hint="set it to the path of the provider's JSON configuration (generic_http/README.md)",
                id="generic_http.E001",
            )
        ]
    try:
        raw = config.parse_json(config.raw_text())
    except GatewayMisconfigured as exc:
        return [Error(str(exc), id="generic_http.E002")]
    problems = config.problems_in(raw)
    if problems:
        return [
            Error(f"GENERIC_HTTP_CONFIG {p.field}: {p.message}", hint=p.fix, id="generic_http.E003")
            for p in problems
        ]
    loaded = config.load()
    messages: list[CheckMessage] = [
        Error(
            f"{name} is not set but GENERIC_HTTP_CONFIG uses ${{{name}}}",
            hint=f"set {name} (or {name}_FILE) in the environment",
            id="generic_http.E004",
        )
        for name in sorted(loaded.secrets)
        if not app_settings.gateway_setting(name.removeprefix("ALPHASMS_"))
    ]
    if loaded.dlr and not app_settings.gateway_setting("GENERIC_HTTP_DLR_SECRET"):
        messages.append(
            Error(
                "ALPHASMS_GENERIC_HTTP_DLR_SECRET is not set but GENERIC_HTTP_CONFIG has a dlr mapping",
                hint="set it to a long random string, e.g. from secrets.token_hex(32)",
                id="generic_http.E005",
            )
        )
    return messages
