"""A reviewer watches an annotation's two videos beside the answers, in Chromium.

(Kept beside the Prolific flow: both use the browser fixtures of tests/browser/conftest.py.)
"""

from __future__ import annotations

import pytest

from annotation_server.accounts import roles
from tests.browser.helpers import screenshot, wait_until
from tests.quality.work import claim_and_submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-long-enough")
    page.press("#id_password", "Enter")
    page.wait_for_url(f"{base}{next_url}")


def test_reviewer_sees_an_annotation_beside_both_playable_videos(
    page, live_server, make_batch, make_user
):
    batch = make_batch(pairs=1)
    annotation = claim_and_submit(make_user(roles.ANNOTATOR), "left")
    make_user(roles.REVIEWER, username="rita")
    url = f"/dashboard/annotations/{annotation.pk}/"
    _log_in(page, live_server.url, "rita", url)

    # Both players load their rendition (metadata known: duration of the 1 s clip).
    durations = wait_until(
        page,
        "(() => { const v = [...document.querySelectorAll('video')];"
        " return v.length === 2 && v.every(x => x.readyState >= 1)"
        " ? v.map(x => x.duration) : null; })()",
    )
    assert all(0.5 < d < 2 for d in durations)
    text = page.locator("main").inner_text()
    pair = annotation.pair
    assert pair.prompt.text in text and batch.name in text
    for video in (pair.video_0, pair.video_1):
        assert video.generated_from in text
    # The answers are stated in video_0/video_1 terms, with where each video was shown.
    headers = page.locator("thead th").all_inner_texts()
    values = page.locator("tbody tr").first.locator("td").all_inner_texts()
    answers = dict(zip([h.lower() for h in headers], values, strict=True))
    assert answers["overall: more helpful"] == annotation.helpfulness
    assert answers["overall: safer"] == annotation.harmlessness
    assert "shown on the left" in text and "shown on the right" in text
    screenshot(page, "dashboard-annotation")

    # An annotator (even the author) gets no reviewer page.
    page.context.clear_cookies()
    make_user(roles.ANNOTATOR, username="ann")
    page.goto(f"{live_server.url}/accounts/login/?next=/work/")
    page.fill("#id_username", "ann")
    page.fill("#id_password", "pw-long-enough")
    page.press("#id_password", "Enter")
    page.wait_for_url(f"{live_server.url}/work/")
    response = page.goto(f"{live_server.url}{url}")
    assert response.status == 403
