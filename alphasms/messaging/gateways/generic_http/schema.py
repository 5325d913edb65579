"""The shape of the generic HTTP gateway's configuration (``SCHEMA``) and a validator for it.

``SCHEMA`` is a JSON Schema subset (type, enum, required, properties, additionalProperties, items, minItems,
minProperties, minimum, maximum, pattern: JSON Schema 2020-12 validation vocabulary, json-schema.org) with
an ``x-fix`` example per field, so every problem says what to write instead. Rules between fields live in
``config.py``. Framework-free apart from the status vocabulary and the error classes it names.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import DeliveryStatus

#: Our error slugs (errors.py ``code``) a provider's error code can be mapped to in ``errors``.
ERROR_CLASSES: dict[str, type[errors.GatewayError]] = {
    cls.code: cls
    for cls in (
        errors.InvalidRecipient, errors.RecipientOptedOut, errors.SenderNotAllowed,
        errors.AuthenticationFailed, errors.InsufficientFunds, errors.RejectedByProvider, errors.RateLimited,
        errors.GatewayUnavailable, errors.OutcomeUnknown,
    )
}  # fmt: skip


_PATH = {
    "type": "string",
    "pattern": r"^[^.\s]+(\.[^.\s]+)*$",
    "x-fix": 'e.g. "messages.0.id" (keys and list indexes)',
}
EXTRACTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "json_path": _PATH,
        "regex": {"type": "string"},
        "group": {"type": "integer", "minimum": 0},
    },
    "x-fix": 'e.g. {"json_path": "messages.0.id"} or {"regex": "ID: (\\\\w+)", "group": 1}',
}
#: The configuration's shape: a JSON Schema subset (type, enum, required, properties, additionalProperties,
#: items, minItems, minProperties, minimum, maximum, pattern) with an ``x-fix`` example per field.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["url", "body_type", "body"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "x-fix": '"name": "SMS-Anbieter XY" (a label for logs)'},
        "method": {"enum": ["GET", "POST", "PUT"], "x-fix": '"method": "POST"'},
        "url": {
            "type": "string",
            "pattern": r"^https?://[^/?#\s]+",
            "x-fix": '"url": "https://api.example.com/sms"',
        },
        "headers": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "x-fix": '"headers": {"Authorization": "Bearer ${ALPHASMS_GENERIC_HTTP_TOKEN}"}',
        },
        "basic_auth": {
            "type": "object",
            "required": ["username", "password"],
            "additionalProperties": False,
            "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
            "x-fix": '"basic_auth": {"username": "${ALPHASMS_GENERIC_HTTP_USER}", '
            '"password": "${ALPHASMS_GENERIC_HTTP_PASSWORD}"}',
        },
        "body_type": {"enum": ["form", "json", "query"], "x-fix": '"body_type": "form" (or "json", "query")'},
        "body": {
            "type": "object",
            "minProperties": 1,
            "x-fix": '"body": {"to": "{to_e164}", "text": "{text}"}',
        },
        "success": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "status": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "integer", "minimum": 200, "maximum": 299},
                    "x-fix": '"status": [200, 202] (2xx only: other statuses are errors anyway)',
                },
                "json_path": _PATH,
                "equals": {"type": ["string", "number", "boolean", "array"], "x-fix": '"equals": "OK"'},
                "body_regex": {"type": "string", "x-fix": '"body_regex": "^OK"'},
            },
            "x-fix": '"success": {"status": [200], "json_path": "status", "equals": "OK"}',
        },
        "message_id": EXTRACTOR,
        "error_code": EXTRACTOR,
        "errors": {
            "type": "object",
            "additionalProperties": {"enum": sorted(ERROR_CLASSES)},
            "x-fix": '"errors": {"E_NUMBER": "invalid_recipient", "NO_CREDIT": "insufficient_funds"}',
        },
        "dlr": {
            "type": "object",
            "required": ["source", "status", "status_map"],
            "additionalProperties": False,
            "properties": {
                "source": {
                    "enum": ["query", "form", "json"],
                    "x-fix": '"source": "query" (where the fields are)',
                },
                "status": _PATH,
                "id": _PATH,
                "error_code": _PATH,
                "status_map": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"enum": [s.value for s in DeliveryStatus]},
                    "x-fix": '"status_map": {"DELIVRD": "delivered", "UNDELIV": "undelivered"}',
                },
                "replay_window_s": {"type": "integer", "minimum": 60, "maximum": 30 * 24 * 3600},
            },
            "x-fix": '"dlr": {"source": "query", "status": "status", "status_map": {"DELIVRD": "delivered"}}',
        },
    },
}


@dataclass(frozen=True)
class Problem:
    """One configuration error: ``field`` ("body.message"), what is wrong, and how to fix it."""

    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} (fix: {self.fix})"


def check(value: Any, schema: Mapping[str, Any], where: str, problems: list[Problem]) -> None:
    """Validate ``value`` against a SCHEMA-subset ``schema``, appending a Problem per violation to
    ``problems``; ``where`` names the field ("config", "success.status[0]"). Recurses into objects/arrays."""
    fix = schema.get("x-fix", "see the README's examples")
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if kinds and not any(_is(value, kind) for kind in kinds):
        problems.append(Problem(where, f"must be {' or '.join(kinds)}, not {type(value).__name__}", fix))
        return
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(json.dumps(choice) for choice in schema["enum"])
        problems.append(Problem(where, f"{json.dumps(value)} is not one of {choices}", fix))
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(Problem(where, f"{value!r} has the wrong form", fix))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = schema.get("minimum", value), schema.get("maximum", value)
        if not low <= value <= high:
            problems.append(Problem(where, f"{value} is outside {low}..{high}", fix))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            problems.append(Problem(where, "must not be empty", fix))
        for index, item in enumerate(value):
            check(item, schema.get("items", {}), f"{where}[{index}]", problems)
    if isinstance(value, dict):
        _check_object(value, schema, where, fix, problems)


def _check_object(
    value: dict[str, Any], schema: Mapping[str, Any], where: str, fix: str, problems: list[Problem]
) -> None:
    properties, extra = schema.get("properties", {}), schema.get("additionalProperties", True)
    if len(value) < schema.get("minProperties", 0):
        problems.append(Problem(where, "must not be empty", fix))
    for key in schema.get("required", []):
        if key not in value:
            hint = properties.get(key, {}).get("x-fix", "see the README's examples")
            problems.append(Problem(f"{where}.{key}", "is required", hint))
    for key, item in value.items():
        field = f"{where}.{key}" if where != "config" else key
        if key in properties:
            check(item, properties[key], field, problems)
        elif extra is False:
            close = difflib.get_close_matches(key, properties, n=1)
            hint = f'did you mean "{close[0]}"?' if close else f"allowed: {', '.join(properties)}"
            problems.append(Problem(field, "is not a known field", hint))
        elif isinstance(extra, dict):
            check(item, extra, field, problems)


def _is(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    types: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "array": list,
        "object": dict,
    }
    return isinstance(value, types[kind])
