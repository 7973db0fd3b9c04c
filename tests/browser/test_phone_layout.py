"""Every page a worker sees, on a phone (360, 390 and 414 px wide, 844 px tall, touch).

Each screen is checked for horizontal overflow (the page, any element, any line of text, any
inner scroll box), and every control on it is tapped into reach: scrolled into view, inside
the screen's width, and the element under its centre is the control itself. A full annotation
is then made with taps only, so the form is shown to be usable, not merely drawn.

PHONE_SCREENSHOTS=<dir> writes a picture of each checked screen there (for a person to look at).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from annotation_server.accounts.models import ExternalIdentity
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches import lifecycle
from tests.browser.helpers import PASSWORD, wait_unlocked, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEIGHT = 844
CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, summary"

# Everything that pokes out sideways, in one pass over the rendered page.
OVERFLOW_JS = """() => {
  const W = window.innerWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className.trim()
       ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const shown = (el) => {
    const cs = getComputedStyle(el);
    return cs.visibility !== 'hidden' && cs.display !== 'none';
  };
  const beyond = (r) => r.width > 0 && r.height > 0 && (r.right > W + 0.5 || r.left < -0.5);
  const elements = [], scrollers = [], texts = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (beyond(r)) elements.push(`${name(el)} [${Math.round(r.left)}, ${Math.round(r.right)}]`);
    const ox = getComputedStyle(el).overflowX;
    if ((ox === 'auto' || ox === 'scroll') && el.scrollWidth > el.clientWidth + 1) {
      scrollers.push(`${name(el)} ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (!n.textContent.trim() || !n.parentElement || !shown(n.parentElement)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const r of range.getClientRects()) {
      if (beyond(r)) {
        texts.push(`${name(n.parentElement)}: ${n.textContent.trim().slice(0, 40)}`);
        break;
      }
    }
  }
  return { innerWidth: W, scrollWidth: document.documentElement.scrollWidth, elements, scrollers,
           texts };
}"""

# The header either fits on one line or wraps into rows, with nothing clipped or overlapping.
HEADER_JS = """() => {
  const top = document.querySelector('header.top');
  const box = top.getBoundingClientRect();
  const parts = [...top.children].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && (el.textContent.trim() || el.children.length);
  }).map(el => [el.id || el.className || el.tagName, el.getBoundingClientRect()]);
  const outside = parts.filter(([, r]) => r.left < box.left - 0.5 || r.right > box.right + 0.5
    || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5).map(([n]) => n);
  const overlaps = [];
  parts.forEach(([a, ra], i) => parts.slice(i + 1).forEach(([b, rb]) => {
    if (ra.left < rb.right - 0.5 && rb.left < ra.right - 0.5 && ra.top < rb.bottom - 0.5
        && rb.top < ra.bottom - 0.5) overlaps.push(`${a} × ${b}`);
  }));
  return { outside, overlaps, clipped: top.scrollHeight > top.clientHeight + 1
           || top.scrollWidth > top.clientWidth + 1, height: box.height };
}"""

# The element under a control's centre is that control, something inside it, or its label.
# A link that wraps is tested at the middle of its first line (its box's centre may fall
# between the lines).
HIT_JS = """(el) => {
  const r = el.getClientRects()[0] || el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  if (!hit) return 'nothing';
  if (el === hit || el.contains(hit)) return '';
  const label = hit.closest('label');
  if (label && (label.control === el || label.contains(el))) return '';
  return hit.outerHTML.slice(0, 80);
}"""


@pytest.fixture(params=[360, 390, 414], ids=lambda w: f"{w}px")
def width(request) -> int:
    return request.param


@pytest.fixture
def context(browser, width):
    """A phone: device width viewport, the page's <meta viewport> honoured, touch input."""
    ctx = browser.new_context(
        viewport={"width": width, "height": HEIGHT},
        is_mobile=True,
        has_touch=True,
        locale="en-US",
    )
    yield ctx
    ctx.close()


def check_screen(
    page, width: int, what: str, *, header: bool = False, device_width: bool = True
) -> None:
    """The screen fits the phone's width and every control on it can be tapped.

    device_width=False: a page without a <meta viewport>, which a phone lays out 980 px wide
    and shows shrunk; it must still not scroll sideways.
    """
    got = page.evaluate(OVERFLOW_JS)
    if device_width:
        # Content wider than the screen makes a phone lay the page out wider and shrink it:
        # tiny text, sideways panning.
        assert got["innerWidth"] == width, f"{what}: laid out {got['innerWidth']} px wide"
    width = got["innerWidth"]
    assert got["scrollWidth"] <= width, f"{what}: page is {got['scrollWidth']} px wide"
    assert not got["elements"], f"{what}: elements beyond the edge: {got['elements']}"
    assert not got["texts"], f"{what}: text beyond the edge: {got['texts']}"
    assert not got["scrollers"], f"{what}: boxes that scroll sideways: {got['scrollers']}"
    if header:
        top = page.evaluate(HEADER_JS)
        assert not top["clipped"] and not top["outside"], f"{what}: header clipped: {top}"
        assert not top["overlaps"], f"{what}: header items overlap: {top['overlaps']}"
    scope = "dialog[open]" if page.locator("dialog[open]").count() else "body"
    for control in page.query_selector_all(f"{scope} :is({CONTROLS})"):
        if not control.is_visible():
            continue
        label = control.evaluate("el => el.outerHTML.slice(0, 90)")
        control.scroll_into_view_if_needed()
        box = control.bounding_box()
        assert box["x"] >= -0.5 and box["x"] + box["width"] <= width + 0.5, (
            f"{what}: {label} spans {box['x']:.0f}..{box['x'] + box['width']:.0f}"
        )
        covered = control.evaluate(HIT_JS)
        assert not covered, f"{what}: {label} is covered by {covered}"
    shoot(page, width, what)


def shoot(page, width: int, what: str) -> None:
    folder = os.environ.get("PHONE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        slug = re.sub(r"\W+", "-", what).strip("-")
        page.screenshot(path=f"{folder}/{width}-{slug}.png", full_page=True)


def tap_login(page, username: str, password: str = PASSWORD) -> None:
    page.locator("#id_username").tap()
    page.keyboard.type(username)
    page.locator("#id_password").tap()
    page.keyboard.type(password)
    page.locator("button[type=submit]").tap()


def tap_choice(page, name: str, value: str) -> None:
    page.locator(f"input[name='{name}'][value='{value}']").tap()


def test_a_whole_annotation_by_touch_on_a_phone(live_server, page, width, make_batch, make_user):
    make_batch(pairs=2, must_watch=True)
    worker = make_user("annotator")
    base = live_server.url

    page.goto(f"{base}/accounts/login/?next=/work/")
    check_screen(page, width, "log-in")
    tap_login(page, worker.username, "not-the-password")
    page.locator("[role=alert]").wait_for()
    check_screen(page, width, "log-in with an error")
    tap_login(page, worker.username)
    page.wait_for_url(f"{base}/work/")
    page.locator("#start").wait_for()
    check_screen(page, width, "workspace", header=True)

    page.locator("#help").tap()
    page.locator("#keymap").wait_for()
    check_screen(page, width, "workspace key map")
    page.locator("#keymap button").tap()

    page.locator("#start").tap()
    first = page.locator("main.pair").get_attribute("data-assignment")
    check_screen(page, width, "task, locked until watched", header=True)
    # One above the other: two side-by-side videos would each be a thumbnail.
    left, right = (page.locator(f"figure.side.{s}").bounding_box() for s in ("left", "right"))
    assert left["y"] + left["height"] <= right["y"] and left["width"] > width * 0.8

    page.locator("#play").tap()
    wait_unlocked(page)
    for name, value in [
        ("instruction_following", "left"),
        ("correctness", "right"),
        ("information", "left"),
        ("aesthetics", "left"),
    ]:
        tap_choice(page, f"dim-{name}", value)
    page.locator("input[name='none-left']").tap()
    page.locator("input[name='harm-right'][value='violence']").tap()
    check_screen(page, width, "stage 1 answered")
    tap_choice(page, "overall-helpfulness", "right")
    tap_choice(page, "overall-harmlessness", "right")
    assert page.locator("#warnings .warning").count() >= 1
    check_screen(page, width, "stage 2 with a warning", header=True)
    tap_choice(page, "overall-harmlessness", "left")

    page.locator("#help").tap()
    page.locator("#keymap").wait_for()
    check_screen(page, width, "task key map")
    page.locator("#keymap button").tap()

    page.locator("#submit").tap()
    wait_until(page, "id => document.querySelector('main.pair')?.dataset.assignment !== id", first)
    # The prefetched pair shows at once; the answer follows from the outbox.
    wait_until(page, "document.querySelector('#sync').dataset.state === 'idle'")
    assignment = Assignment.objects.get(pk=first)
    annotation = Annotation.objects.get(assignment=assignment)
    left_video, right_video = (
        ("video_0", "video_1") if assignment.left_is_video_0 else ("video_1", "video_0")
    )
    assert annotation.pref_correctness == right_video
    assert annotation.pref_aesthetics == left_video
    assert getattr(annotation, f"{right_video}_harms") == ["violence"]
    assert getattr(annotation, f"{left_video}_harms") == []
    assert (annotation.helpfulness, annotation.harmlessness) == (right_video, left_video)

    # The second pair: look at the skip dialog, back out, then report it.
    second = page.locator("main.pair").get_attribute("data-assignment")
    page.locator("#skip").tap()
    page.locator("#reason-dialog").wait_for()
    check_screen(page, width, "skip dialog")
    page.locator("#reason-dialog button[value=cancel]").tap()
    page.locator("#report").tap()
    page.locator("#reason-dialog").wait_for()
    check_screen(page, width, "report dialog")
    page.locator("#reason-dialog input[name=reason]").last.tap()
    page.locator("#reason-note").tap()
    page.keyboard.type("The right video stops after a second.")
    page.locator("#reason-ok").tap()

    page.locator("#done").wait_for()
    check_screen(page, width, "no more pairs", header=True)
    wait_until(page, "document.querySelector('#sync').dataset.state === 'idle'")
    assert Assignment.objects.get(pk=second).status != Assignment.Status.OPEN

    with page.expect_navigation():  # the language form posts and comes back to this page
        page.locator("#language").select_option("zh-hans")
    wait_until(page, "document.documentElement.lang === 'zh-hans'")
    page.locator("#done, #start").first.wait_for()
    check_screen(page, width, "Chinese", header=True)


def test_study_links_completion_and_error_pages_fit_a_phone(
    live_server, page, width, make_batch, make_user
):
    batch = make_batch(pairs=1, must_watch=False)
    lifecycle.batch_entry_configure(
        batch=batch, actor=None, enabled=True, pairs_required=1, completion_code="C0DE42"
    )
    base = live_server.url
    pid = "60a1b2c3d4e5f60718293a4b"

    page.goto(f"{base}/entry/prolific/not-a-study/?PROLIFIC_PID={pid}")
    check_screen(page, width, "unknown study link")
    page.goto(f"{base}/entry/complete/")
    check_screen(page, width, "completion before entering")

    page.goto(f"{base}/entry/prolific/{batch.entry_token}/?PROLIFIC_PID={pid}&STUDY_ID=st1")
    page.wait_for_url(f"{base}/work/")
    assert ExternalIdentity.objects.filter(external_id=pid).exists()
    page.locator("#start").wait_for()
    assert "0 of 1" in page.locator("#study-progress").inner_text()
    check_screen(page, width, "study workspace", header=True)
    page.locator("#start").tap()
    page.locator("main.pair").wait_for()
    check_screen(page, width, "study task", header=True)

    page.goto(f"{base}/entry/complete/")
    assert "more pair" in page.locator("#message").inner_text()
    check_screen(page, width, "completion with pairs left")

    page.goto(f"{base}/work/does-not-exist/")
    assert "does not exist" in page.locator("main").inner_text()
    check_screen(page, width, "page not found")

    page.context.clear_cookies()
    reviewer = make_user("reviewer")
    page.goto(f"{base}/accounts/login/?next=/work/")
    tap_login(page, reviewer.username)
    page.wait_for_url(f"{base}/work/")
    check_screen(page, width, "not an annotator")
