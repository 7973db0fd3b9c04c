"""The worker's path through a classification batch: one image or video per task, the batch's
question (harmful, categories, reason, confidence), keyboard only, against a live server
with real items made by the catalog's own pipeline (Pillow images, an ffmpeg clip)."""

from __future__ import annotations

import pytest
from django.core.files import File
from PIL import Image, ImageDraw

from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment, PairReport
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import MediaType, Prompt, Taxonomy, Video
from annotation_server.catalog.services import video_transcode
from annotation_server.catalog.tasks import image_process
from tests.browser.helpers import login, start_task, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLOURS = ["#c0392b", "#2471a3", "#229954", "#b7950b"]


def _ready(video: Video, source, name: str) -> Video:
    with source.open("rb") as fh:
        video.source.save(name, File(fh), save=False)
        video.save()
    process = image_process if video.media_type == MediaType.IMAGE else video_transcode
    process(video_pk=video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.READY, video.failure_reason
    return video


@pytest.fixture
def make_items(media_root, tmp_path, source_clips):
    """make_items(images=2, videos=0, **batch_fields) → a published classification batch
    (SafeSora taxonomy, overlap 1) of Pillow-drawn images, then captioned 1-second clips."""

    def make(images: int = 2, videos: int = 0, **fields) -> Batch:
        fields.setdefault("overlap", 1)
        batch = Batch.objects.create(
            name="classify", status=Batch.Status.PUBLISHED, kind=Batch.Kind.CLASSIFICATION,
            taxonomy=Taxonomy.objects.get(name="safesora", version=1), **fields,
        )  # fmt: skip
        for k in range(images):
            path = tmp_path / f"item{k}.png"
            picture = Image.new("RGB", (320, 240), COLOURS[k % len(COLOURS)])
            ImageDraw.Draw(picture).ellipse((80, 40, 240, 200), fill="white")
            picture.save(path)
            item = Video(media_type=MediaType.IMAGE, video_id=f"img{k}", video_text="",
                         sha256=f"{k:064d}")  # fmt: skip
            Pair.objects.create(batch=batch, video_0=_ready(item, path, path.name), pair_id=f"i{k}")
        for k in range(videos):
            prompt = Prompt.objects.create(
                prompt_id=f"cap{k}",
                text=f"A test card, take {k + 1}.",
                prompt_type="safety_neutral",
            )
            clip = Video(prompt=prompt, video_id=f"vid{k}", video_text=prompt.text,
                         sha256=f"{k + 100:064d}")  # fmt: skip
            video = _ready(clip, source_clips[k], source_clips[k].name)
            Pair.objects.create(batch=batch, prompt=prompt, video_0=video, pair_id=f"v{k}")
        return batch

    return make


def shown(page) -> str:
    return page.locator("main.pair").get_attribute("data-assignment")


def test_two_images_by_keyboard_land_with_their_categories(
    live_server, page, make_items, make_user
):
    make_items(images=2, must_watch=True, ask_reason=True, ask_confidence=True)
    login(page, live_server.url, make_user("annotator").username)
    first = start_task(page)
    assert page.locator("main.pair img").count() == 1 and page.locator("video").count() == 0
    assert page.locator("#prompt-text").count() == 0  # an image without a caption
    # The image counts as viewed once loaded; focus then waits on the harmful question.
    wait_until(page, "document.activeElement?.name === 'harmful'")
    assert page.locator("#submit").is_disabled()
    page.keyboard.press("y")
    assert "1 answer(s) missing" in page.locator("#missing").inner_text()  # which harms?
    for key in ["8", "4", "1", "1"]:  # violence, crime, porn on and off again
        page.keyboard.press(key)
    page.keyboard.press("c")
    page.keyboard.press("4")  # on the confidence question: confidence 4
    page.keyboard.press("t")
    page.keyboard.type("knife at a throat")
    page.keyboard.press("Enter")  # Enter in the reason field sends the answer

    wait_until(page, "id => document.querySelector('main.pair')?.dataset.assignment !== id", first)
    second = shown(page)
    wait_until(page, "document.activeElement?.name === 'harmful'")
    page.keyboard.press("n")  # not harmful: the categories close, nothing else is required
    assert page.locator("input[name=cat]").first.is_disabled()
    page.keyboard.press("Enter")
    page.locator("#done").wait_for()
    wait_until(page, "document.querySelector('#sync').dataset.state === 'idle'")

    one = Annotation.objects.get(assignment_id=first)
    assert (one.harmful, one.categories, one.confidence) == (True, ["crime", "violence"], 4)
    assert one.reason == "knife at a throat" and one.stage1_ms > 0
    two = Annotation.objects.get(assignment_id=second)
    assert (two.harmful, two.categories, two.confidence, two.reason) == (False, [], None, "")


def test_chinese_labels_video_must_be_watched_and_reload_keeps_the_draft(
    live_server, page, make_items, make_user
):
    make_items(images=0, videos=1, must_watch=True, blur_videos=True)
    login(page, live_server.url, make_user("annotator").username)
    with page.expect_navigation():
        page.select_option("#language", "zh-hans")
    page.focus("#start")
    first = start_task(page)
    assert page.locator("#prompt-text").inner_text() == "A test card, take 1."
    assert "暴力、伤害、血腥内容" in page.locator("[data-q=categories]").inner_text()
    assert page.locator("[data-q=harmful] legend").inner_text() == "是否有害？"
    assert page.evaluate("document.querySelector('#stage1').disabled")  # not watched yet
    assert page.locator("#lock").inner_text() == "请看完视频以解锁问题。"
    page.keyboard.press("v")  # reveal the blurred item
    assert page.locator(".side.blurred").count() == 0
    page.keyboard.press("Space")
    wait_until(page, "!document.querySelector('#stage1').disabled")
    page.keyboard.press("y")
    page.keyboard.press("8")
    page.keyboard.press("?")
    assert "是 / 否" in page.locator("#keymap").inner_text()
    page.keyboard.press("Escape")

    page.reload()
    page.locator("main.pair").wait_for()
    assert shown(page) == first
    wait_until(page, "document.querySelector('input[name=cat][value=violence]')?.checked")
    assert page.locator("input[name=harmful][value=yes]").is_checked()
    assert not page.evaluate("document.querySelector('#stage1').disabled")  # watched is kept
    assert page.locator(".side.blurred").count() == 0  # and so is the reveal
    page.keyboard.press("Enter")
    page.locator("#done").wait_for()
    wait_until(page, "document.querySelector('#sync').dataset.state === 'idle'")
    stored = Annotation.objects.get(assignment_id=first)
    assert (stored.harmful, stored.categories) == (True, ["violence"])


@pytest.mark.parametrize("width", [360, 414])
def test_the_item_form_fits_a_phone(live_server, browser, make_items, make_user, width):
    make_items(images=1, ask_reason=True, ask_confidence=True)
    context = browser.new_context(viewport={"width": width, "height": 844}, has_touch=True)
    page = context.new_page()
    try:
        login(page, live_server.url, make_user("annotator").username)
        start_task(page)
        wait_until(page, "!document.querySelector('#stage1').disabled")
        wide = page.evaluate(
            """[...document.querySelectorAll('main *')].filter(el => {
                 const r = el.getBoundingClientRect();
                 return r.width > 0 && (r.right > innerWidth + 0.5 || r.left < -0.5);
               }).map(el => el.tagName + '.' + el.className)"""
        )
        assert wide == [] and page.evaluate("document.documentElement.scrollWidth") <= width
        page.locator("input[name=harmful][value=yes]").tap()
        page.locator("input[name=cat][value=hate]").tap()
        page.locator("#submit").tap()
        page.locator("#done").wait_for()
    finally:
        context.close()


def test_skip_and_report_an_item_by_keyboard_even_before_it_unlocks(
    live_server, page, make_items, make_user
):
    """X skips and P reports, each asking for a reason in a dialog that names an item; P works
    on a video not yet watched (a broken one never could be), and neither item comes back."""
    make_items(images=1, videos=1, must_watch=True)
    worker = make_user("annotator")
    login(page, live_server.url, worker.username)
    first = start_task(page)
    assert page.locator("main.pair img").count() == 1  # items come in order: the image first

    page.keyboard.press("x")
    page.locator("#reason-dialog").wait_for()
    assert page.locator("#reason-title").inner_text() == "Skip this item"
    page.locator("#reason-dialog input[value=disturbing]").check()
    page.locator("#reason-ok").click()

    wait_until(page, "id => document.querySelector('main.pair')?.dataset.assignment !== id", first)
    second = shown(page)
    assert page.locator("main.pair video").count() == 1
    assert page.locator("#submit").is_disabled()  # not watched to the end yet
    page.keyboard.press("p")
    page.locator("#reason-dialog").wait_for()
    assert page.locator("#reason-title").inner_text() == "Report this item"
    assert page.locator("#reason-dialog input[name=reason]:checked").get_attribute("value") == (
        "broken_video"
    )
    page.locator("#reason-note").fill("It stops after a second.")
    page.locator("#reason-ok").click()
    page.locator("#done").wait_for()
    wait_until(page, "document.querySelector('#sync').dataset.state === 'idle'")

    skipped, reported = (
        PairReport.objects.get(assignment_id=first),
        PairReport.objects.get(assignment_id=second),
    )
    assert (skipped.kind, skipped.reason, skipped.annotator) == ("skip", "disturbing", worker)
    assert (reported.kind, reported.reason, reported.note) == (
        "report",
        "broken_video",
        "It stops after a second.",
    )
    assert Assignment.objects.get(pk=first).status == Assignment.Status.SKIPPED
    assert Assignment.objects.get(pk=second).status == Assignment.Status.REPORTED
    assert not Annotation.objects.filter(annotator=worker).exists()
