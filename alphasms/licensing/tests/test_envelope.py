"""The signed-envelope format shared with the vendor server (RFC 8032 Ed25519, RFC 4648 base64url)."""

from __future__ import annotations

import json

import pytest

from alphasms.licensing import envelope as env


def test_canonical_json_is_sorted_compact_utf8():
    assert env.canonical_json({"b": 1, "a": "Müller", "c": [1, {"z": 0, "y": True}]}) == (
        '{"a":"Müller","b":1,"c":[1,{"y":true,"z":0}]}'.encode()
    )


def test_sign_and_verify_round_trip():
    key = env.generate_private_key()
    payload = {"type": "alphasms-manifest", "counter": 7, "release_notes": "Größere Änderungen"}
    signed = env.sign_envelope(key, payload)
    assert set(signed) == {"payload", "signature"}
    assert "=" not in signed["signature"]
    assert len(env.b64url_decode(signed["signature"])) == 64
    # Survives a JSON round trip (as it does over HTTP).
    assert env.verify_envelope(key.public_key(), json.loads(json.dumps(signed))) == payload


def test_unsigned_is_its_own_error():
    key = env.generate_private_key()
    for envelope in ({"payload": {"a": 1}}, {"payload": {"a": 1}, "signature": ""}):
        with pytest.raises(env.EnvelopeUnsigned):
            env.verify_envelope(key.public_key(), envelope)


def test_other_key_and_altered_payload_are_forged():
    key, other = env.generate_private_key(), env.generate_private_key()
    signed = env.sign_envelope(key, {"counter": 1})
    with pytest.raises(env.EnvelopeForged):
        env.verify_envelope(other.public_key(), signed)
    altered = {"payload": {"counter": 2}, "signature": signed["signature"]}
    with pytest.raises(env.EnvelopeForged):
        env.verify_envelope(key.public_key(), altered)


@pytest.mark.parametrize(
    "envelope",
    [
        [],
        "text",
        {"signature": "abc"},
        {"payload": [1], "signature": "abc"},
        {"payload": {}, "signature": 5},
        {"payload": {}, "signature": "AAAA"},
        {"payload": {}, "signature": "!!not base64!!"},
    ],
)
def test_malformed_envelopes(envelope):
    key = env.generate_private_key()
    with pytest.raises(env.EnvelopeError) as info:
        env.verify_envelope(key.public_key(), envelope)
    assert type(info.value) is env.EnvelopeError
    assert "malformed" in str(info.value)


def test_key_text_round_trip():
    key = env.generate_private_key()
    private_text = env.private_key_to_text(key)
    public_text = env.public_key_to_text(key.public_key())
    assert len(private_text) == 43 and len(public_text) == 43
    again = env.private_key_from_text(private_text)
    assert env.public_key_to_text(again.public_key()) == public_text
    signed = env.sign_envelope(again, {"x": 1})
    assert env.verify_envelope(env.public_key_from_text(public_text), signed) == {"x": 1}


@pytest.mark.parametrize("text", ["", "AAAA", "not-base64-!!"])
def test_bad_key_text(text):
    with pytest.raises(env.EnvelopeError):
        env.public_key_from_text(text)
    with pytest.raises(env.EnvelopeError):
        env.private_key_from_text(text)


def test_envelope_module_does_not_import_django():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(env.__file__).read_text())
    names = {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("django") for name in names)
