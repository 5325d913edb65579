"""System checks for the messaging settings (shown by `alphasms check` and at start-up)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from alphasms.conf import app_settings
from alphasms.messaging.gateways.registry import GATEWAYS
from alphasms.messaging.sender_id import SenderIdError, SenderKind, parse_sender_id


@register()
def check_messaging_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """messaging.E001 unknown gateway; E002/E003 invalid or misplaced sender ID or number."""
    problems: list[CheckMessage] = []
    if app_settings.SMS_GATEWAY not in GATEWAYS:
        problems.append(
            Error(
                f"ALPHASMS_SMS_GATEWAY={app_settings.SMS_GATEWAY!r} is not a known gateway.",
                hint=f"Choose one of: {', '.join(sorted(GATEWAYS))}.",
                id="messaging.E001",
            )
        )
    for name, value, kind in (
        ("ALPHASMS_SMS_SENDER_ID", app_settings.SMS_SENDER_ID, SenderKind.ALPHANUMERIC),
        ("ALPHASMS_SMS_SENDER_NUMBER", app_settings.SMS_SENDER_NUMBER, SenderKind.NUMERIC),
    ):
        if not value:
            continue
        try:
            parsed_kind, _ = parse_sender_id(value)
        except SenderIdError as exc:
            problems.append(Error(f"{name}: {exc.en}", id="messaging.E002"))
            continue
        if parsed_kind != kind:
            problems.append(Error(f"{name} must be {kind.value}, got {value!r}.", id="messaging.E003"))
    return problems
