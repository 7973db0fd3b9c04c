"""Batch settings (watch rule, blur), skip/report, languages and layout in the worker app."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotation_server.assignments.models import Assignment, PairReport
from tests.browser.helpers import login, screenshot, start_task, wait_unlocked, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAGE1_LOCKED = "document.querySelector('#stage1').disabled"


def test_answers_unlock_only_after_both_videos_were_played_to_the_end(
    live_server, page, make_batch, make_user
):
    make_batch(pairs=1, must_watch=True)
    login(page, live_server.url, make_user("annotator").username)
    start_task(page)
    assert page.evaluate(STAGE1_LOCKED)
    assert page.is_disabled("#submit")
    # Jumping to the end with the scrubber is not watching.
    page.focus("#scrub")
    page.keyboard.press("End")
    page.wait_for_timeout(300)
    assert page.evaluate(STAGE1_LOCKED)
    assert "not watched" in page.locator("[data-watched=left]").inner_text()
    page.keyboard.press("r")  # restart both and play them through
    wait_unlocked(page)
    assert "✓" in page.locator("[data-watched=left]").inner_text()
    assert "✓" in page.locator("[data-watched=right]").inner_text()
    assert page.locator("#lock").inner_text() == ""


def test_batch_without_watch_rule_unlocks_at_once(live_server, page, make_batch, make_user):
    make_batch(pairs=1, must_watch=False)
    login(page, live_server.url, make_user("annotator").username)
    start_task(page)
    assert not page.evaluate(STAGE1_LOCKED)
    page.check("input[name='dim-correctness'][value='left']")
    assert page.evaluate(STAGE1_LOCKED) is False


def test_blur_setting_hides_videos_until_revealed(live_server, page, make_batch, make_user):
    make_batch(pairs=1, blur_videos=True)
    login(page, live_server.url, make_user("annotator").username)
    start_task(page)
    blur = "getComputedStyle(document.querySelector('[data-slot=left] video')).filter"
    assert "blur" in page.evaluate(blur)
    assert "blur" in page.evaluate(blur.replace("left", "right"))
    screenshot(page, "5-blurred-until-revealed")
    page.keyboard.press("v")
    assert page.evaluate(blur) == "none"
    assert page.locator("#reveal").count() == 0
    page.reload()  # the reveal is part of the draft
    page.locator("main.pair").wait_for()
    assert page.evaluate(blur) == "none"


def test_skip_with_reason_moves_on_and_reaches_the_server(live_server, page, make_batch, make_user):
    make_batch(pairs=1, must_watch=True)
    worker = make_user("annotator")
    login(page, live_server.url, worker.username)
    first = start_task(page)
    page.click("#report")
    dialog = page.locator("#reason-dialog")
    dialog.wait_for()
    screenshot(page, "6-report-dialog")
    page.keyboard.press("Escape")  # cancel: nothing sent, same pair
    assert page.locator("main.pair").get_attribute("data-assignment") == first
    page.click("#skip")
    page.check("#reason-dialog input[value='disturbing']")
    page.fill("#reason-note", "too graphic for me")
    page.click("#reason-ok")
    page.locator("#done").wait_for()  # the only pair: nothing left
    wait_until(page, "document.querySelector('#sync')?.dataset.state === 'idle'")
    report = PairReport.objects.get(assignment_id=first)
    assert (report.kind, report.reason, report.note) == ("skip", "disturbing", "too graphic for me")
    assert Assignment.objects.get(pk=first).status == Assignment.Status.SKIPPED


def test_chinese_ui_from_the_same_catalogue(live_server, page, make_batch, make_user):
    make_batch(pairs=1, must_watch=False)
    login(page, live_server.url, make_user("annotator").username)
    with page.expect_navigation():
        page.select_option("#language", "zh-hans")  # submits Django's set_language
    page.locator("#start").wait_for()
    assert page.evaluate("document.documentElement.lang") == "zh-hans"
    assert page.locator("#start").inner_text() == "开始标注"
    page.focus("#start")
    start_task(page)
    assert page.locator("[data-side=left] figcaption strong").inner_text() == "左侧 (A)"
    assert "暴力、伤害、血腥内容" in page.locator(".harms.left").inner_text()  # taxonomy.py
    assert "指令遵循" in page.locator("#stage1").inner_text()
    assert page.locator("#submit").inner_text() == "提交"
    screenshot(page, "7-chinese")
    page.keyboard.press("?")
    assert page.locator("#keymap").is_visible()
    assert "键盘快捷键" in page.locator("#keymap").inner_text()
    screenshot(page, "8-keymap")


@pytest.mark.parametrize("width,height", [(1280, 720), (1920, 1080)])
def test_layout_is_stable_and_fits_common_screens(
    live_server, browser, make_batch, make_user, width, height
):
    make_batch(pairs=1, must_watch=True)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        login(page, live_server.url, make_user("annotator").username)
        start_task(page)
        boxes = (
            "['left','right'].map(s => { const r = document.querySelector(`[data-slot=${s}]`)"
            ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })"
        )
        before = page.evaluate(boxes)
        # Posters stand in while the videos load.
        posters = page.evaluate(
            "[...document.querySelectorAll('main.pair video')].map(v => v.poster)"
        )
        assert len(posters) == 2 and all(p.endswith("/poster.jpg") for p in posters)
        assert page.request.get(posters[0]).headers["content-type"] == "image/jpeg"
        page.keyboard.press("Space")
        wait_unlocked(page)
        after = page.evaluate(boxes)
        assert before == after  # loading and playing the videos moved nothing
        (lx, ly, lw, lh), (rx, ry, rw, rh) = after
        assert (lw, lh, ly) == (rw, rh, ry) and lx < rx  # same size, side by side
        assert abs(lw / lh - 16 / 9) < 0.02
        assert rx + rw <= width and ly + lh < height * 0.6  # room left for the questions
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # Every control has an accessible name.
        unnamed = page.evaluate(
            """[...document.querySelectorAll('button, input, select')].filter(el =>
                 el.type !== 'hidden' && !(el.labels?.length || el.getAttribute('aria-label')
                 || el.textContent.trim())).map(el => el.outerHTML)"""
        )
        assert unnamed == []
    finally:
        context.close()


def test_playback_controls_act_on_both_videos(live_server, page, make_batch, make_user):
    make_batch(pairs=1, must_watch=True)
    login(page, live_server.url, make_user("annotator").username)
    start_task(page)
    videos = "[...document.querySelectorAll('main.pair video')]"
    page.keyboard.press("s")  # half speed, both
    assert page.evaluate(f"{videos}.map(v => v.playbackRate)") == [0.5, 0.5]
    assert page.locator("#speed").inner_text() == "0.5×"
    page.keyboard.press("s")
    assert page.evaluate(f"{videos}.map(v => v.playbackRate)") == [1, 1]
    # Per-video mute: the right one starts muted; Z and X toggle each side alone.
    assert page.evaluate(f"{videos}.map(v => v.muted)") == [False, True]
    page.keyboard.press("z")
    page.keyboard.press("x")
    assert page.evaluate(f"{videos}.map(v => v.muted)") == [True, False]
    # The buttons redraw on the videos' volumechange events, a moment after the keys.
    expect(page.locator("[data-mute=left]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-mute=right]")).to_have_attribute("aria-pressed", "false")
    # The shared scrubber moves both.
    page.focus("#scrub")
    page.evaluate(
        "s => { s.value = 500; s.dispatchEvent(new Event('input')); }",
        page.query_selector("#scrub"),
    )
    times = page.evaluate(f"{videos}.map(v => v.currentTime)")
    assert all(0.4 < t < 0.6 for t in times), times
    # Loop: both start again together after the end, and keep playing.
    page.keyboard.press("l")
    expect(page.locator("#loop")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("k")
    wait_until(page, "!document.querySelector('#stage1').disabled")  # played to the end once
    wait_until(page, f"{videos}.every(v => !v.paused && v.currentTime < 0.5)")  # looped
    expect(page.locator("#play")).to_have_text("Pause both")
