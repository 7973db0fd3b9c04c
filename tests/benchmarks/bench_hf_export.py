"""Benchmark of `export_safesora --format hf` (not collected by pytest).

    DATABASE_URL=postgres://…/annot_hX .venv/bin/python tests/benchmarks/bench_hf_export.py \
        [--prompts 10000]

Builds (once; kept between runs) a database `<name>_bench_hf` holding one simulated batch
(`simulate_batch`: 2 pairs per prompt, K=3, videos without files), then prints, best of 3,
alternating the sides:
- wall time of a preference HF export (--videos none, test fraction 0.1);
- the baseline: pyarrow writing the same columns directly (the export's rows already in
  memory as columns → `pa.Table.from_pydict` + `pq.write_table`), and the ratio (goal ≤ 2×);
- the records alone (both database passes, nothing converted or written), so the part of the
  export that is the HF writer's own can be set against the baseline;
- the SafeSora JSON export of the same pairs, for comparison.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")

import django  # noqa: E402

django.setup()

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from annotation_server.annotations.models import Annotation  # noqa: E402
from annotation_server.batches.models import Batch, Pair  # noqa: E402
from annotation_server.exports import selectors  # noqa: E402
from annotation_server.exports.dataset import (  # noqa: E402
    Selection,
    judgements_collect,
    preference_items,
)
from annotation_server.exports.hf import FEATURES  # noqa: E402
from annotation_server.exports.services import export_run  # noqa: E402
from annotation_server.quality.simulation import batch_simulate  # noqa: E402

REPEAT = 3
BATCH = "bench-hf"


def use_bench_database(prompts: int) -> None:
    """A dedicated database, created on first use and kept (filling it takes a while)."""
    name = settings.DATABASES["default"]["NAME"] + "_bench_hf"
    settings.DATABASES["default"]["TEST"].update(NAME=name)
    connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)
    batch = Batch.objects.filter(name=BATCH).first()
    if batch is not None and batch.pairs.count() != 2 * prompts:
        raise SystemExit(f"{name} holds another size; drop it or pass --prompts to match")
    if batch is None:
        print(f"simulating {prompts:,} prompts (once)…", flush=True)
        started = time.perf_counter()
        batch_simulate(name=BATCH, prompts=prompts, annotators=60, clickers=4, gold_pairs=20)
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed(out: Path, **options) -> tuple[float, dict]:
    started = time.perf_counter()
    summary = export_run(out=out, kind="preference", videos="none", test_fraction=0.1, **options)
    return time.perf_counter() - started, summary


def baseline(export: Path, out: Path) -> float:
    """pyarrow writing the same columns directly: the export's shards read back into Python
    columns (not timed), then built into tables and written (timed)."""
    schema = FEATURES["preference"].arrow_schema
    inputs = {
        path.name: pq.read_table(path).to_pydict() for path in sorted(export.glob("data/*.parquet"))
    }
    out.mkdir()
    started = time.perf_counter()
    for name, columns in inputs.items():
        pq.write_table(pa.Table.from_pydict(columns, schema=schema), out / name)
    return time.perf_counter() - started


def records_only() -> float:
    """What every export format shares: both passes over the database, yielding the records,
    with nothing converted or written."""
    started = time.perf_counter()
    selection = Selection(None, selectors.annotation_max_id(), 0.1, 0, 1)
    for _ in preference_items(selection, judgements_collect(selection)):
        pass
    return time.perf_counter() - started


def main(prompts: int) -> None:
    use_bench_database(prompts)
    hf_times, base_times, json_times, record_times = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for n in range(REPEAT):
            elapsed, summary = timed(tmp_path / f"hf{n}", format="hf")
            hf_times.append(elapsed)
            base_times.append(baseline(tmp_path / f"hf{n}", tmp_path / f"base{n}"))
            json_times.append(timed(tmp_path / f"json{n}")[0])
            record_times.append(records_only())
        shard_mb = sum(p.stat().st_size for p in (tmp_path / "hf0").rglob("*.parquet")) / 1e6
    info = summary["kinds"]["preference"]
    hf_s, base_s, json_s = min(hf_times), min(base_times), min(json_times)
    records_s = min(record_times)
    print(f"pairs {Pair.objects.count():,}, annotations {Annotation.objects.count():,}")
    print(f"records written: {info['records']}; skipped {info['skipped']}; "
          f"shards {shard_mb:.1f} MB")  # fmt: skip
    print(f"HF export wall time (best of {REPEAT}): {hf_s:.2f} s")
    print(f"baseline pyarrow from_pydict + write_table of the same columns: {base_s:.2f} s")
    print(f"ratio HF export / baseline: {hf_s / base_s:.2f}x (goal <= 2x)")
    print(f"records from the database alone (both passes, nothing written): {records_s:.2f} s")
    print(f"HF-specific part (export - records) / baseline: "
          f"{(hf_s - records_s) / base_s:.2f}x")  # fmt: skip
    print(f"SafeSora JSON export of the same pairs: {json_s:.2f} s "
          f"(HF / JSON {hf_s / json_s:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    size = int(sys.argv[sys.argv.index("--prompts") + 1]) if "--prompts" in sys.argv else 10_000
    main(size)
