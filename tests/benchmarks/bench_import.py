"""Benchmark: import_batch at 1,500 and 15,000 prompts (5,700 / 57,000 small videos).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotation .venv/bin/python \
        tests/benchmarks/bench_import.py [--prompts 15000] [--small 1500]

Runs in a throw-away database (bench_import_<name>) and a temporary MEDIA_ROOT. Prints rows/s and
the number of SQL statements of each run, and shows that statements do not grow per row (the
statement count grows with rows / BULK_SIZE only). Baseline in the same process: the same
rows written one ORM `create()` at a time, at the small size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="bench-media-"))

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from annotation_server.batches.models import Batch, Pair  # noqa: E402
from annotation_server.batches.pairing import all_pairs  # noqa: E402
from annotation_server.catalog.models import Prompt, Video  # noqa: E402


class StatementCounter:
    def __init__(self):
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start


def make_input(folder: Path, prompts: int, tag: str) -> tuple[Path, int, int]:
    """A manifest of `prompts` prompts: 4 of 5 prompts get 4 videos, the rest 3 (3.8 avg)."""
    lines, videos, pairs = [], 0, 0
    (folder / "v").mkdir(parents=True)
    for p in range(prompts):
        sub = folder / "v" / f"{p // 1000:03d}"
        sub.mkdir(exist_ok=True)
        count = 3 if p % 5 == 4 else 4
        entries = []
        for v in range(count):
            rel = f"v/{p // 1000:03d}/{p}-{v}.mp4"
            # One tiny "clip", made distinct by a few bytes: the importer never decodes.
            (folder / rel).write_bytes(b"\x00\x00\x00\x18ftypmp42" + f"{tag}{p}-{v}".encode())
            entries.append(
                {"path": rel, "video_id": f"{tag}{p}-{v}", "generated_from": f"Model{v}"}
            )
        videos += count
        pairs += count * (count - 1) // 2
        lines.append(
            json.dumps(
                {
                    "prompt_id": f"{tag}{p}",
                    "prompt_text": f"Prompt {p}",
                    "prompt_type": "safety_neutral",
                    "videos": entries,
                }
            )
        )
    manifest = folder / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest, videos, pairs


def run_import(manifest: Path, name: str) -> dict:
    from annotation_server.batches.services import batch_import

    counter = StatementCounter()
    start = time.perf_counter()
    with connection.execute_wrapper(counter):
        result = batch_import(path=manifest, name=name, overlap=3, enqueue_transcode=False)
    wall = time.perf_counter() - start
    rows = 1 + result.prompts_created + result.videos_created + result.pairs_created
    return {"rows": rows, "wall": wall, "statements": counter.count, "sql_s": counter.seconds}


def run_row_by_row(manifest: Path, name: str) -> dict:
    """Baseline: the same rows, one INSERT per row (hashes faked: only DB writes compared)."""
    counter = StatementCounter()
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    start = time.perf_counter()
    rows = 0
    with connection.execute_wrapper(counter), transaction.atomic():
        batch = Batch.objects.create(name=name, status=Batch.Status.PROCESSING)
        rows += 1
        for line in lines:
            prompt = Prompt.objects.create(
                prompt_id=line["prompt_id"],
                text=line["prompt_text"],
                prompt_type=line["prompt_type"],
            )
            by_id = {}
            for v in line["videos"]:
                by_id[v["video_id"]] = Video.objects.create(
                    video_id=v["video_id"],
                    prompt=prompt,
                    video_text=line["prompt_text"],
                    generated_from=v["generated_from"],
                    sha256=v["video_id"],
                    source=v["path"],
                )
            for pair_id, a, b in all_pairs(list(by_id)):
                Pair.objects.create(
                    batch=batch, prompt=prompt, video_0=by_id[a], video_1=by_id[b], pair_id=pair_id
                )
            rows += 1 + len(by_id) + len(by_id) * (len(by_id) - 1) // 2
    wall = time.perf_counter() - start
    return {"rows": rows, "wall": wall, "statements": counter.count, "sql_s": counter.seconds}


def show(label: str, r: dict) -> None:
    print(
        f"{label:<34} rows={r['rows']:>7}  wall={r['wall']:7.2f}s  "
        f"rows/s={r['rows'] / r['wall']:>8.0f}  SQL statements={r['statements']:>5}  "
        f"statements/1000 rows={1000 * r['statements'] / r['rows']:6.2f}  "
        f"SQL time={r['sql_s']:6.2f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=15000)
    parser.add_argument("--small", type=int, default=1500)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("run this benchmark on PostgreSQL: set DATABASE_URL=postgres://…")
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    # Its own database: never the test_<name> one a pytest run may be using at the same time.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_import_{old_name}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
            tmp = Path(tmp)
            small, sv, sp = make_input(tmp / "small", args.small, "s")
            large, lv, lp = make_input(tmp / "large", args.prompts, "l")
            base, _, _ = make_input(tmp / "base", args.small, "b")
            print(
                f"inputs: small {args.small} prompts / {sv} videos / {sp} pairs; "
                f"large {args.prompts} prompts / {lv} videos / {lp} pairs"
            )
            r_small = run_import(small, "bench-small")
            show(f"import_batch {args.small} prompts", r_small)
            r_large = run_import(large, "bench-large")
            show(f"import_batch {args.prompts} prompts", r_large)
            r_base = run_row_by_row(base, "bench-baseline")
            show(f"baseline row-by-row {args.small} prompts", r_base)
            rows_ratio = r_large["rows"] / r_small["rows"]
            per_row_large = r_large["statements"] / r_large["rows"]
            per_row_small = r_small["statements"] / r_small["rows"]
            print(
                f"rows ratio large/small = {rows_ratio:.1f}; statements ratio = "
                f"{r_large['statements'] / r_small['statements']:.1f}; statements per row, "
                f"large/small = {per_row_large / per_row_small:.2f}"
            )
            print(
                f"batched vs row-by-row at {args.small} prompts: statements "
                f"{r_base['statements'] / r_small['statements']:.0f}x fewer; SQL time "
                f"{r_base['sql_s'] / r_small['sql_s']:.1f}x less; whole import (with hashing and "
                f"copying files) {r_base['wall'] / r_small['wall']:.2f}x the baseline's speed"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
