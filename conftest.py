"""Root pytest configuration: shared fixtures from alphasms.testing (fake HTTP peer), and a live server
that answers one request at a time.

Django's live server is threaded, but with the in-memory SQLite test database all its threads share one
connection; two webhooks arriving together (Kannel posts a report per state) then collide ("cannot open
savepoint - SQL statements in progress"). Providers retry, tests do not: serve requests one by one.
"""

from __future__ import annotations

from typing import Any

from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread

pytest_plugins = [
    "alphasms.testing.fake_http",
    "alphasms.testing.vendor",
    "alphasms.testing.web",
    "alphasms.testing.browser",
    "alphasms.testing.credentials",
]


class SerialLiveServer(WSGIServer):
    """Django's WSGIServer (one request at a time) accepting the live server's extra argument."""

    def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


LiveServerThread.server_class = SerialLiveServer  # type: ignore[assignment]
