"""Configuration of the generic HTTP gateway: every error names its field and a fix; the examples load.

Each case below breaks one rule of a small valid configuration; the problem list must name the field and
say what is wrong. ``validate_config`` reports the same through Django's check framework.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.messaging.gateways.errors import GatewayMisconfigured
from alphasms.messaging.gateways.generic_http import config
from alphasms.messaging.gateways.generic_http.checks import validate_config

FIXTURES = Path(__file__).parent / "fixtures"
VALID: dict[str, Any] = {
    "url": "https://sms.example/send",
    "body_type": "form",
    "body": {"to": "{to_e164}", "text": "{text}"},
}


def example(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text())["config"])


def problems(**changes: Any) -> list[str]:
    raw = copy.deepcopy(VALID)
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return [str(problem) for problem in config.problems_in(raw)]


def settings_with(**values: Any) -> override_settings:
    return override_settings(ALPHASMS={**settings.ALPHASMS, **values})


CASES: list[tuple[str, dict[str, Any], str]] = [
    ("missing url", {"url": None}, "url: is required"),
    ("url not http", {"url": "ftp://sms.example/send"}, "url: 'ftp://sms.example/send' has the wrong form"),
    ("bad method", {"method": "DELETE"}, 'method: "DELETE" is not one of "GET", "POST", "PUT"'),
    ("bad body type", {"body_type": "xml"}, 'body_type: "xml" is not one of "form", "json", "query"'),
    ("body not object", {"body": ["{text}"]}, "body: must be object, not list"),
    (
        "unknown placeholder",
        {"body": {"to": "{to_e164}", "message": "{txt}"}},
        "body.message: unknown placeholder {txt} (fix: use one of {to_e164} {to_msisdn} {text}",
    ),
    (
        "attribute access is no placeholder",
        {"body": {"to": "{to_e164}", "text": "{text.upper}"}},
        "body.text: unknown placeholder {text.upper}",
    ),
    (
        "format spec is no placeholder",
        {"body": {"to": "{to_e164}", "text": "{text!r}"}},
        "body.text: unknown placeholder {text!r}",
    ),
    ("lone brace", {"body": {"to": "{to_e164}", "text": "{text} }"}}, "body.text: lone '}'"),
    (
        "placeholder in url",
        {"url": "https://sms.example/send/{to_msisdn}"},
        "url: placeholder {to_msisdn} is not allowed here (fix: placeholders go into body values only)",
    ),
    (
        "placeholder in header",
        {"headers": {"X-Ref": "{reference}"}},
        "headers.X-Ref: placeholder {reference} is not allowed here",
    ),
    (
        "foreign secret",
        {"headers": {"Authorization": "Bearer ${ALPHASMS_SECRET_KEY}"}},
        "headers.Authorization: ${ALPHASMS_SECRET_KEY} is not an allowed secret (fix: name it "
        "ALPHASMS_GENERIC_HTTP_<SOMETHING>",
    ),
    ("header not text", {"headers": {"X-Count": 3}}, "headers.X-Count: must be string, not int"),
    (
        "GET with a form",
        {"method": "GET"},
        'method: a GET request has no body (fix: use "body_type": "query")',
    ),
    (
        "nested form value",
        {"body": {"to": "{to_e164}", "text": "{text}", "options": {"flash": "0"}}},
        "body.options: form and query bodies are flat",
    ),
    ("no text sent", {"body": {"to": "{to_e164}"}}, "body: never sends {text} and a recipient"),
    ("no recipient sent", {"body": {"text": "{text}"}}, "body: never sends {text} and a recipient"),
    ("non-2xx success", {"success": {"status": [200, 500]}}, "success.status[1]: 500 is outside 200..299"),
    ("empty success status", {"success": {"status": []}}, "success.status: must not be empty"),
    (
        "json path and regex",
        {"success": {"json_path": "ok", "equals": True, "body_regex": "^OK"}},
        "success: json_path and body_regex exclude each other",
    ),
    ("json path alone", {"success": {"json_path": "status"}}, "success: json_path and equals go together"),
    ("bad regex", {"success": {"body_regex": "(OK"}}, "success.body_regex: not a valid regular expression"),
    ("bad json path", {"message_id": {"json_path": "messages..id"}}, "message_id.json_path: 'messages..id'"),
    ("extractor empty", {"message_id": {}}, "message_id: needs exactly one of json_path and regex"),
    (
        "missing regex group",
        {"message_id": {"regex": "ID: (\\w+)", "group": 2}},
        "message_id.group: the regex has no such group",
    ),
    (
        "unknown error slug",
        {"error_code": {"json_path": "code"}, "errors": {"E1": "wrong_number"}},
        'errors.E1: "wrong_number" is not one of',
    ),
    (
        "errors without code",
        {"errors": {"E1": "invalid_recipient"}},
        "errors: needs error_code to find the code",
    ),
    (
        "dlr without dlr_url",
        {"dlr": {"source": "query", "status": "s", "status_map": {"D": "delivered"}}},
        "dlr: needs {dlr_url} in the body",
    ),
    (
        "dlr_url without dlr",
        {"body": {"to": "{to_e164}", "text": "{text}", "cb": "{dlr_url}"}},
        "body: {dlr_url} needs a dlr mapping",
    ),
    (
        "status outside our vocabulary",
        {
            "body": {"to": "{to_e164}", "text": "{text}", "cb": "{dlr_url}"},
            "dlr": {"source": "query", "status": "s", "status_map": {"DELIVRD": "delivrd"}},
        },
        'dlr.status_map.DELIVRD: "delivrd" is not one of "accepted", "queued", "sent", "delivered"',
    ),
    (
        "dlr without status",
        {
            "body": {"to": "{to_e164}", "text": "{text}", "cb": "{dlr_url}"},
            "dlr": {"source": "json", "status_map": {"D": "delivered"}},
        },
        "dlr.status: is required",
    ),
    (
        "replay window too short",
        {
            "body": {"to": "{to_e164}", "text": "{text}", "cb": "{dlr_url}"},
            "dlr": {"source": "form", "status": "s", "status_map": {"D": "delivered"}, "replay_window_s": 5},
        },
        "dlr.replay_window_s: 5 is outside 60..2592000",
    ),
    ("typo in a field name", {"boddy": {}}, 'boddy: is not a known field (fix: did you mean "body"?)'),
    (
        "basic auth and header",
        {
            "basic_auth": {"username": "u", "password": "${ALPHASMS_GENERIC_HTTP_PASSWORD}"},
            "headers": {"authorization": "Basic x"},
        },
        "basic_auth: conflicts with headers.Authorization",
    ),
]


class TestConfigurationErrors:
    @pytest.mark.parametrize(("case", "changes", "expected"), CASES, ids=[c[0] for c in CASES])
    def test_each_error_names_its_field_and_a_fix(self, case, changes, expected):
        found = problems(**changes)

        assert any(expected in problem for problem in found), f"{case}: {found}"
        assert all("(fix: " in problem for problem in found)

    def test_the_valid_base_and_both_readme_examples_have_no_problems(self):
        assert problems() == []
        for name in ("46elks.config.json", "infobip.config.json"):
            assert config.problems_in(example(name)) == [], name

    def test_literal_braces_are_written_doubled(self):
        found = problems(body={"to": "{to_e164}", "text": "{text}", "json": '{{"a": 1}}'})

        assert found == []

    def test_it_refuses_to_send_with_an_invalid_configuration_and_lists_every_problem(self):
        raw = {**VALID, "method": "GET", "body": {"to": "{to_e164}", "text": "{txt}"}}
        with (
            settings_with(GENERIC_HTTP_CONFIG=json.dumps(raw)),
            pytest.raises(GatewayMisconfigured) as caught,
        ):
            config.load()

        message = str(caught.value)
        assert message.startswith("ALPHASMS_GENERIC_HTTP_CONFIG is invalid:")
        assert "body.text: unknown placeholder {txt}" in message
        assert "method: a GET request has no body" in message


class TestLoading:
    def test_it_reads_the_json_from_a_file(self, tmp_path):
        path = tmp_path / "provider.json"
        path.write_text(json.dumps(VALID))
        with settings_with(GENERIC_HTTP_CONFIG=str(path)):
            assert config.load().body_type == "form"

    def test_it_names_the_setting_when_it_is_unset(self):
        with settings_with(GENERIC_HTTP_CONFIG=""), pytest.raises(GatewayMisconfigured) as caught:
            config.load()

        assert "ALPHASMS_GENERIC_HTTP_CONFIG is not set" in str(caught.value)

    def test_it_names_a_missing_file(self, tmp_path):
        missing = tmp_path / "nope.json"
        with settings_with(GENERIC_HTTP_CONFIG=str(missing)), pytest.raises(GatewayMisconfigured) as caught:
            config.load()

        assert str(missing) in str(caught.value) and "cannot be read" in str(caught.value)

    def test_it_points_at_the_line_of_a_json_error(self):
        with (
            settings_with(GENERIC_HTTP_CONFIG='{\n"url": "x",\n}'),
            pytest.raises(GatewayMisconfigured) as caught,
        ):
            config.load()

        assert "not valid JSON" in str(caught.value) and "line 3" in str(caught.value)


class TestSystemCheck:
    def test_nothing_to_check_when_the_gateway_is_not_used(self):
        with settings_with(GENERIC_HTTP_CONFIG="", SMS_GATEWAY="outbox"):
            assert validate_config() == []

    def test_selected_without_a_configuration(self):
        with settings_with(GENERIC_HTTP_CONFIG="", SMS_GATEWAY="generic_http"):
            (error,) = validate_config()

        assert error.id == "generic_http.E001"

    def test_each_problem_is_one_error_with_the_fix_as_hint(self):
        raw = {**VALID, "body": {"to": "{to_e164}", "text": "{text}", "ref": "{ref}"}}
        with settings_with(GENERIC_HTTP_CONFIG=json.dumps(raw)):
            (error,) = validate_config()

        assert error.id == "generic_http.E003"
        assert error.msg == "GENERIC_HTTP_CONFIG body.ref: unknown placeholder {ref}"
        assert error.hint is not None and "{to_e164}" in error.hint

    def test_unset_secrets_and_dlr_secret_are_reported(self, monkeypatch):
        monkeypatch.delenv("ALPHASMS_GENERIC_HTTP_USERNAME", raising=False)
        monkeypatch.delenv("ALPHASMS_GENERIC_HTTP_PASSWORD", raising=False)
        monkeypatch.setenv("ALPHASMS_GENERIC_HTTP_USERNAME", "elks-user")
        with settings_with(
            GENERIC_HTTP_CONFIG=json.dumps(example("46elks.config.json")), GENERIC_HTTP_DLR_SECRET=""
        ):
            found = {(e.id, e.msg.split(" ")[0]) for e in validate_config()}

        assert found == {
            ("generic_http.E004", "ALPHASMS_GENERIC_HTTP_PASSWORD"),
            ("generic_http.E005", "ALPHASMS_GENERIC_HTTP_DLR_SECRET"),
        }

    def test_a_complete_setup_passes(self):
        with settings_with(
            GENERIC_HTTP_CONFIG=json.dumps(example("infobip.config.json")),
            GENERIC_HTTP_API_KEY="key",
            GENERIC_HTTP_DLR_SECRET="dlr-secret",
        ):
            assert validate_config() == []
