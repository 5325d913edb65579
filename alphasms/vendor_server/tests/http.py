"""A tiny HTTP client for the vendor-server tests: real sockets, JSON answers, errors as values."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None, method: str | None = None
) -> tuple[int, Any]:
    """(status, decoded JSON body or raw text) of one request; HTTP errors are returned, not raised."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def post_json(url: str, payload: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST ``payload`` as JSON."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return call(url, json.dumps(payload).encode("utf-8"), all_headers, "POST")
