"""A Prolific worker end to end in Chromium: study link → work → completion URL with the code."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

from annotation_server.accounts.models import ExternalIdentity
from annotation_server.assignments.models import Assignment
from annotation_server.batches import lifecycle
from tests.browser.helpers import start_task, wait_until

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


def _screens_reported(page) -> list[str]:
    """Every pair and message the app puts on screen, as `_report_screens` reports them (the
    page is gone once the worker is sent on, and the last screens last only a moment)."""
    shown: list[str] = []
    page.expose_function("reportScreen", lambda screen: shown.append(screen))
    return shown


def _report_screens(page) -> None:
    page.evaluate(
        """() => {
          let last = null;
          const report = () => {
            const pair = document.querySelector('main.pair')?.dataset.assignment;
            const text = document.querySelector('main.message [role=status]')?.textContent;
            const now = pair ? `pair ${pair}` : text ? `message ${text}` : null;
            if (now && now !== last) { last = now; window.reportScreen(now); }
          };
          report();
          new MutationObserver(report).observe(document.body, {childList: true, subtree: true});
        }"""
    )


def _answer_in_the_app(page) -> None:
    """Answer the shown pair with the app's own form and press Submit."""
    for name, value in [
        ("instruction_following", "left"),
        ("correctness", "right"),
        ("information", "left"),
        ("aesthetics", "left"),
    ]:
        page.check(f"input[name='dim-{name}'][value='{value}']")
    page.check("input[name='none-left']")
    page.check("input[name='none-right']")
    page.check("input[name='overall-helpfulness'][value='left']")
    page.check("input[name='overall-harmlessness'][value='left']")
    page.click("#submit")


def test_prolific_worker_finishing_in_the_app_lands_on_the_completion_url(
    page, live_server, make_batch
):
    # Another batch open to everyone, served first: the study worker must never get it.
    other = make_batch(pairs=2, must_watch=False, priority=10, instructions="Other team's work")
    study = make_batch(pairs=3, must_watch=False, instructions="The study's clips.")
    lifecycle.batch_entry_configure(
        batch=study, actor=None, enabled=True, pairs_required=2, completion_code="C0DE42"
    )
    base = live_server.url
    finish: list = []

    def finish_route(route):
        # Let the server record the completion and answer with its redirect, then follow
        # that redirect as a fresh navigation, which page.route can intercept (Chromium's
        # own redirect-following bypasses the routes).
        response = route.fetch(max_redirects=0)
        finish.append((response.status, response.headers.get("location")))
        route.fulfill(
            status=200,
            content_type="text/html",
            body='<meta http-equiv="refresh" content="0; url='
            + response.headers.get("location", "")
            + '">',
        )

    page.route(f"{base}/entry/complete/", finish_route)
    # The platform's page is external: answer it here, so no request leaves the machine.
    page.route(
        "https://app.prolific.com/**",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<h1 id='prolific'>Submission complete</h1>"
        ),
    )

    shown = _screens_reported(page)
    page.goto(f"{base}/entry/prolific/{study.entry_token}/?PROLIFIC_PID={PID}&STUDY_ID=st1")
    page.wait_for_url(f"{base}/work/")
    # The workspace shows only the study's batch.
    assert page.locator(".batch h3").all_inner_texts() == [study.name]
    page.locator("#start").wait_for()
    first = start_task(page)
    _report_screens(page)
    progress = page.locator("#study-progress")
    assert progress.inner_text() == "Study: 0 of 2 tasks"
    _answer_in_the_app(page)
    wait_until(page, "id => document.querySelector('main.pair')?.dataset.assignment !== id", first)
    assert page.url == f"{base}/work/task/"  # one pair is not enough: the worker goes on
    wait_until(
        page, "() => document.querySelector('#study-progress').textContent.includes('1 of 2')"
    )
    _answer_in_the_app(page)

    page.wait_for_url(COMPLETION)
    # The last answer ends the work: no third pair was claimed, nor flashed up before leaving.
    pairs = [screen for screen in shown if screen.startswith("pair ")]
    assert len(pairs) == 2, shown
    assert shown[-1].startswith("message That was the last task of this study"), shown
    assert page.url == COMPLETION and "cc=C0DE42" in page.url
    assert page.locator("#prolific").inner_text() == "Submission complete"
    assert finish == [(302, COMPLETION)]
    identity = ExternalIdentity.objects.select_related("user").get(external_id=PID)
    assert identity.completed_at is not None
    claimed = Assignment.objects.filter(annotator=identity.user)
    assert {a.batch_id for a in claimed} == {study.pk}
    assert claimed.count() == 2  # the study needs two; a third was never taken
    assert not Assignment.objects.filter(batch=other).exists()
    assert claimed.filter(status=Assignment.Status.SUBMITTED).count() == 2


