"""How every browser test and script starts Debian's Chromium (never a downloaded browser).

Without the background-networking flags Chromium keeps dialling out, and this machine's closed
network refuses those connections many at a time.
"""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def chromium_launch(playwright):
    """A headless Chromium from a (sync or async) Playwright instance."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
