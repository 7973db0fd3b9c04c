"""Fixtures for driving the worker app in headless Debian Chromium against a live server.

Videos are real: tiny ffmpeg lavfi clips, transcoded by the catalog's own service into the
H.264 rendition and poster the app plays.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files import File
from playwright.sync_api import BrowserContext, Page

from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video
from annotation_server.catalog.services import video_transcode
from tests.clips import lavfi_clip

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# alongside it are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Distinct look per clip, so screenshots show two different videos.
PATTERNS = ["testsrc2", "smptebars", "rgbtestsrc", "testsrc", "smptehdbars", "yuvtestsrc"]


@pytest.fixture(scope="session", autouse=True)
def _frontend_built() -> None:
    if not (Path(django_settings.BASE_DIR) / "frontend" / "dist" / "worker" / "app.js").exists():
        pytest.fail("The worker app is not built: run `make frontend` before the browser tests.")


@pytest.fixture(scope="session")
def source_clips(tmp_path_factory) -> list[Path]:
    """Six 1-second 160x90 clips with a tone (made once per session)."""
    out = tmp_path_factory.mktemp("clips")
    clips = []
    for i, pattern in enumerate(PATTERNS):
        path = out / f"clip{i}.mp4"
        lavfi_clip(path, pattern=pattern, tone_hz=300 + 100 * i)
        clips.append(path)
    return clips


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def make_batch(media_root, source_clips):
    """make_batch(pairs=2, **batch_fields) → a published batch of pairs of transcoded clips."""
    counter = {"n": 0}

    def make(pairs: int = 2, **fields) -> Batch:
        counter["n"] += 1
        fields.setdefault("overlap", 1)
        fields.setdefault("instructions", "Compare the two clips for the prompt.")
        batch = Batch.objects.create(
            name=f"browser-{counter['n']}", status=Batch.Status.PUBLISHED, **fields
        )
        for p in range(pairs):
            prompt = Prompt.objects.create(
                prompt_id=f"b{counter['n']}p{p}",
                prompt_type="safety_neutral",
                text=f"A test pattern slowly changing colour, take {p + 1}.",
            )
            videos = []
            for side in range(2):
                clip = source_clips[(2 * p + side) % len(source_clips)]
                vid = f"{prompt.prompt_id}v{side}"
                with clip.open("rb") as fh:
                    video = Video(
                        prompt=prompt,
                        video_id=vid,
                        video_text=prompt.text,
                        generated_from=f"Model{side}",
                        sha256=f"{vid:0>64}"[:64],
                    )
                    video.source.save(clip.name, File(fh), save=False)
                    video.save()
                video_transcode(video_pk=video.pk)
                video.refresh_from_db()
                assert video.status == Video.Status.READY, video.failure_reason
                videos.append(video)
            Pair.objects.create(
                batch=batch,
                prompt=prompt,
                video_0=videos[0],
                video_1=videos[1],
                pair_id=f"{vid}-pair",
            )
        return batch

    return make


@pytest.fixture
def context(browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    yield ctx
    ctx.close()


@pytest.fixture
def page(context) -> Iterator[Page]:
    p = context.new_page()
    p.set_default_timeout(15000)
    in_flight: set = set()
    p.on("request", lambda r: in_flight.add(r))
    p.on("requestfinished", lambda r: in_flight.discard(r))
    p.on("requestfailed", lambda r: in_flight.discard(r))
    yield p
    # The app keeps working after a test's last assertion (prefetching the next pair, say).
    # Let those requests finish before the database is flushed under the live server.
    for _ in range(100):
        if p.is_closed() or not in_flight:
            break
        p.wait_for_timeout(50)
