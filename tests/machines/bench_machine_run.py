"""Benchmark: a machine run's items per second against a local endpoint with fixed latency,
as a share of the endpoint-bound limit concurrency ÷ (latency × calls per item).

    DATABASE_URL=postgres://…/any .venv/bin/python tests/machines/bench_machine_run.py \
        [--latency 0.2] [--concurrency 16] [--images 320] [--videos 64]

Makes a throw-away database (bench_machines), real PNG items and 2 s lavfi clips, starts
tests/machines/chat_server.py in a process of its own (each reply after --latency), runs the
job in this process (job_execute, as a worker does) for: images with the vlm kind, videos
with the vlm kind (5 frames extracted per item, ffmpeg included), images with a 2-round
debate (5 calls per item)."""

from __future__ import annotations

import argparse
import multiprocessing
import os
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

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from PIL import Image  # noqa: E402

from annotation_server.batches.models import Batch, Pair  # noqa: E402
from annotation_server.catalog.models import Video  # noqa: E402
from annotation_server.catalog.taxonomy_data import taxonomy_save  # noqa: E402
from annotation_server.core.jobs import job_execute  # noqa: E402
from annotation_server.machines.annotators import machine_annotator_save  # noqa: E402
from annotation_server.machines.models import MachineRun  # noqa: E402
from annotation_server.machines.runs import KIND  # noqa: E402
from tests.clips import lavfi_clip  # noqa: E402
from tests.factories import BatchFactory, PromptFactory, VideoFactory  # noqa: E402
from tests.machines.chat_server import ChatServer, Reply, verdict  # noqa: E402
from tests.machines.conftest import KEY_ENV, TAXONOMY  # noqa: E402


def bench_script(body, key, nth, latency: float) -> Reply:
    if body.get("response_format"):
        return verdict(True, ["violence"], delay_s=latency)
    return Reply(content="an argument", delay_s=latency)


def serve(latency: float, urls) -> None:
    """The endpoint, in a process of its own: it must not share the run's interpreter lock."""
    server = ChatServer(lambda body, key, nth: bench_script(body, key, nth, latency))
    urls.put(server.url)
    server.thread.join()


class RemoteServer:
    def __init__(self, latency: float):
        urls = multiprocessing.Queue()
        self.process = multiprocessing.Process(target=serve, args=(latency, urls), daemon=True)
        self.process.start()
        self.url = urls.get(timeout=30)

    def close(self) -> None:
        self.process.terminate()
        self.process.join()


def make_batch(name: str, media: Path, *, images: int, videos: int) -> Batch:
    taxonomy, _ = taxonomy_save(TAXONOMY)
    batch = BatchFactory(name=name, kind=Batch.Kind.CLASSIFICATION, taxonomy=taxonomy)
    clip = lavfi_clip(media / f"{name}.mp4", seconds=2, size="640x360") if videos else None
    for n in range(images + videos):
        is_video = n >= images
        path = clip if is_video else media / f"{name}-{n}.png"
        if not is_video:
            Image.new("RGB", (512, 512), (n % 255, 80, 160)).save(path)
        prompt = PromptFactory(text=f"{name}-{n}")
        item = VideoFactory(
            prompt=prompt, video_id=f"{name}-{n}", media_type="video" if is_video else "image",
            source=path.name, rendition=path.name, status=Video.Status.READY,
            duration_s=2.0 if is_video else None,
        )  # fmt: skip
        Pair.objects.create(batch=batch, prompt=prompt, pair_id=item.video_id, video_0=item)
    return batch


def measure(label: str, batch: Batch, server: RemoteServer, latency: float, calls: int, **config):
    annotator, _ = machine_annotator_save(
        name=f"bench-{batch.name}", base_url=server.url, model="bench", api_key_env=KEY_ENV,
        requests_per_minute=0, **config,
    )  # fmt: skip
    run = MachineRun.objects.create(batch=batch, annotator=annotator)
    items = batch.pairs.count()
    start, cpu = time.perf_counter(), time.process_time()
    run = job_execute(KIND, run.pk)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert run.status == "succeeded" and run.done == items, (run.status, run.error, run.done)
    rate = items / seconds
    limit = config["concurrency"] / (latency * calls)
    print(
        f"{label:<28} {items:>4} items {seconds:6.2f} s  {rate:6.1f} items/s  "
        f"limit {limit:5.1f}  share {100 * rate / limit:5.1f} %  "
        f"run's CPU {1000 * cpu / items:4.1f} ms/item"
    )


def bare_loop(server: RemoteServer, latency: float, concurrency: int, calls: int) -> None:
    """The same calls from the openai client in a bare thread pool: what the client and the
    endpoint allow without the run around them."""
    from concurrent.futures import ThreadPoolExecutor

    import openai

    client = openai.OpenAI(base_url=server.url, api_key="bench", max_retries=0)
    body = [{"role": "user", "content": "generated from this prompt: bare"}]

    def call(_):
        client.chat.completions.create(
            model="bench",
            messages=body,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "v", "schema": {"type": "object"}},
            },
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(call, range(calls)))
    rate = calls / (time.perf_counter() - start)
    limit = concurrency / latency
    print(f"{'bare client loop':<28} {calls:>4} calls {'':8} {rate:6.1f} calls/s  "
          f"limit {limit:5.1f}  share {100 * rate / limit:5.1f} %")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--images", type=int, default=320)
    parser.add_argument("--videos", type=int, default=64)
    args = parser.parse_args()
    os.environ[KEY_ENV] = "bench"
    connection.settings_dict["TEST"]["NAME"] = "bench_machines"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    media = Path(tempfile.mkdtemp(prefix="bench-machines-"))
    settings.MEDIA_ROOT = str(media)

    server = RemoteServer(args.latency)
    try:
        c = args.concurrency
        bare_loop(server, args.latency, c, args.images)
        measure("images, vlm", make_batch("img", media, images=args.images, videos=0),
                server, args.latency, 1, concurrency=c)  # fmt: skip
        measure("videos (5 frames), vlm", make_batch("vid", media, images=0, videos=args.videos),
                server, args.latency, 1, concurrency=c, frames_per_video=5)  # fmt: skip
        measure("images, debate (2 rounds)",
                make_batch("deb", media, images=args.images // 4, videos=0),
                server, args.latency, 5, concurrency=c, kind="debate", debate_rounds=2)  # fmt: skip
    finally:
        server.close()
        connection.creation.destroy_test_db("bench_machines", verbosity=0)


if __name__ == "__main__":
    main()
