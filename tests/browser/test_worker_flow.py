"""The worker's main path, keyboard only, against a live server with real transcoded clips."""

from __future__ import annotations

import pytest

from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from tests.browser.helpers import login, screenshot, start_task, wait_unlocked, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_keyboard_only_pair_is_stored_in_video_terms_and_next_pair_follows(
    live_server, page, make_batch, make_user
):
    make_batch(pairs=2, must_watch=True)
    worker = make_user("annotator")
    login(page, live_server.url, worker.username)
    screenshot(page, "1-workspace")
    page.evaluate("window.__samePage = true")

    first = start_task(page)
    assert page.evaluate("document.querySelector('#stage1').disabled")
    screenshot(page, "2-locked-until-watched")
    page.keyboard.press("Space")  # play both; the questions unlock once both were watched
    wait_unlocked(page)
    # Unlocking moves focus to the first question: 1/2 answer it and move on.
    for key in ["1", "2", "1", "1"]:
        page.keyboard.press(key)
    page.keyboard.press("n")  # left video: none of the 12 harms
    for _ in range(8):  # right video: Tab from "none of these" to S8 violence
        page.keyboard.press("Tab")
    screenshot(page, "3-stage1")
    page.keyboard.press("Space")
    assert not page.evaluate("document.querySelector('#stage2').disabled")
    page.keyboard.press("2")  # more helpful: right (it lost 3 of 4 sub-dimensions)
    page.keyboard.press("2")  # safer: right (it has the only harm)
    assert page.locator("#warnings .warning").count() == 2
    screenshot(page, "4-stage2-with-warning")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("1")  # safer: left after all
    assert page.locator("#warnings .warning").count() == 1
    page.keyboard.press("Enter")  # focus is on Submit

    wait_until(page, "id => document.querySelector('main.pair')?.dataset.assignment !== id", first)
    second = page.locator("main.pair").get_attribute("data-assignment")
    assert second != first
    assert page.evaluate("window.__samePage") is True  # no page reload between pairs
    wait_until(page, "document.querySelector('#sync').dataset.state === 'idle'")

    assignment = Assignment.objects.get(pk=first)
    annotation = Annotation.objects.get(assignment=assignment)
    left, right = ("video_0", "video_1") if assignment.left_is_video_0 else ("video_1", "video_0")
    assert annotation.pref_instruction_following == left
    assert annotation.pref_correctness == right
    assert annotation.pref_information == left
    assert annotation.pref_aesthetics == left
    assert getattr(annotation, f"{left}_harms") == []
    assert getattr(annotation, f"{right}_harms") == ["violence"]
    assert annotation.helpfulness == right
    assert annotation.harmlessness == left
    assert annotation.stage1_ms is not None and annotation.stage1_ms > 0


def test_prompt_harms_are_asked_and_stored_when_the_batch_labels_prompts(
    live_server, page, make_batch, make_user
):
    make_batch(pairs=1, must_watch=False, label_prompts=True)
    login(page, live_server.url, make_user("annotator").username)
    first = start_task(page)
    for name, value in [
        ("instruction_following", "left"),
        ("correctness", "left"),
        ("information", "right"),
        ("aesthetics", "left"),
    ]:
        page.check(f"input[name='dim-{name}'][value='{value}']")
    page.check("input[name='none-left']")
    page.check("input[name='none-right']")
    # The prompt's own harms are part of stage 1 here: stage 2 stays locked without them.
    assert page.evaluate("document.querySelector('#stage2').disabled")
    page.check("input[name='harm-prompt'][value='terrorism']")
    page.check("input[name='overall-helpfulness'][value='left']")
    page.check("input[name='overall-harmlessness'][value='right']")
    page.click("#submit")
    page.locator("#done").wait_for()
    wait_until(page, "document.querySelector('#sync').dataset.state === 'idle'")
    annotation = Annotation.objects.get(assignment_id=first)
    assert annotation.prompt_harms == ["terrorism"]
    assert annotation.video_0_harms == [] and annotation.video_1_harms == []
