"""What the browser tests share: Debian's Chromium driven by Playwright, logging in, screenshots.

    PREVENANCE_TESTING=1 .venv/bin/pytest -m browser tests/e2e
    PREVENANCE_SCREENSHOT_DIR=docs ...      # also save each test's screenshot there (docs/*.png)

Imported by the test modules of this folder (pytest puts it on the path: it has no
__init__.py). Each module sets `pytestmark = BROWSER_TESTS`.
"""

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PASSWORD = "correct horse battery"  # the user factory's

BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is missing: install Debian's Chromium (`sudo apt-get install chromium`) to run browser tests",
    ),
]


@contextmanager
def chromium_page(monkeypatch, *, width: int = 1440, height: int = 900, locale: str = "en-GB", **options):
    """A page of a headless Chromium, closed whatever happens in the test."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only when Chromium is there

    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
    # inside one unless told it is safe (it is: the calls are really synchronous).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": width, "height": height}, locale=locale, **options)
        finally:
            browser.close()


def log_in(page, live_server, path: str, username: str) -> None:
    """Open `path`, which sends to the login page, and log in as `username`."""
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")


class Dialogs:
    """The questions the page asks (window.confirm), answered with `accept` (False: Cancel)."""

    def __init__(self, page) -> None:
        self.asked: list[str] = []
        self.accept = False
        page.on("dialog", self._answer)

    def _answer(self, dialog) -> None:
        self.asked.append(dialog.message)
        dialog.accept() if self.accept else dialog.dismiss()


def screenshot(page, name: str) -> None:
    """Saved as `name` under PREVENANCE_SCREENSHOT_DIR when it is set, else nothing."""
    if shots := os.environ.get("PREVENANCE_SCREENSHOT_DIR"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / name), full_page=True)
