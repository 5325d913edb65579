"""The vendored htmx is the release SOURCES.md names (checksum), with its licence, and every page loads it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from alphasms.web.roles import Role

STATIC = Path(__file__).resolve().parents[2] / "alphasms" / "web" / "static" / "web"


def test_htmx_is_the_release_recorded_in_sources_with_its_licence():
    sources = (STATIC / "SOURCES.md").read_text()
    recorded = re.search(r"sha256 of `htmx.min.js`: `([0-9a-f]{64})`", sources)
    assert recorded is not None
    assert hashlib.sha256((STATIC / "htmx.min.js").read_bytes()).hexdigest() == recorded.group(1)
    assert "2.0.11" in sources
    assert (STATIC / "htmx.LICENSE.txt").read_text().startswith("Zero-Clause BSD")


def test_pages_load_htmx_and_the_stylesheet_from_our_own_static_files(web_client):
    page = web_client(Role.STAFF).get("/").content.decode()
    assert '<script src="/static/web/htmx.min.js" defer></script>' in page
    assert '<link rel="stylesheet" href="/static/web/web.css">' in page
    assert 'href="#main"' in page and '<main id="main"' in page  # skip link and its target


def test_the_navigation_shows_the_pages_the_role_may_see_and_marks_the_current_one(web_client, monkeypatch):
    from alphasms.web.roles import Area
    from alphasms.web.templatetags import web as tags

    nav = [
        (("web:dashboard",), "Dashboard", Area.DASHBOARD),
        (("web:not_built_yet",), "Later", Area.APPOINTMENTS),
        (("web:settings_not_built", "web:login_setup"), "Settings", Area.SETTINGS),
    ]
    monkeypatch.setattr(tags, "NAV", nav)

    def links(role):
        page = web_client(role).get("/").content.decode()
        return re.findall(r"<li><a href=\"([^\"]*)\"( aria-current=\"page\")?>([^<]*)</a></li>", page)

    assert links(Role.OWNER) == [
        ("/", ' aria-current="page"', "Dashboard"),
        ("/login/setup/", "", "Settings"),
    ]
    assert links(Role.STAFF) == [("/", ' aria-current="page"', "Dashboard")]  # settings are for owners