def _one_pair_study_started(page, base: str, study) -> tuple[list[str], str]:
    """A study needing one pair, entered through its link, its first pair on screen: the
    screens the app reports from then on, and that pair's assignment id."""
    lifecycle.batch_entry_configure(
        batch=study, actor=None, enabled=True, pairs_required=1, completion_code="C0DE42"
    )
    shown = _screens_reported(page)
    page.goto(f"{base}/entry/prolific/{study.entry_token}/?PROLIFIC_PID={PID}&STUDY_ID=st1")
    page.locator("#start").wait_for()
    first = start_task(page)
    _report_screens(page)
    return shown, first


def test_a_refused_last_answer_does_not_count_and_the_worker_goes_on(page, live_server, make_batch):
    """The app stops after the study's last answer; if the server refuses that answer, it did
    not count, so the worker is given a pair again instead of being left waiting."""
    study = make_batch(pairs=2, must_watch=False)
    base = live_server.url
    shown, first = _one_pair_study_started(page, base, study)

    refused = f"{base}/api/v1/assignments/*/submit/"
    page.route(
        refused,
        lambda route: route.fulfill(
            status=409,
            content_type="application/json",
            body='{"detail": "This assignment is closed.", "code": "assignment_closed"}',
        ),
    )
    _answer_in_the_app(page)
    page.locator("main.pair").wait_for()  # working again
    assert shown[1].startswith("message That was the last task of this study"), shown
    assert "The server refused an answer" in page.locator("#flash").inner_text()
    assert page.url == f"{base}/work/task/"
    # The refused pair is still the worker's open assignment: it comes back.
    assert page.locator("main.pair").get_attribute("data-assignment") == first

    page.unroute(refused)
    with page.expect_request(COMPLETION) as sent:  # (Prolific itself is out of reach here)
        _answer_in_the_app(page)
    assert sent.value.redirected_from.url == f"{base}/entry/complete/"
    identity = ExternalIdentity.objects.get(external_id=PID)
    assert identity.completed_at is not None
    assert Assignment.objects.filter(annotator=identity.user).count() == 1


def test_a_quota_raised_while_working_keeps_the_worker_going(page, live_server, make_batch):
    """The app believes the study is done after its last answer, but the server's count says
    otherwise (the researcher raised the quota meanwhile): the worker gets a new pair, the
    header shows the server's quota, and the next answer ends the study."""
    study = make_batch(pairs=3, must_watch=False)
    base = live_server.url
    shown, first = _one_pair_study_started(page, base, study)
    progress = page.locator("#study-progress")
    assert progress.inner_text() == "Study: 0 of 1 tasks"

    lifecycle.batch_entry_configure(batch=study, actor=None, enabled=True, pairs_required=2)
    _answer_in_the_app(page)
    wait_until(
        page,
        "id => { const p = document.querySelector('main.pair');"
        " return !!p && p.dataset.assignment !== id; }",
        first,
    )
    # The app had stopped at what it took for the last pair, then went on on the server's word.
    assert any(s.startswith("message That was the last task of this study") for s in shown), shown
    assert page.url == f"{base}/work/task/"
    wait_until(
        page,
        "() => document.querySelector('#study-progress').textContent === 'Study: 1 of 2 tasks'",
    )

    with page.expect_request(COMPLETION) as sent:  # (Prolific itself is out of reach here)
        _answer_in_the_app(page)
    assert sent.value.redirected_from.url == f"{base}/entry/complete/"
    identity = ExternalIdentity.objects.get(external_id=PID)
    assert identity.completed_at is not None
    claimed = Assignment.objects.filter(annotator=identity.user)
    assert claimed.filter(status=Assignment.Status.SUBMITTED).count() == 2
    assert claimed.count() == 2  # no pair was claimed beyond the two the study needed
