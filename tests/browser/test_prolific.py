"""A Prolific worker end to end in Chromium: study link → work → completion URL with the code."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

from annotation_server.accounts.models import ExternalIdentity
from annotation_server.batches import lifecycle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PID = "60a1b2c3d4e5f60718293a4b"
COMPLETION = "https://app.prolific.com/submissions/complete?cc=C0DE42"


def _answers() -> dict:
    return {
        "sub_preferences": {
            "instruction_following": "left",
            "correctness": "right",
            "information": "left",
            "aesthetics": "left",
        },
        "helpfulness": "left",
        "harmlessness": "right",
        "harm_labels": {"left": [], "right": ["violence"]},
    }


def _submit_one(page, base: str) -> None:
    """Claim and submit a pair through the API with the browser's own session and CSRF."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": csrf, "Referer": f"{base}/work/"}
    claimed = page.request.post(f"{base}/api/v1/assignments/next/", headers=headers, data={})
    assert claimed.ok, claimed.text()
    assignment_id = claimed.json()["id"]
    submitted = page.request.post(
        f"{base}/api/v1/assignments/{assignment_id}/submit/", headers=headers, data=_answers()
    )
    assert submitted.ok, submitted.text()


def test_prolific_worker_enters_works_and_is_sent_to_the_completion_url(
    page, live_server, make_batch
):
    batch = make_batch(pairs=3)
    lifecycle.batch_entry_configure(
        batch=batch, actor=None, enabled=True, pairs_required=2, completion_code="C0DE42"
    )
    base = live_server.url
    page.goto(
        f"{base}/entry/prolific/{batch.entry_token}/?PROLIFIC_PID={PID}"
        "&STUDY_ID=st123&SESSION_ID=se456"
    )
    page.wait_for_url(f"{base}/work/")
    identity = ExternalIdentity.objects.select_related("user").get(external_id=PID)
    assert identity.user.username == f"prolific-{PID}"
    if not any(c["name"] == "csrftoken" for c in page.context.cookies()):
        page.goto(f"{base}/accounts/login/")  # any form page hands out the CSRF cookie

    status = page.request.get(f"{base}/api/v1/entry/status/").json()
    assert (status["submitted"], status["required"], status["complete"]) == (0, 2, False)
    _submit_one(page, base)

    # Finishing too early explains what is left instead of sending the worker away.
    page.goto(f"{base}/entry/complete/")
    assert "Please submit 1 more pair(s)" in page.locator("#message").inner_text()

    _submit_one(page, base)
    status = page.request.get(f"{base}/api/v1/entry/status/").json()
    assert status["complete"] is True and status["completion_url"] == COMPLETION

    _expect_sent_to_completion(
        page, f"{base}{status['finish_url']}", from_url=f"{base}/entry/complete/"
    )
    identity.refresh_from_db()
    assert identity.completed_at is not None

    # Opening the study link again (same PID) reuses the account and goes straight back.
    page.context.clear_cookies()
    _expect_sent_to_completion(
        page,
        f"{base}/entry/prolific/{batch.entry_token}/?PROLIFIC_PID={PID}&STUDY_ID=st123"
        "&SESSION_ID=se789",
        from_url=f"{base}/entry/complete/",
    )
    assert ExternalIdentity.objects.filter(external_id=PID).count() == 1


def _expect_sent_to_completion(page, url: str, *, from_url: str) -> None:
    """Navigate to `url` and check Chromium followed the redirects to Prolific's page.

    The test machine is offline, so loading prolific.com itself fails; Playwright cannot
    fulfil redirected requests (page.route sees only the first one), so we check the request
    Chromium sent and the redirect it came from.
    """
    with page.expect_request(COMPLETION) as sent:
        try:
            page.goto(url)
        except PlaywrightError:
            pass  # no route to app.prolific.com from the test machine
    assert sent.value.redirected_from is not None
    assert sent.value.redirected_from.url == from_url
