"""Benchmark: submit → next pair playable in the worker app, and the app's gzipped size.

Runs Django's live server on a throw-away test database (PostgreSQL when DATABASE_URL points
there), transcodes real clips with the catalog service, and drives headless Chromium:

- prefetch on (the app as shipped): time from the submit key press to both of the next
  pair's videos firing `canplay`, measured in the browser (performance.measure between the
  app's "pair-submit" mark and both `canplay` events);
- baseline, same process: the same app with prefetching off (`?prefetch=0`), which waits for
  the submit, claims the next pair and only then loads its videos.

    .venv/bin/python tests/benchmarks/bench_worker_app.py [--pairs 12]
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop + ORM calls
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import StaticFilesHandler  # noqa: E402
from django.core.files import File  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.testcases import LiveServerThread  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from annotation_server.accounts import roles  # noqa: E402
from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.clips import lavfi_clip  # noqa: E402


def bundle_sizes() -> dict[str, int]:
    dist = ROOT / "frontend" / "dist" / "worker"
    return {
        name: len(gzip.compress((dist / name).read_bytes(), 9)) for name in ("app.js", "app.css")
    }


def seed(pairs: int, clips_dir: Path) -> list[str]:
    """A published batch (K=2) of `pairs` pairs of distinct transcoded videos; two workers."""
    from django.contrib.auth import get_user_model

    from annotation_server.batches.models import Batch, Pair
    from annotation_server.catalog.models import Prompt, Video
    from annotation_server.catalog.services import video_transcode

    batch = Batch.objects.create(
        name="bench", status=Batch.Status.PUBLISHED, overlap=2, must_watch=False
    )
    patterns = ["testsrc2", "smptebars", "rgbtestsrc", "testsrc", "smptehdbars"]
    for p in range(pairs):
        prompt = Prompt.objects.create(
            prompt_id=f"bench{p}", text=f"Benchmark prompt {p}", prompt_type="safety_neutral"
        )
        videos = []
        for side in range(2):
            clip = clips_dir / f"{p}-{side}.mp4"
            lavfi_clip(
                clip,
                pattern=patterns[(2 * p + side) % len(patterns)],
                size="640x360",
                rate=24,
                seconds=2,
                tone_hz=200 + 37 * p + side,
            )
            with clip.open("rb") as fh:
                video = Video(
                    prompt=prompt,
                    video_id=f"bench{p}v{side}",
                    video_text=prompt.text,
                    generated_from="Bench",
                    sha256=f"{p:032d}{side:032d}",
                )
                video.source.save(clip.name, File(fh), save=False)
                video.save()
            video_transcode(video_pk=video.pk)
            videos.append(video)
        Pair.objects.create(
            batch=batch, prompt=prompt, video_0=videos[0], video_1=videos[1], pair_id=f"bench{p}"
        )
    names = []
    for name in ("bench-prefetch", "bench-baseline"):
        user = get_user_model().objects.create_user(username=name, password="pw-long-enough")
        user.groups.add(roles.role_groups()[roles.ANNOTATOR])
        names.append(name)
    return names


def wait_until(page, expression: str, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while not (value := page.evaluate(expression)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: {expression}")
        page.wait_for_timeout(20)
    return value


def run(browser, base: str, username: str, pairs: int, prefetch: bool) -> list[float]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(f"{base}/accounts/login/?next=/work/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-long-enough")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: url.endswith("/work/"))
    page.goto(f"{base}/work/task/" + ("" if prefetch else "?prefetch=0"))
    page.locator("main.pair").wait_for()
    for _ in range(pairs - 1):
        if prefetch:  # a worker spends far longer on a pair than the prefetch takes
            wait_until(page, "document.querySelector('#task').dataset.prefetched === 'ready'")
        page.wait_for_timeout(300)
        page.focus("input[name='dim-instruction_following']")
        for key in ["1", "1", "2", "2", "n", "n", "1", "1", "Enter"]:
            page.keyboard.press(key)
        wait_until(
            page,
            "document.querySelector('#sync').dataset.state === 'idle'"
            " && document.querySelector('main.pair') !== null",
        )
    wait_until(page, f"performance.getEntriesByName('next-pair-playable').length >= {pairs - 1}")
    times = page.evaluate("performance.getEntriesByName('next-pair-playable').map(e => e.duration)")
    context.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=12)
    args = parser.parse_args()
    sizes = bundle_sizes()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            override_settings(MEDIA_ROOT=Path(tmp) / "media", DEBUG=False),
        ):
            (Path(tmp) / "clips").mkdir()
            users = seed(args.pairs, Path(tmp) / "clips")
            server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
            server.daemon = True
            server.start()
            server.is_ready.wait()
            if server.error:
                raise server.error
            base = f"http://127.0.0.1:{server.port}"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                fast = run(browser, base, users[0], args.pairs, prefetch=True)
                slow = run(browser, base, users[1], args.pairs, prefetch=False)
                browser.close()
            server.terminate()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    med_fast, med_slow = statistics.median(fast), statistics.median(slow)
    print(
        f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"pairs: {args.pairs} (switches measured: {len(fast)} + {len(slow)})"
    )
    print(
        f"submit → next pair playable, prefetch on : median {med_fast:7.1f} ms  "
        f"p90 {sorted(fast)[int(0.9 * (len(fast) - 1))]:7.1f} ms  max {max(fast):7.1f} ms"
    )
    print(
        f"submit → next pair playable, baseline    : median {med_slow:7.1f} ms  "
        f"p90 {sorted(slow)[int(0.9 * (len(slow) - 1))]:7.1f} ms  max {max(slow):7.1f} ms"
    )
    print(f"ratio prefetch / baseline: {med_fast / med_slow:.2f}  (goal: median ≤ 300 ms)")
    total = sum(sizes.values())
    print(
        f"gzipped bundle: app.js {sizes['app.js'] / 1024:.1f} KiB + app.css "
        f"{sizes['app.css'] / 1024:.1f} KiB = {total / 1024:.1f} KiB (goal ≤ 150 KB)"
    )


if __name__ == "__main__":
    main()
