"""Benchmark: a machine run's items per second against a local endpoint with fixed latency,
as a share of the endpoint-bound limit concurrency ÷ (latency × calls per item).

    DATABASE_URL=postgres://…/any .venv/bin/python tests/machines/bench_machine_run.py \
        [--latency 0.2] [--concurrency 16] [--images 320] [--videos 64] [--transcodes 16]

Makes a throw-away database (bench_machines_<DATABASE_URL's name>), real PNG items and 2 s
lavfi clips, starts tests/machines/chat_server.py in a process of its own (each reply after
--latency), runs the job in this process (job_execute, as a worker does) for: images with
the vlm kind; videos with the vlm kind, 5 frames each, read from the frame sets their
transcoding stored (the videos are transcoded by catalog.services first) and, for
comparison, extracted in the run (videos without a stored set: the first run of a
selection); images with a 2-round debate (5 calls per item).

What the stored frames cost is measured too: the same clip transcoded --transcodes times
with and without the 5 stills (the pipeline's runner, interleaved), wall and ffmpeg CPU per
video. The "extraction included" shares charge each video that extra CPU on this machine's
cores: in series with the run, 1 ÷ (1 ÷ run's items/s + extra CPU s ÷ cores), the lower
bound (nothing overlaps); overlapped with it, min(run's items/s, cores ÷ (run's CPU + extra
CPU per item)), the machine's CPU as the only other limit. Both are pessimistic: the stills
are made once per video, however many runs read them."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
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
from annotation_server.catalog import services, transcoding  # noqa: E402
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


def make_batch(
    name: str, media: Path, *, images: int, videos: int, transcode: bool = False
) -> Batch:
    """Images, or videos of one 2 s clip: ready as they are, or (transcode) transcoded by the
    pipeline, which stores their default frame sets."""
    taxonomy, _ = taxonomy_save(TAXONOMY)
    batch = BatchFactory(name=name, kind=Batch.Kind.CLASSIFICATION, taxonomy=taxonomy)
    clip = lavfi_clip(media / f"{name}.mp4", seconds=2, size="640x360") if videos else None
    for n in range(images + videos):
        is_video = n >= images
        path = clip if is_video else media / f"{name}-{n}.png"
        if not is_video:
            Image.new("RGB", (512, 512), (n % 255, 80, 160)).save(path)
        prompt = PromptFactory(text=f"{name}-{n}")
        pending = is_video and transcode
        item = VideoFactory(
            prompt=prompt, video_id=f"{name}-{n}", media_type="video" if is_video else "image",
            source=path.name, rendition="" if pending else path.name, poster="",
            status=Video.Status.PENDING if pending else Video.Status.READY,
            duration_s=2.0 if is_video and not pending else None,
        )  # fmt: skip
        if pending:
            services.video_transcode(video_pk=item.pk)
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
        f"{label:<34} {items:>4} items {seconds:6.2f} s  {rate:6.1f} items/s  "
        f"limit {limit:5.1f}  share {100 * rate / limit:5.1f} %  "
        f"run's CPU {1000 * cpu / items:4.1f} ms/item"
    )
    return rate, limit, cpu / items


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def transcode_cost(media: Path, repeats: int) -> float:
    """Extra wall and ffmpeg CPU per video of the 5 stills: the same clip transcoded with and
    without them by the pipeline's runner, alternately. Returns the extra CPU seconds."""
    clip = lavfi_clip(media / "cost.mp4", seconds=2, size="640x360")
    limits = transcoding.Limits(max_bytes=1 << 30, max_duration_s=3600, max_width=8192,
                                max_height=8192)  # fmt: skip
    totals = {0: [0.0, 0.0], 5: [0.0, 0.0]}
    for n in range(repeats):
        for count in (0, 5):
            out = media / f"cost-{count}-{n}"
            start, cpu = time.perf_counter(), _children_cpu()
            transcoding.transcode(
                source=clip, rendition=out / "r.mp4", poster=out / "p.jpg", limits=limits,
                options=transcoding.EncodeOptions(), frames_dir=out, frame_count=count,
            )  # fmt: skip
            totals[count][0] += time.perf_counter() - start
            totals[count][1] += _children_cpu() - cpu
    (wall0, cpu0), (wall5, cpu5) = ([v / repeats for v in totals[k]] for k in (0, 5))
    print(
        f"{'transcode 2 s 640×360 clip':<34} {repeats:>4} each   without stills "
        f"{1000 * wall0:5.0f} ms wall {1000 * cpu0:5.0f} ms CPU; with 5 "
        f"{1000 * wall5:5.0f} ms wall {1000 * cpu5:5.0f} ms CPU; extra "
        f"{1000 * (wall5 - wall0):4.0f} ms wall {1000 * (cpu5 - cpu0):4.0f} ms CPU"
    )
    return max(0.0, cpu5 - cpu0)


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
    print(f"{'bare client loop':<34} {calls:>4} calls {'':8} {rate:6.1f} calls/s  "
          f"limit {limit:5.1f}  share {100 * rate / limit:5.1f} %")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--images", type=int, default=320)
    parser.add_argument("--videos", type=int, default=64)
    parser.add_argument("--transcodes", type=int, default=16)
    args = parser.parse_args()
    os.environ[KEY_ENV] = "bench"
    scratch = f"bench_machines_{connection.settings_dict['NAME']}"
    connection.settings_dict["TEST"]["NAME"] = scratch
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    media = Path(tempfile.mkdtemp(prefix="bench-machines-"))
    settings.MEDIA_ROOT = str(media)

    server = RemoteServer(args.latency)
    try:
        c = args.concurrency
        bare_loop(server, args.latency, c, args.images)
        measure("images, vlm", make_batch("img", media, images=args.images, videos=0),
                server, args.latency, 1, concurrency=c)  # fmt: skip
        stored = make_batch("vid", media, images=0, videos=args.videos, transcode=True)
        rate, limit, run_cpu = measure("videos, vlm, 5 stored frames", stored, server, args.latency,
                              1, concurrency=c, frames_per_video=5)  # fmt: skip
        extra_cpu = transcode_cost(media, args.transcodes)
        cores = os.cpu_count() or 1
        for how, included in (
            ("in series", 1 / (1 / rate + extra_cpu / cores)),
            ("overlapped", min(rate, cores / (run_cpu + extra_cpu))),
        ):
            print(f"{'videos, extraction included, ' + how:<34} {'':>16} {included:6.1f} "
                  f"items/s  limit {limit:5.1f}  share {100 * included / limit:5.1f} %  "
                  f"(+{1000 * extra_cpu:.0f} ms CPU a video, {cores} cores)")  # fmt: skip
        measure("videos, vlm, 5 frames extracted",
                make_batch("ext", media, images=0, videos=args.videos),
                server, args.latency, 1, concurrency=c, frames_per_video=5)  # fmt: skip
        measure("images, debate (2 rounds)",
                make_batch("deb", media, images=args.images // 4, videos=0),
                server, args.latency, 5, concurrency=c, kind="debate", debate_rounds=2)  # fmt: skip
    finally:
        server.close()
        connection.creation.destroy_test_db(scratch, verbosity=0)


if __name__ == "__main__":
    main()
