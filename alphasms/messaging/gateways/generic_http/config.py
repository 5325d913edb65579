"""The generic HTTP gateway's configuration: load it, validate it (field + fix), compile its templates.

The setting GENERIC_HTTP_CONFIG (environment ALPHASMS_GENERIC_HTTP_CONFIG) is a path to a JSON file or
the JSON itself. Its shape is ``schema.SCHEMA`` (a JSON Schema subset plus an ``x-fix`` example per field);
rules a schema cannot say are checked after it (``_semantics``). Every problem names its field and a fix, e.g.
``body.message: unknown placeholder {txt}`` — fix: ``use one of {to_e164} {to_msisdn} …``.

Templates: string values may hold placeholders ``{to_e164} {to_msisdn} {text} {sender_id} {reference}
{dlr_url}`` (body values only) and secret references ``${ALPHASMS_GENERIC_HTTP_…}`` (url, header values,
body values), resolved at call time from the ALPHASMS settings dict, the environment or ``…_FILE``.
``{{`` and ``}}`` are literal braces. A template is parsed once into tokens, so a patient's text containing
``{text}`` or ``${…}`` is sent as it is, never expanded. Secrets are limited to ALPHASMS_GENERIC_HTTP_*
so a configuration cannot send other secrets of the installation (SECRET_KEY, database URL) anywhere.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alphasms.conf import app_settings
from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.base import DeliveryStatus
from alphasms.messaging.gateways.generic_http.schema import ERROR_CLASSES, EXTRACTOR, SCHEMA, Problem, check

PLACEHOLDERS = ("to_e164", "to_msisdn", "text", "sender_id", "reference", "dlr_url")
SECRET_NAME = re.compile(r"ALPHASMS_GENERIC_HTTP_[A-Z0-9_]+")


@dataclass(frozen=True)
class Template:
    """A parsed string: tokens ("text", literal) | ("placeholder", name) | ("secret", variable name)."""

    tokens: tuple[tuple[str, str], ...]

    def names(self, kind: str) -> set[str]:
        return {value for token_kind, value in self.tokens if token_kind == kind}

    def render(self, values: Mapping[str, str], secret: Callable[[str], str]) -> str:
        """Substitute without re-scanning: values are inserted as they are (no expansion inside them)."""
        parts = {"text": lambda v: v, "placeholder": values.__getitem__, "secret": secret}
        return "".join(parts[kind](value) for kind, value in self.tokens)


@dataclass(frozen=True)
class Extractor:
    """Where a value is in an answer: a JSON path (keys, list indexes) or a regex group."""

    json_path: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None
    group: int = 1

    def find(self, body: bytes) -> str | None:
        text = body.decode("utf-8", "replace")
        if self.regex is not None:
            match = self.regex.search(text)
            return match.group(self.group) if match else None
        try:
            found = lookup(json.loads(text), self.json_path)
        except ValueError:
            return None
        return None if found is None or isinstance(found, (dict, list)) else str(found)


@dataclass(frozen=True)
class DlrMapping:
    """Where a callback carries the status (and optionally the provider's id and error code)."""

    source: str
    status: str
    id: str | None
    error_code: str | None
    status_map: Mapping[str, DeliveryStatus]
    replay_window_s: int


@dataclass(frozen=True)
class Config:
    """A validated configuration: templates parsed, regexes compiled, paths split."""

    name: str
    method: str
    url: Template
    headers: Mapping[str, Template]
    basic_auth: tuple[Template, Template] | None
    body_type: str
    body: Any  # the JSON body with a Template wherever the file had a string
    success_statuses: frozenset[int]
    success_path: tuple[str, ...]
    success_equals: tuple[Any, ...]
    success_regex: re.Pattern[str] | None
    message_id: Extractor | None
    error_code: Extractor | None
    errors: Mapping[str, type[errors.GatewayError]]
    dlr: DlrMapping | None
    secrets: frozenset[str]


def lookup(data: Any, path: tuple[str, ...]) -> Any:
    """``data`` at ``path`` ("messages", "0", "id"); None where a key or index is missing."""
    for step in path:
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        else:
            return None
    return data


def load() -> Config:
    """The configuration named by GENERIC_HTTP_CONFIG, read at call time (cached per content).

    Raises GatewayMisconfigured naming ALPHASMS_GENERIC_HTTP_CONFIG, with every problem as "field: what
    (fix: how)" lines, when it is missing, unreadable or invalid.
    """
    return _compiled(raw_text())


def raw_text() -> str:
    """The configuration's JSON text: the setting itself when it starts with "{", else the file it names.

    Raises GatewayMisconfigured naming ALPHASMS_GENERIC_HTTP_CONFIG when it is unset or unreadable.
    """
    value = app_settings.gateway_setting("GENERIC_HTTP_CONFIG").strip()
    if not value:
        raise errors.GatewayMisconfigured(
            "ALPHASMS_GENERIC_HTTP_CONFIG is not set: set it to the path of the provider's JSON "
            "configuration (or to the JSON itself); see alphasms/messaging/gateways/generic_http/README.md"
        )
    if value.startswith("{"):
        return value
    try:
        return Path(value).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.GatewayMisconfigured(
            f"ALPHASMS_GENERIC_HTTP_CONFIG names {value!r}, which cannot be read ({exc.strerror})"
        ) from None


def parse_json(text: str) -> Any:
    """The JSON text as data; GatewayMisconfigured with line and column when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.GatewayMisconfigured(
            f"ALPHASMS_GENERIC_HTTP_CONFIG is not valid JSON: {exc.msg} "
            f"at line {exc.lineno} column {exc.colno}"
        ) from None


@functools.lru_cache(maxsize=4)
def _compiled(text: str) -> Config:
    raw = parse_json(text)
    problems = problems_in(raw)
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise errors.GatewayMisconfigured(f"ALPHASMS_GENERIC_HTTP_CONFIG is invalid:\n{listing}")
    return _compile(raw)


def problems_in(raw: Any) -> list[Problem]:
    """Every problem of a configuration (parsed JSON): schema first, then the rules between fields."""
    problems: list[Problem] = []
    check(raw, SCHEMA, "config", problems)
    if not problems:
        _semantics(raw, problems)
    return problems


_TOKEN = re.compile(r"\{\{|\}\}|\$\{([^{}]*)\}|\{([^{}]*)\}|[{}]")


def parse_template(text: str, where: str, problems: list[Problem], placeholders: bool) -> Template:
    """Tokens of ``text``; unknown placeholders, bad secret names and lone braces become problems."""
    tokens: list[tuple[str, str]] = []
    position = 0
    for match in _TOKEN.finditer(text):
        tokens.append(("text", text[position : match.start()]))
        position = match.end()
        token, secret, name = match.group(), match.group(1), match.group(2)
        if token in ("{{", "}}"):
            tokens.append(("text", token[0]))
        elif secret is not None:
            if not SECRET_NAME.fullmatch(secret):
                fix = "name it ALPHASMS_GENERIC_HTTP_<SOMETHING> (upper case) and set that variable"
                problems.append(Problem(where, f"${{{secret}}} is not an allowed secret", fix))
            tokens.append(("secret", secret))
        elif name is not None and placeholders and name in PLACEHOLDERS:
            tokens.append(("placeholder", name))
        elif name is not None:
            allowed = " ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            message, hint = (
                (
                    f"unknown placeholder {{{name}}}",
                    f"use one of {allowed}; write {{{{ }}}} for literal braces",
                )
                if placeholders
                else (f"placeholder {{{name}}} is not allowed here", "placeholders go into body values only")
            )
            problems.append(Problem(where, message, hint))
        else:
            problems.append(Problem(where, f"lone {token!r}", "write {{ or }} for a literal brace"))
    tokens.append(("text", text[position:]))
    return Template(tuple(token for token in tokens if token != ("text", "")))


def _body_templates(value: Any, where: str, problems: list[Problem], flat: bool) -> Any:
    """The body with each string parsed into a Template; for form/query bodies only texts and numbers."""
    if isinstance(value, str):
        return parse_template(value, where, problems, placeholders=True)
    if flat and (isinstance(value, (dict, list, bool)) or value is None):
        problems.append(Problem(where, "form and query bodies are flat", "use a text or a number here"))
    if isinstance(value, dict):
        return {key: _body_templates(item, f"{where}.{key}", problems, flat) for key, item in value.items()}
    if isinstance(value, list):
        return [
            _body_templates(item, f"{where}[{index}]", problems, flat) for index, item in enumerate(value)
        ]
    return value


def _body(raw: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
    flat = raw["body_type"] != "json"
    return {key: _body_templates(value, f"body.{key}", problems, flat) for key, value in raw["body"].items()}


def _used(body: Any) -> set[str]:
    if isinstance(body, Template):
        return body.names("placeholder")
    items = body.values() if isinstance(body, dict) else body if isinstance(body, list) else []
    return set().union(*(_used(item) for item in items))


def _semantics(raw: dict[str, Any], problems: list[Problem]) -> None:
    """The rules between fields that SCHEMA cannot express."""
    parse_template(raw["url"], "url", problems, placeholders=False)
    for name, value in raw.get("headers", {}).items():
        parse_template(value, f"headers.{name}", problems, placeholders=False)
    for key, value in raw.get("basic_auth", {}).items():
        parse_template(value, f"basic_auth.{key}", problems, placeholders=False)
    if "basic_auth" in raw and "authorization" in {name.lower() for name in raw.get("headers", {})}:
        problems.append(Problem("basic_auth", "conflicts with headers.Authorization", "keep one of them"))
    body = _body(raw, problems)
    used = _used(body)
    if "text" not in used or not used & {"to_e164", "to_msisdn"}:
        problems.append(Problem("body", "never sends {text} and a recipient", 'add e.g. "to": "{to_e164}"'))
    if raw.get("method") == "GET" and raw["body_type"] != "query":
        problems.append(Problem("method", "a GET request has no body", 'use "body_type": "query"'))
    if ("dlr" in raw) != ("dlr_url" in used):
        problems.append(
            Problem(
                "dlr",
                "needs {dlr_url} in the body",
                "put {dlr_url} where the provider reads the callback URL",
            )
            if "dlr" in raw
            else Problem("body", "{dlr_url} needs a dlr mapping", 'add "dlr": {"source": …, "status": …, …}')
        )
    success = raw.get("success", {})
    if "json_path" in success and "body_regex" in success:
        problems.append(Problem("success", "json_path and body_regex exclude each other", "keep one"))
    if ("json_path" in success) != ("equals" in success):
        problems.append(
            Problem("success", "json_path and equals go together", '"json_path": "status", "equals": "OK"')
        )
    _regex(success.get("body_regex"), "success.body_regex", problems)
    for key in ("message_id", "error_code"):
        if key in raw:
            _extractor_rules(raw[key], key, problems)
    if "errors" in raw and "error_code" not in raw:
        problems.append(
            Problem("errors", "needs error_code to find the code", '"error_code": {"json_path": "code"}')
        )


def _extractor_rules(spec: Mapping[str, Any], where: str, problems: list[Problem]) -> None:
    if ("json_path" in spec) == ("regex" in spec):
        problems.append(Problem(where, "needs exactly one of json_path and regex", str(EXTRACTOR["x-fix"])))
    pattern = _regex(spec.get("regex"), f"{where}.regex", problems)
    if "group" in spec and (pattern is None or spec["group"] > pattern.groups):
        problems.append(
            Problem(f"{where}.group", "the regex has no such group", "count the ( ) groups, from 1")
        )


def _regex(pattern: str | None, where: str, problems: list[Problem]) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        problems.append(
            Problem(where, f"not a valid regular expression ({exc})", "check it with Python's re")
        )
        return None


def _extractor(spec: Mapping[str, Any] | None) -> Extractor | None:
    if spec is None:
        return None
    regex = re.compile(spec["regex"]) if "regex" in spec else None
    group = spec.get("group", 1 if regex is not None and regex.groups else 0)
    return Extractor(tuple(spec.get("json_path", "").split(".")) if regex is None else (), regex, group)


def _compile(raw: dict[str, Any]) -> Config:
    sink: list[Problem] = []  # already validated: nothing lands here
    url = parse_template(raw["url"], "url", sink, placeholders=False)
    headers = {k: parse_template(v, k, sink, placeholders=False) for k, v in raw.get("headers", {}).items()}
    body = _body(raw, sink)
    auth = (
        [parse_template(raw["basic_auth"][k], k, sink, False) for k in ("username", "password")]
        if "basic_auth" in raw
        else []
    )
    success, dlr = raw.get("success", {}), raw.get("dlr")
    equals = success.get("equals")
    return Config(
        name=raw.get("name", "generic_http"),
        method=raw.get("method", "POST"),
        url=url,
        headers=headers,
        basic_auth=(auth[0], auth[1]) if auth else None,
        body_type=raw["body_type"],
        body=body,
        success_statuses=frozenset(success.get("status", range(200, 300))),
        success_path=tuple(success["json_path"].split(".")) if "json_path" in success else (),
        success_equals=tuple(equals) if isinstance(equals, list) else (equals,),
        success_regex=re.compile(success["body_regex"]) if "body_regex" in success else None,
        message_id=_extractor(raw.get("message_id")),
        error_code=_extractor(raw.get("error_code")),
        errors={code: ERROR_CLASSES[slug] for code, slug in raw.get("errors", {}).items()},
        dlr=None
        if dlr is None
        else DlrMapping(
            source=dlr["source"],
            status=dlr["status"],
            id=dlr.get("id"),
            error_code=dlr.get("error_code"),
            status_map={k: DeliveryStatus(v) for k, v in dlr["status_map"].items()},
            replay_window_s=dlr.get("replay_window_s", 7 * 24 * 3600),
        ),
        secrets=frozenset(_secrets([url, *headers.values(), *auth, body])),
    )


def _secrets(part: Any) -> set[str]:
    if isinstance(part, Template):
        return part.names("secret")
    items = part.values() if isinstance(part, dict) else part if isinstance(part, list) else []
    return set().union(*(_secrets(item) for item in items))


def secret(name: str) -> str:
    """The value of secret variable ``name`` (ALPHASMS_GENERIC_HTTP_…) at call time; never logged.

    Looked up as ``gateway_setting`` does: ALPHASMS settings dict, environment, then ``name_FILE``.
    Raises GatewayMisconfigured naming the variable when it is empty.
    """
    value = app_settings.gateway_setting(name.removeprefix("ALPHASMS_"))
    if not value:
        raise errors.GatewayMisconfigured(
            f"{name} is not set: ALPHASMS_GENERIC_HTTP_CONFIG uses ${{{name}}}; set {name} or {name}_FILE"
        )
    return value
