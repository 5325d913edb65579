"""URLs as they may be shown or logged: without user name/password and without query values.

Calendar URLs often carry a secret in the query (``?key=…``, ``?token=…``); userinfo
(``user:pw@``) is never sent by our HTTP client anyway. Secrets in the *path* (Google's
``/private-<hash>/basic.ics``) cannot be told apart from ordinary paths and stay.
"""

from __future__ import annotations

import urllib.parse

ELLIPSIS = "…"


def redact_url(url: str) -> str:
    """``url`` without userinfo, every query value replaced by "…" and a fragment shortened to "…".

    >>> redact_url("http://user:pw@host:8080/p?key=SECRET&x=&TOKEN#frag")
    'http://host:8080/p?key=…&x=…&…#…'

    Text that is no URL with a host comes back unchanged.
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return url.split("@", 1)[-1] if "://" not in url else url.split("://", 1)[0] + "://" + ELLIPSIS
    if not parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    # a pair without "=" ("?SECRET") may itself be the secret: only named values keep their name
    query = "&".join(
        f"{pair.partition('=')[0]}={ELLIPSIS}" if "=" in pair else ELLIPSIS
        for pair in parts.query.split("&")
        if pair
    )
    return urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path, query, ELLIPSIS if parts.fragment else "")
    )
