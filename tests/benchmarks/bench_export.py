"""Benchmark of `export_safesora` at SafeSora scale (not collected by pytest).

    DATABASE_URL=postgres://…/annot_hX .venv/bin/python tests/benchmarks/bench_export.py

Builds (once; kept between runs) a database `<name>_bench_export` with 51,691 pairs, 57,333
videos and 3 annotations per pair, bulk-created without video files, then prints:
- wall time of a preference export (--videos none) against json.dumps(indent=4) + gzip of the
  same records already in memory, in the same run (goal ≤ 2×);
- peak memory (VmHWM, peak RSS) of a child process that only runs the export (goal ≤ 400 MB);
- SQL queries of the export at two sizes (5,000 and 51,691 pairs): they must be equal.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from annotation_server.annotations.models import Annotation  # noqa: E402
from annotation_server.assignments.models import Assignment  # noqa: E402
from annotation_server.batches.models import Batch, Pair  # noqa: E402
from annotation_server.catalog.models import Prompt, Video  # noqa: E402
from annotation_server.exports.services import export_run  # noqa: E402
from annotation_server.taxonomy import HARM_KEYS  # noqa: E402

N_PAIRS = 51_691
N_VIDEOS = 57_333
SMALL_PAIRS = 5_000
K = 3
REPEAT = 3
SIDES = ("video_0", "video_1")


def use_bench_database() -> None:
    """Switch to a dedicated database, created on first use and kept (data takes minutes)."""
    name = settings.DATABASES["default"]["NAME"] + "_bench_export"
    settings.DATABASES["default"]["TEST"].update(NAME=name)
    connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)


def build_data() -> None:
    if Pair.objects.count() != N_PAIRS:
        _build()
    # Planner statistics, as autovacuum keeps them in production (it may be off on test
    # servers: without them PostgreSQL picks nested loops that take minutes).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _build() -> None:
    print("building the benchmark database (once)…", flush=True)
    rng = random.Random(42)
    started = time.perf_counter()
    with transaction.atomic():
        User = get_user_model()
        users = User.objects.bulk_create(
            User(username=f"bench-annotator-{n:03d}") for n in range(30)
        )
        n_prompts = (N_VIDEOS - 1) // 4
        prompts = Prompt.objects.bulk_create(
            (
                Prompt(
                    prompt_id=f"{n:016x}",
                    text=f"Prompt {n}: a scene with people, animals and weather, slow motion.",
                    prompt_type="safety_critical" if n % 2 else "safety_neutral",
                    prompt_labels={k: rng.random() < 0.05 for k in HARM_KEYS},
                )
                for n in range(n_prompts + 1)
            ),
            batch_size=5000,
        )
        videos_of: list[list[Video]] = []
        to_create: list[Video] = []
        for i, prompt in enumerate(prompts):
            count = 4 if i < n_prompts else N_VIDEOS - 4 * n_prompts
            own = [_video(prompt, f"{i:012x}{j:04x}") for j in range(count)]
            videos_of.append(own)
            to_create += own
        Video.objects.bulk_create(to_create, batch_size=5000)
        small = Batch.objects.create(name="bench-small", status="published")
        large = Batch.objects.create(name="bench-large", status="published")
        combos = [(0, 1), (2, 3), (0, 2), (1, 3), (0, 3), (1, 2)]
        pairs: list[Pair] = []
        per_prompt = N_PAIRS // n_prompts
        extra = N_PAIRS - per_prompt * n_prompts
        for i in range(n_prompts):
            for a, b in combos[: per_prompt + (1 if i < extra else 0)]:
                v0, v1 = videos_of[i][a], videos_of[i][b]
                batch = small if len(pairs) < SMALL_PAIRS else large
                pairs.append(
                    Pair(batch=batch, prompt=prompts[i], video_0=v0, video_1=v1,
                         pair_id=f"{v0.video_id}-{v1.video_id}")
                )  # fmt: skip
        Pair.objects.bulk_create(pairs, batch_size=5000)
        _annotations(pairs, users, rng)
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)


def _video(prompt: Prompt, video_id: str) -> Video:
    return Video(
        prompt=prompt, video_id=video_id, video_text=prompt.text, generated_from="ModelA",
        source=f"videos/source/{video_id}.mp4", sha256=video_id.ljust(64, "0"),
        status="ready", rendition=f"videos/renditions/{video_id}.mp4",
    )  # fmt: skip


def _annotations(pairs: list[Pair], users: list, rng: random.Random) -> None:
    now = timezone.now()
    for start in range(0, len(pairs), 5000):
        assignments, annotations = [], []
        for pair in pairs[start : start + 5000]:
            for user in rng.sample(users, K):
                left = rng.random() < 0.5
                assignment = Assignment(
                    pair=pair, batch_id=pair.batch_id, annotator=user, status="submitted",
                    left_is_video_0=left, claimed_at=now - timedelta(minutes=3),
                    expires_at=now + timedelta(minutes=27), finished_at=now,
                )  # fmt: skip
                assignments.append(assignment)
                choice = [rng.choice(SIDES) for _ in range(6)]
                annotations.append(
                    Annotation(
                        assignment=assignment, pair=pair, batch_id=pair.batch_id,
                        annotator=user, pref_instruction_following=choice[0],
                        pref_correctness=choice[1], pref_information=choice[2],
                        pref_aesthetics=choice[3], helpfulness=choice[4],
                        harmlessness=choice[5],
                        video_0_harms=[k for k in HARM_KEYS if rng.random() < 0.04],
                        video_1_harms=[k for k in HARM_KEYS if rng.random() < 0.04],
                        left_is_video_0=left, stage1_ms=30_000, stage2_ms=8_000,
                        server_duration_ms=45_000,
                    )
                )  # fmt: skip
        Assignment.objects.bulk_create(assignments)
        Annotation.objects.bulk_create(annotations)


def child_export(out: str) -> None:
    """Run only the export and report this process's peak resident memory.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent (which holds
    the baseline's records), VmHWM belongs to this process's own address space."""
    export_run(out=Path(out), kind="preference", videos="none", test_fraction=0.1)
    status = Path("/proc/self/status").read_text()
    peak_kb = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
    print(json.dumps({"maxrss_mb": peak_kb / 1024}))


def timed_export(out: Path, batches: tuple[str, ...] = ()) -> tuple[float, int, dict]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        summary = export_run(out=out, kind="preference", videos="none", test_fraction=0.1,
                             batch_names=batches)  # fmt: skip
        elapsed = time.perf_counter() - started
    return elapsed, len(queries), summary


def baseline(out: Path) -> tuple[float, float]:
    """json.dumps(indent=4, ensure_ascii=False) + gzip of the same records, already loaded."""
    splits = {}
    for split in ("train", "test"):
        with gzip.open(out / f"config-{split}.json.gz", "rt", encoding="utf-8") as handle:
            splits[split] = json.load(handle)
    started, cpu_started = time.perf_counter(), time.process_time()
    for records in splits.values():
        gzip.compress(json.dumps(records, indent=4, ensure_ascii=False).encode(), 6, mtime=0)
    return time.perf_counter() - started, time.process_time() - cpu_started


def main() -> None:
    use_bench_database()
    build_data()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        # Alternate the two sides and keep the best of each: the machine is shared, and
        # interleaving exposes both to the same background load.
        export_times, baseline_times, cpu_times, baseline_cpu = [], [], [], []
        for n in range(REPEAT):
            cpu_started = time.process_time()
            elapsed, queries_all, summary = timed_export(tmp_path / f"all{n}")
            cpu_times.append(time.process_time() - cpu_started)
            export_times.append(elapsed)
            wall, cpu = baseline(tmp_path / f"all{n}")
            baseline_times.append(wall)
            baseline_cpu.append(cpu)
        export_s, baseline_s, cpu_s = min(export_times), min(baseline_times), min(cpu_times)
        records = summary["kinds"]["preference"]["records"]
        _, queries_small, small = timed_export(tmp_path / "small", ("bench-small",))
        _, queries_both, both = timed_export(tmp_path / "both", ("bench-small", "bench-large"))
        env = dict(os.environ, BENCH_EXPORT_DB=settings.DATABASES["default"]["NAME"])
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(tmp_path / "child")],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        maxrss = json.loads(child.stdout.strip().splitlines()[-1])["maxrss_mb"]

    small_n = sum(small["kinds"]["preference"]["records"].values())
    both_n = sum(both["kinds"]["preference"]["records"].values())
    print(f"pairs {Pair.objects.count():,}, videos {Video.objects.count():,}, "
          f"annotations {Annotation.objects.count():,}")  # fmt: skip
    print(f"records written: train {records['train']:,}, test {records['test']:,}; "
          f"skipped {summary['kinds']['preference']['skipped']}")  # fmt: skip
    print(f"export wall time (best of {REPEAT}): {export_s:.2f} s")
    print(
        f"baseline json.dumps+gzip of the same records in memory (best of {REPEAT}): "
        f"{baseline_s:.2f} s"
    )
    print(f"ratio export / baseline: {export_s / baseline_s:.2f}x (goal <= 2x)")
    print(
        f"CPU time in this process (best of {REPEAT}): export {cpu_s:.2f} s, baseline "
        f"{min(baseline_cpu):.2f} s (the database server's time is not in it)"
    )
    print(f"peak memory of an export-only child process (VmHWM): {maxrss:.0f} MB "
          "(goal <= 400 MB)")  # fmt: skip
    print(f"SQL queries: {queries_small} for {small_n:,} records, {queries_both} for "
          f"{both_n:,} records, {queries_all} without --batch")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        settings.DATABASES["default"]["NAME"] = os.environ["BENCH_EXPORT_DB"]
        child_export(sys.argv[2])
    else:
        main()
