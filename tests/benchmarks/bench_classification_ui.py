"""Benchmark: submit → next image shown in the worker app's classification form.

Runs Django's live server on a throw-away test database (PostgreSQL when DATABASE_URL points
there), makes real image items with Pillow and the catalog's image pipeline (WebP renditions),
and drives headless Chromium by keyboard like a worker (Y, a category digit, Enter):

- images, prefetch on (as shipped): from the app's "pair-submit" mark at the Enter press to
  the next item's <img> loaded and decoded, at the next animation frame
  (performance.measure("next-item-shown"));
- images, baseline: the same app with ?prefetch=0 (submit, then claim, then load);
- pairs, prefetch on, same process: bench_worker_app's submit → next pair playable, for the
  ratio between the two forms.

Each worker sees only its own batch (batch groups), in its own browser context.

    .venv/bin/python tests/benchmarks/bench_classification_ui.py [--items 31] [--pairs 8]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
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

# The pairwise run and its batch, for the ratio between the two forms.
from tests.benchmarks.bench_worker_app import run as run_pairs  # noqa: E402
from tests.benchmarks.bench_worker_app import seed as seed_pairs  # noqa: E402
from tests.benchmarks.bench_worker_app import wait_until  # noqa: E402
from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PASSWORD = "pw-long-enough"


def picture(path: Path, k: int) -> None:
    """A 1024x768 JPEG with gradients, shapes and grain (so the WebP is photo-sized)."""
    from PIL import Image, ImageDraw

    rnd = random.Random(k)
    img = Image.linear_gradient("L").resize((1024, 768)).convert("RGB")
    tint = Image.new("RGB", img.size, tuple(rnd.randrange(256) for _ in range(3)))
    img = Image.blend(img, tint, 0.5)
    draw = ImageDraw.Draw(img)
    for _ in range(25):
        x, y = rnd.randrange(1024), rnd.randrange(768)
        colour = tuple(rnd.randrange(256) for _ in range(3))
        draw.ellipse((x, y, x + rnd.randrange(20, 200), y + rnd.randrange(20, 200)), fill=colour)
    noise = Image.effect_noise(img.size, 40).convert("RGB")
    Image.blend(img, noise, 0.15).save(path, quality=90)


def seed_images(items: int, folder: Path) -> list[str]:
    """A published classification batch (K=2) of `items` images; two workers in its group."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from annotation_server.accounts import roles
    from annotation_server.batches.models import Batch, Pair
    from annotation_server.catalog.models import MediaType, Taxonomy, Video
    from annotation_server.catalog.tasks import image_process

    batch = Batch.objects.create(
        name="bench-images", status=Batch.Status.PUBLISHED, kind=Batch.Kind.CLASSIFICATION,
        taxonomy=Taxonomy.objects.get(name="safesora", version=1), overlap=2, must_watch=True,
    )  # fmt: skip
    group = Group.objects.create(name="bench-images")
    batch.groups.add(group)
    for k in range(items):
        path = folder / f"img{k}.jpg"
        picture(path, k)
        item = Video(media_type=MediaType.IMAGE, video_id=f"img{k}", video_text="",
                     sha256=f"{k + 10**6:064d}")  # fmt: skip
        with path.open("rb") as fh:
            item.source.save(path.name, File(fh), save=False)
            item.save()
        image_process(video_pk=item.pk)
        Pair.objects.create(batch=batch, video_0=item, pair_id=f"img{k}")
    names = []
    for name in ("bench-images-prefetch", "bench-images-baseline"):
        user = get_user_model().objects.create_user(username=name, password=PASSWORD)
        user.groups.add(roles.role_groups()[roles.ANNOTATOR], group)
        names.append(name)
    return names


def keep_pairs_apart(pair_users: list[str]) -> None:
    """The pairwise batch only for its own workers (the image workers never see a pair)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from annotation_server.batches.models import Batch

    group = Group.objects.create(name="bench-pairs")
    Batch.objects.get(name="bench").groups.add(group)
    for user in get_user_model().objects.filter(username__in=pair_users):
        user.groups.add(group)


def run_images(browser, base: str, username: str, items: int, prefetch: bool) -> list[float]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(f"{base}/accounts/login/?next=/work/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: url.endswith("/work/"))
    page.goto(f"{base}/work/task/" + ("" if prefetch else "?prefetch=0"))
    page.locator("main.pair.item").wait_for()
    for _ in range(items - 1):
        if prefetch:  # a worker looks at an item far longer than the prefetch takes
            wait_until(page, "document.querySelector('#task').dataset.prefetched === 'ready'")
        page.wait_for_timeout(300)
        wait_until(page, "!document.querySelector('#stage1')?.disabled")
        shown = page.locator("main.pair").get_attribute("data-assignment")
        for key in ["y", "8", "Enter"]:
            page.keyboard.press(key)
        wait_until(
            page,
            f"document.querySelector('main.pair.item:not([data-assignment=\"{shown}\"])')"
            " && document.querySelector('#sync').dataset.state === 'idle'",
        )
    wait_until(page, f"performance.getEntriesByName('next-item-shown').length >= {items - 1}")
    times = page.evaluate("performance.getEntriesByName('next-item-shown').map(e => e.duration)")
    context.close()
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[round(q * (len(ordered) - 1))]


def line(label: str, values: list[float]) -> str:
    return (
        f"{label}: p50 {statistics.median(values):7.1f} ms  p95 {pct(values, 0.95):7.1f} ms  "
        f"max {max(values):7.1f} ms  (n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=31)
    parser.add_argument("--pairs", type=int, default=8)
    args = parser.parse_args()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            override_settings(MEDIA_ROOT=Path(tmp) / "media", DEBUG=False),
        ):
            for sub in ("clips", "images"):
                (Path(tmp) / sub).mkdir()
            image_users = seed_images(args.items, Path(tmp) / "images")
            pair_users = seed_pairs(args.pairs, Path(tmp) / "clips")
            keep_pairs_apart(pair_users)
            server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
            server.daemon = True
            server.start()
            server.is_ready.wait()
            if server.error:
                raise server.error
            base = f"http://127.0.0.1:{server.port}"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                images = run_images(browser, base, image_users[0], args.items, prefetch=True)
                baseline = run_images(browser, base, image_users[1], args.items, prefetch=False)
                pairs = run_pairs(browser, base, pair_users[0], args.pairs, prefetch=True)
                browser.close()
            server.terminate()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(
        f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"items: {args.items}, pairs: {args.pairs}"
    )
    print(line("submit → next image shown, prefetch on ", images))
    print(line("submit → next image shown, ?prefetch=0 ", baseline))
    print(line("submit → next pair playable, prefetch on", pairs))
    med = statistics.median(images)
    print(
        f"ratio image / pair (p50): {med / statistics.median(pairs):.2f}; "
        f"prefetch / baseline (p50): {med / statistics.median(baseline):.2f}; "
        f"goal p95 ≤ 150 ms: {'met' if pct(images, 0.95) <= 150 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
