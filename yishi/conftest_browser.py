"""Fixtures for tests that drive a real browser (``@pytest.mark.browser``).

Debian's chromium through Playwright's sync API — never a downloaded browser. Without /usr/bin/chromium (or
without Playwright) the browser tests are skipped with the reason. The pages are served by pytest-django's
``live_server`` (so the database is transactional), and screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium per test process (each xdist worker has its own)."""
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium fonts-noto-cjk)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    # Playwright's sync API keeps an event loop running in this thread; Django's ORM refuses to run in a thread with
    # a running loop unless told that this is intended (the test code and the live server never share a loop).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                yield instance
            finally:
                instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(viewport=PHONE, locale="zh-CN")`` opens a page in a fresh context (own cookies) on the live server."""
    contexts: list[Any] = []

    def factory(viewport: dict[str, int] | None = None, locale: str = "zh-CN") -> Any:
        context = browser.new_context(viewport=viewport or DESKTOP, locale=locale, base_url=live_server.url)
        # Generous: pages that follow another browser's action by polling can lag when CI runs two workers and
        # three browsers on two cores; a real failure still fails, only later.
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """``screenshot(page, "home-phone")`` saves a full-page PNG under test-artifacts/ and returns its path."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
