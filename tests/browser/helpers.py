"""Steps the browser tests share: logging in by keyboard, starting, waiting, screenshots."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.conf import settings
from playwright.sync_api import Page

PASSWORD = "pw-long-enough"
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"


def login(page: Page, base_url: str, username: str) -> None:
    """Log in with the keyboard only, landing on the workspace."""
    page.goto(f"{base_url}/accounts/login/?next=/work/")
    wait_until(page, "document.activeElement?.id === 'id_username'")  # autofocus
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url.endswith("/work/"))
    page.locator("#start").wait_for()


def screenshot(page: Page, name: str) -> None:
    """Write docs/screenshots/<name>.png, only when UPDATE_SCREENSHOTS=1 is set.

    A plain test run must not rewrite the committed images (and dirty the working tree).
    """
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def start_task(page: Page) -> str:
    """Press Enter on the focused start button; returns the shown assignment id."""
    page.keyboard.press("Enter")
    main = page.locator("main.pair")
    main.wait_for()
    return main.get_attribute("data-assignment")


def wait_until(page: Page, expression: str, arg=None, timeout_s: float = 15.0):
    """Poll a JS expression until it is truthy; returns its value.

    Playwright's wait_for_function evaluates its predicate with eval(), which the site's
    Content-Security-Policy rightly forbids; page.evaluate is not subject to it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(50)


def player_state(page: Page) -> list[dict]:
    """What each video element reports (for failure messages)."""
    return page.evaluate(
        """[...document.querySelectorAll('main.pair video')].map(v => ({
            paused: v.paused, ended: v.ended, time: v.currentTime, duration: v.duration,
            readyState: v.readyState, error: v.error && v.error.message,
            played: [...Array(v.played.length).keys()].map(
                i => [v.played.start(i), v.played.end(i)])}))"""
    )


def wait_unlocked(page: Page) -> None:
    try:
        wait_until(page, "!document.querySelector('#stage1').disabled")
    except AssertionError as exc:
        raise AssertionError(f"questions stayed locked; videos: {player_state(page)}") from exc
