"""Screenshots of the dashboard for docs/screenshots/ (a script, not a test).

Usage, against a running server whose database holds simulated batches (README, section
"Admins: batches, dashboard and quality"):

    .venv/bin/python tests/browser/shoot_dashboard.py http://127.0.0.1:8077 USER PASSWORD BATCH
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def main(base: str, username: str, password: str, batch_name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(f"{base}/accounts/login/?next=/dashboard/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.press("#id_password", "Enter")
        page.wait_for_url(f"{base}/dashboard/")
        page.screenshot(path=str(OUT / "dashboard-overview.png"), full_page=True)
        page.click(f"text={batch_name}")
        page.wait_for_url(re.compile(r".*/dashboard/batches/\d+/$"))
        page.screenshot(path=str(OUT / "dashboard-batch.png"), full_page=True)
        page.locator("h2", has_text="Annotators").scroll_into_view_if_needed()
        page.screenshot(path=str(OUT / "dashboard-annotators.png"))
        page.locator("tr.flagged a", has_text="review").first.click()
        page.wait_for_url(re.compile(r".*/review/$"))
        page.screenshot(path=str(OUT / "dashboard-review.png"), full_page=True)
        browser.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
