"""Benchmark of the video pipeline (not collected by pytest).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annot_hb \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/2 .venv/bin/python tests/benchmarks/bench_transcode.py

Prints, on a generated 5 s 720p clip:
  1. the transcoding task's wall time (probe, H.264 rendition with decode check, output probe,
     poster, database writes, run through Celery's task machinery in this process) against a
     bare `ffmpeg` CLI call with the same rendition arguments, side by side, and the ratio;
  2. poster extraction time;
  3. clips per minute through real Celery workers with 1 and 2 pool processes.
The database must be migrated; the rows it creates are deleted at the end.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MEDIA = Path(tempfile.mkdtemp(prefix="bench-transcode-"))
os.environ["MEDIA_ROOT"] = str(MEDIA)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from annotation_server.catalog import queueing, services, transcoding  # noqa: E402
from annotation_server.catalog.models import Prompt, Video  # noqa: E402
from annotation_server.catalog.tasks import video_transcode_task  # noqa: E402
from annotation_server.catalog.transcoding import commands, runner  # noqa: E402

REPEATS = 5
THROUGHPUT_CLIPS = 8


def make_clip(path: Path, seconds: int) -> None:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size=1280x720:rate=30:duration={seconds}", "-f", "lavfi", "-i",
         f"sine=duration={seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18",
         "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip


def new_video(prompt: Prompt, clip: Path) -> Video:
    rel = f"videos/source/bench/{uuid.uuid4().hex}.mp4"
    (MEDIA / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(clip, MEDIA / rel)
    return Video.objects.create(
        prompt=prompt, video_id=f"bench-{uuid.uuid4().hex}", video_text=prompt.text,
        generated_from="bench", source=rel, sha256=uuid.uuid4().hex * 2,
        source_size=clip.stat().st_size,
    )  # fmt: skip


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_task_vs_cli(prompt: Prompt, clip: Path) -> None:
    data = runner.probe_file(clip)
    info = transcoding.probe.parse_probe(data)
    options = services._options()
    cli_times, task_times = [], []
    # Exactly the command the task runs: rendition + poster from one decode.
    args = commands.rendition_args(
        clip, MEDIA / "cli.mp4", info, options, poster=MEDIA / "cli.jpg",
        poster_seek_s=commands.poster_seek(info.duration_s),
    )  # fmt: skip
    print("ffmpeg arguments:", " ".join(map(str, args)))
    for repeat in range(REPEATS):
        video = new_video(prompt, clip)
        cli = lambda: cli_times.append(timed(lambda: subprocess.run(args, check=True)))  # noqa: E731
        task = lambda v=video: task_times.append(  # noqa: E731
            timed(lambda: video_transcode_task.apply(args=[v.pk]).get())
        )
        # Alternate which goes first so load drifts hit both sides alike.
        for step in (cli, task) if repeat % 2 == 0 else (task, cli):
            step()
        video.refresh_from_db()
        assert video.status == Video.Status.READY, video.failure_reason
    cli, task = statistics.median(cli_times), statistics.median(task_times)
    print(f"bare ffmpeg CLI (same rendition arguments): median {cli:.2f} s  {_all(cli_times)}")
    print(f"video_transcode_task (probe + that command + DB): median {task:.2f} s  "
          f"{_all(task_times)}")  # fmt: skip
    print(f"ratio task / bare CLI: {task / cli:.3f}  (overhead {100 * (task / cli - 1):+.1f} %)")

    # The separate poster pass (used when only the poster is missing), from the rendition.
    rendition = MEDIA / video.rendition.name
    seek = commands.poster_seek(info.duration_s)
    poster_times = [
        timed(lambda: subprocess.run(
            commands.poster_args(rendition, MEDIA / "poster.jpg", seek), check=True))
        for _ in range(5)
    ]  # fmt: skip
    no_poster = commands.rendition_args(clip, MEDIA / "np.mp4", info, options)
    with_poster_times, without_poster_times = [], []
    for _ in range(3):
        with_poster_times.append(timed(lambda: subprocess.run(args, check=True)))
        without_poster_times.append(timed(lambda: subprocess.run(no_poster, check=True)))
    extra = statistics.median(with_poster_times) - statistics.median(without_poster_times)
    print(f"poster as a second output of the rendition pass: {extra * 1000:+.0f} ms "
          f"(median with {statistics.median(with_poster_times):.2f} s, "
          f"without {statistics.median(without_poster_times):.2f} s)")  # fmt: skip
    probe_times = [timed(lambda: runner.probe_file(clip)) for _ in range(5)]
    print(
        f"poster extraction, separate pass: median {statistics.median(poster_times) * 1000:.0f} ms"
    )
    print(f"ffprobe of the source: median {statistics.median(probe_times) * 1000:.0f} ms")


def _all(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


def bench_throughput(prompt: Prompt, clip: Path, concurrency: int) -> float:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    log = (MEDIA / f"worker-{concurrency}.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "annotation_server", "worker", "-Q", "transcoding",
         "-c", str(concurrency), "--pool", "prefork", "-n", f"bench-{uuid.uuid4().hex[:6]}@%h",
         "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        # Wait for the pool by round-tripping one clip, then time a fresh set.
        warm = new_video(prompt, clip)
        queueing.videos_enqueue_transcode([warm.pk])
        _wait([warm.pk])
        videos = [new_video(prompt, clip) for _ in range(THROUGHPUT_CLIPS)]
        start = time.perf_counter()
        queueing.videos_enqueue_transcode([v.pk for v in videos])
        _wait([v.pk for v in videos])
        elapsed = time.perf_counter() - start
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=60)
    rate = THROUGHPUT_CLIPS / elapsed * 60
    print(f"{concurrency} worker process(es): {THROUGHPUT_CLIPS} clips in {elapsed:.1f} s "
          f"= {rate:.1f} clips/minute")  # fmt: skip
    return rate


def _wait(pks: list[int]) -> None:
    open_statuses = [Video.Status.PENDING, Video.Status.PROCESSING]
    while Video.objects.filter(pk__in=pks, status__in=open_statuses).exists():
        time.sleep(0.1)
    failed = Video.objects.filter(pk__in=pks, status=Video.Status.FAILED).first()
    assert failed is None, failed and failed.failure_reason


def main() -> None:
    print(f"preset={settings.VIDEO_RENDITION_PRESET} crf={settings.VIDEO_RENDITION_CRF} "
          f"max_size={settings.VIDEO_RENDITION_MAX_SIZE} cpus={os.cpu_count()}")  # fmt: skip
    clip = MEDIA / "clip_5s_720p.mp4"
    make_clip(clip, 5)
    prompt = Prompt.objects.create(
        prompt_id=f"bench-{uuid.uuid4().hex}", text="benchmark", prompt_type="safety_neutral"
    )
    try:
        bench_task_vs_cli(prompt, clip)
        one = bench_throughput(prompt, clip, 1)
        two = bench_throughput(prompt, clip, 2)
        print(f"ratio 2 workers / 1 worker: {two / one:.2f}")
    finally:
        Video.objects.filter(prompt=prompt).delete()
        prompt.delete()
        shutil.rmtree(MEDIA, ignore_errors=True)


if __name__ == "__main__":
    main()
