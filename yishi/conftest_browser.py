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


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    """Keep each phase's report on the test item so fixtures can tell, at teardown, whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _describe_failure(name: str, pages: list[Any]) -> None:
    """After a failed browser test: every open page's URL, its visible errors and notices, a screenshot and its HTML
    (test-artifacts/failures/), so that a failure on CI names its cause instead of only "timeout"."""
    folder = ARTIFACTS / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    for i, page in enumerate(pages):
        try:
            messages = page.locator(".errorlist, .notice, [role=alert]").all_inner_texts()
            print(f"\n[browser {i}] {page.url}\n  messages: {[m.strip() for m in messages if m.strip()]}")
            page.screenshot(path=str(folder / f"{name}-{i}.png"), full_page=True)
            (folder / f"{name}-{i}.html").write_text(page.content(), encoding="utf-8")
        except Exception as exc:  # a closed or crashed page must not hide the test's own failure
            print(f"\n[browser {i}] could not be described: {exc}")


@pytest.fixture
def new_page(browser: Any, live_server: Any, request: Any) -> Iterator[Callable[..., Any]]:
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
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        _describe_failure(request.node.name, [page for context in contexts for page in context.pages])
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
