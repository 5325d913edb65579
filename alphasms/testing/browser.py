"""Browser tests: Playwright for Python driving Debian's Chromium (``/usr/bin/chromium``, packages
``chromium`` and ``chromium-driver``; ``python3 dev.py test`` installs them) against Django's live server.
Never a downloaded browser (no ``playwright install``).

Fixtures:

* ``browser_page`` — a fresh headless page (German browser: ``Accept-Language: de-DE``) and the live
  server's URL: ``page, base_url = browser_page``;
* ``screenshot(page, name)`` — saves a full-page PNG into ``$ALPHASMS_SCREENSHOT_DIR`` (default
  ``tests/screenshots/``, ignored by git) and prints the path.

Playwright's sync API runs an asyncio loop in the test's thread; Django refuses ORM calls there
(``SynchronousOnlyOperation``) unless ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set — the fixture sets it for
the test only, and stops Playwright at the end of each test, so other tests run without the loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "tests" / "screenshots"


def screenshot_dir() -> Path:
    """Where screenshots go: ``$ALPHASMS_SCREENSHOT_DIR`` or ``tests/screenshots/``."""
    folder = Path(os.environ.get("ALPHASMS_SCREENSHOT_DIR") or SCREENSHOT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_screenshot(page: Any, name: str) -> Path:
    """Save a full-page PNG of ``page`` as ``<screenshot dir>/<name>.png``; prints and returns the path."""
    path = screenshot_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """``screenshot(page, "dashboard")`` → the saved PNG's path."""
    return save_screenshot


@pytest.fixture
def browser_page(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """(Playwright page, live server URL) with a headless Debian Chromium; German by default."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(
            "Browser tests need Debian's Chromium at /usr/bin/chromium: run `python3 dev.py test` as root "
            "on Debian/Ubuntu, or `apt-get install chromium chromium-driver`."
        )
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        try:
            yield context.new_page(), live_server.url
        finally:
            context.close()
            browser.close()
