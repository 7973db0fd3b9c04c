"""Benchmark: the offline detector's run, images per second on one core, against the same
model called in a bare loop on the same images in the same process (goal ≥ 90 %).

    DATABASE_URL=postgres://…/any .venv/bin/python tests/machines/bench_detector.py \
        [--images 200] [--rounds 3]

Pins the process to one core (os.sched_setaffinity) and onnxruntime to one intra-op thread,
makes a throw-away database (bench_detector) and a classification batch of real photographs
(matplotlib's Grace Hopper portrait, 512×600 JPEG, and its blue-pack photo, PNG, in turn),
then alternates: the bare loop (nudenet's detect on each file: decode, model, boxes) and the
run (job_execute, as a worker does: the rows, the file, the model, the verdict and counters
written per item). Each is measured --rounds times on fresh items; the best of each is kept."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
django.setup()

import matplotlib.cbook  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from annotation_server.batches.models import Batch, Pair  # noqa: E402
from annotation_server.catalog.models import Video  # noqa: E402
from annotation_server.catalog.taxonomy_data import taxonomy_ensure_built_in  # noqa: E402
from annotation_server.core.jobs import job_execute  # noqa: E402
from annotation_server.machines.annotators import machine_annotator_save  # noqa: E402
from annotation_server.machines.detector import NudeNet  # noqa: E402
from annotation_server.machines.models import MachineRun  # noqa: E402
from annotation_server.machines.runs import KIND  # noqa: E402
from tests.factories import BatchFactory, PromptFactory, VideoFactory  # noqa: E402

PHOTOS = [
    Path(matplotlib.cbook.get_sample_data(name, asfileobj=False))
    for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png")
]


def make_batch(name: str, media: Path, images: int) -> tuple[Batch, list[str]]:
    taxonomy = next(t for t in taxonomy_ensure_built_in() if t.name == "safesora")
    batch = BatchFactory(name=name, kind=Batch.Kind.CLASSIFICATION, taxonomy=taxonomy)
    paths = []
    for n in range(images):
        photo = PHOTOS[n % len(PHOTOS)]
        path = media / f"{name}-{n}{photo.suffix}"
        shutil.copy(photo, path)  # a file per item, as a batch has: no shared page cache hit
        paths.append(str(path))
        prompt = PromptFactory(text=f"{name}-{n}")
        item = VideoFactory(
            prompt=prompt, video_id=f"{name}-{n}", media_type="image", source=path.name,
            rendition=path.name, status=Video.Status.READY,
        )  # fmt: skip
        Pair.objects.create(batch=batch, prompt=prompt, pair_id=item.video_id, video_0=item)
    return batch, paths


def bare(detector: NudeNet, paths: list[str]) -> float:
    start = time.perf_counter()
    for path in paths:
        detector._detector.detect(path)  # nudenet's own entry point: reads, detects, boxes
    return len(paths) / (time.perf_counter() - start)


def run(batch: Batch, round_: int) -> float:
    # A version per round (its threshold differs): each run starts with no verdicts.
    annotator, _ = machine_annotator_save(
        name="bench-detector", kind="detector", detector="nudenet", base_url="", model="",
        api_key_env="", concurrency=1, detector_threshold=0.5 + round_ / 1000,
    )  # fmt: skip
    row = MachineRun.objects.create(batch=batch, annotator=annotator)
    start = time.perf_counter()
    done = job_execute(KIND, row.pk)
    seconds = time.perf_counter() - start
    items = batch.pairs.count()
    assert done.status == "succeeded" and done.done == items, (done.status, done.error)
    return items / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    connection.settings_dict["TEST"]["NAME"] = "bench_detector"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    media = Path(tempfile.mkdtemp(prefix="bench-detector-"))
    settings.MEDIA_ROOT = str(media)
    try:
        batch, paths = make_batch("det", media, args.images)
        detector = NudeNet(threads=1)
        bare(detector, paths[:10])  # warm up: the session's first runs allocate
        bares, runs = [], []
        for round_ in range(args.rounds):
            bares.append(bare(detector, paths))
            runs.append(run(batch, round_))
        best_bare, best_run = max(bares), max(runs)
        print(f"core {core}, {args.images} images (JPEG 512×600 and PNG in turn), "
              f"{args.rounds} rounds, best of each")  # fmt: skip
        print(f"bare loop (nudenet detect)  {best_bare:6.1f} images/s   "
              f"rounds {', '.join(f'{r:.1f}' for r in bares)}")  # fmt: skip
        print(f"detector run (job_execute)  {best_run:6.1f} images/s   "
              f"rounds {', '.join(f'{r:.1f}' for r in runs)}")  # fmt: skip
        print(f"run ÷ bare loop             {100 * best_run / best_bare:6.1f} %")
    finally:
        connection.creation.destroy_test_db("bench_detector", verbosity=0)
        shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    main()
