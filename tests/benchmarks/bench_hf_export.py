"""Benchmark of `export_safesora --format hf` (not collected by pytest).

    DATABASE_URL=postgres://…/annot_hX .venv/bin/python tests/benchmarks/bench_hf_export.py \
        [--prompts 10000]

Builds (once; kept between runs) a database `<name>_bench_hf` holding one simulated batch
(`simulate_batch`: 2 pairs per prompt, K=3, videos without files), then prints, best of 3,
alternating the sides:
- wall time of a preference HF export (--videos none, test fraction 0.1), with the
  dashboard's stored figures current (the card reuses them), and with none stored;
- the baseline, "pyarrow writing the same columns directly": one plain SQL query through
  psycopg (no ORM) whose GROUP BYs aggregate the annotations into the same columns, then
  `pa.Table.from_pydict` + `pq.write_table` per split; checked equal to the export's tables;
  and the ratio (goal ≤ 2×);
- writing only: the export's columns already in memory → `from_pydict` + `write_table` (no
  database read, no aggregation), so nobody takes it for the baseline;
- the records alone (both database passes, nothing converted or written);
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

import psycopg  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
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
from annotation_server.exports.safesora import HARM_LABEL_ORDER  # noqa: E402
from annotation_server.exports.services import export_run  # noqa: E402
from annotation_server.quality.figures import batch_figures_refresh  # noqa: E402
from annotation_server.quality.models import BatchFigures  # noqa: E402
from annotation_server.quality.simulation import batch_simulate  # noqa: E402
from annotation_server.taxonomy import HARM_KEYS, PROMPT_TYPES, SUB_DIMENSION_KEYS  # noqa: E402

REPEAT = 3
BATCH = "bench-hf"
TEST_FRACTION = 0.1
SEED = 0
SEED_HEX = str(SEED).encode().hex()


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
    summary = export_run(
        out=out, kind="preference", videos="none", test_fraction=TEST_FRACTION, seed=SEED, **options
    )
    return time.perf_counter() - started, summary


_CHOICES = [f"pref_{k}" for k in SUB_DIMENSION_KEYS] + ["helpfulness", "harmlessness"]
_LABELS = ", ".join(f"(pr.prompt_labels->>'{k}')::bool" for k in HARM_LABEL_ORDER)
_HARM_ARRAY = "ARRAY[" + ", ".join(f"'{k}'" for k in HARM_KEYS) + "]"
_VIDEO = "v{n}.video_id, v{n}.video_text, v{n}.generated_from, u{n}.video IS NULL"


def _each(template: str, sep: str = ", ") -> str:
    """`template` once per choice field i (SQL written out per field, no loop in SQL)."""
    return sep.join(template.format(i=i, c=c) for i, c in enumerate(_CHOICES))


# An annotator's fields that agree with the others' strict majority, and those compared.
_OTHERS = "2 * (v.z{i} - a.m{i})"
_COMPARED = _each(f"({_OTHERS} <> v.n - 1)::int", " + ")
_AGREED = _each(f"({_OTHERS} <> v.n - 1 AND ({_OTHERS} > v.n - 1)::int = a.m{{i}})::int", " + ")
_SIDE_SUMS = _each(
    "sum(coalesce(g.mean, 0)) FILTER (WHERE m{i} = 1) AS g0_{i}, "
    "sum(coalesce(g.mean, 0)) FILTER (WHERE m{i} = 0) AS g1_{i}, "
    "sum(coalesce(s.share, 0)) FILTER (WHERE m{i} = 1) AS s0_{i}, "
    "sum(coalesce(s.share, 0)) FILTER (WHERE m{i} = 0) AS s1_{i}"
)
# Strict majority; a tie goes to the side whose voters have the larger sum of gold means,
# then of agreement shares; still equal: NULL, and the pair is left out.
_DECISIONS = _each(
    "CASE WHEN 2 * z{i} > n THEN 0 WHEN 2 * z{i} < n THEN 1"
    " WHEN abs(coalesce(g0_{i}, 0) - coalesce(g1_{i}, 0)) > 1e-9"
    " THEN (coalesce(g0_{i}, 0) < coalesce(g1_{i}, 0))::int"
    " WHEN abs(coalesce(s0_{i}, 0) - coalesce(s1_{i}, 0)) > 1e-9"
    " THEN (coalesce(s0_{i}, 0) < coalesce(s1_{i}, 0))::int END AS d{i}"
)
# The same columns as the export's, aggregated by SQL (GROUP BY): the six decisions per pair
# as above, a video unsafe when at least half of its judgements name one harm, the split
# from sha256(seed NUL prompt_id)'s first 8 bytes. The bench data has no external answers.
BASELINE_SQL = f"""
WITH counted AS (
    SELECT a.pair_id, a.annotator_id, a.video_0_harms, a.video_1_harms,
        {_each("({c} = 'video_0')::int AS m{i}")}
    FROM annotations_annotation a JOIN batches_pair p ON p.id = a.pair_id
    WHERE NOT a.is_gold AND NOT a.rejected AND NOT p.is_gold
), votes AS (
    SELECT pair_id, count(*) AS n, {_each("sum(m{i}) AS z{i}")} FROM counted GROUP BY pair_id
), gold AS (
    SELECT annotator_id, avg(gold_score)::float8 AS mean FROM annotations_annotation
    WHERE is_gold AND NOT rejected AND gold_score IS NOT NULL GROUP BY annotator_id
), agreement AS (
    SELECT a.annotator_id, sum({_AGREED})::float8 / nullif(sum({_COMPARED}), 0) AS share
    FROM counted a JOIN votes v ON v.pair_id = a.pair_id WHERE v.n >= 2
    GROUP BY a.annotator_id
), sides AS (
    SELECT a.pair_id, {_SIDE_SUMS}
    FROM counted a LEFT JOIN gold g USING (annotator_id) LEFT JOIN agreement s USING (annotator_id)
    GROUP BY a.pair_id
), decided AS (
    SELECT v.pair_id, {_DECISIONS} FROM votes v JOIN sides USING (pair_id)
), judged AS (
    SELECT p.video_0_id AS video, c.video_0_harms AS harms
    FROM counted c JOIN batches_pair p ON p.id = c.pair_id
    UNION ALL
    SELECT p.video_1_id, c.video_1_harms FROM counted c JOIN batches_pair p ON p.id = c.pair_id
), totals AS (
    SELECT video, count(*) AS n FROM judged GROUP BY video
), harm_votes AS (
    SELECT video, h, count(*) AS c FROM judged, jsonb_array_elements_text(harms) AS h
    WHERE jsonb_typeof(harms) = 'array' GROUP BY video, h
), unsafe AS (
    SELECT DISTINCT hv.video FROM harm_votes hv JOIN totals t USING (video)
    WHERE 2 * hv.c >= t.n
)
SELECT p.pair_id, pr.prompt_id, pr.text,
    CASE pr.prompt_type WHEN '{PROMPT_TYPES[0]}' THEN 0 ELSE 1 END,
    {_LABELS},
    ARRAY(SELECT i - 1 FROM unnest({_HARM_ARRAY}) WITH ORDINALITY AS t(k, i)
          WHERE (pr.prompt_labels->>k)::bool ORDER BY i),
    {_VIDEO.format(n=0)}, {_VIDEO.format(n=1)},
    {_each("d{i}")},
    ('x' || encode(substr(sha256('\\x{SEED_HEX}00'::bytea || convert_to(pr.prompt_id, 'UTF8')),
        1, 8), 'hex'))::bit(64)::bigint
FROM batches_pair p
JOIN decided d ON d.pair_id = p.id
JOIN catalog_prompt pr ON pr.id = p.prompt_id
JOIN catalog_video v0 ON v0.id = p.video_0_id
JOIN catalog_video v1 ON v1.id = p.video_1_id
LEFT JOIN unsafe u0 ON u0.video = p.video_0_id
LEFT JOIN unsafe u1 ON u1.video = p.video_1_id
WHERE NOT p.is_gold AND v0.status = 'ready' AND v0.rendition <> ''
    AND v1.status = 'ready' AND v1.rendition <> ''
    AND {_each("d{i} IS NOT NULL", " AND ")}
ORDER BY p.pair_id, p.id
"""


def _connect() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"] or None,
    )


def _baseline_table(rows: list[tuple], schema: pa.Schema) -> tuple[pa.Table, pa.Array]:
    """The SQL's columns as the export's schema; the split as a boolean mask (test)."""
    cols = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(45)]
    labels_type = schema.field("prompt_labels").type
    labels = pa.StructArray.from_arrays(
        [pa.array(c, pa.bool_()) for c in cols[4:16]], fields=list(labels_type)
    )

    def video(offset: int, side: str) -> pa.StructArray:
        type_ = schema.field(side).type
        video_id, text, generated, safe = cols[offset : offset + 4]
        paths = [f"videos/{p}/{v}.mp4" for p, v in zip(cols[1], video_id, strict=True)]
        blobs = pa.StructArray.from_arrays(
            [pa.nulls(len(paths), pa.binary()), pa.array(paths)], fields=list(type_["video"].type)
        )
        arrays = [video_id, text, paths, blobs, safe, generated]
        return pa.StructArray.from_arrays(
            [pa.array(a, f.type) if not isinstance(a, pa.Array) else a
             for a, f in zip(arrays, type_, strict=True)],
            fields=list(type_),
        )  # fmt: skip

    sides = [pa.array(c, pa.int64()) for c in cols[25:31]]
    table = pa.Table.from_pydict(
        {
            "pair_id": cols[0],
            "prompt_id": cols[1],
            "prompt_text": cols[2],
            "prompt_type": cols[3],
            "prompt_labels": labels,
            "prompt_harms": cols[16],
            "video_0": video(17, "video_0"),
            "video_1": video(21, "video_1"),
            "helpfulness": sides[4],
            "harmlessness": sides[5],
            "sub_preferences": pa.StructArray.from_arrays(
                sides[:4], fields=list(schema.field("sub_preferences").type)
            ),
        },
        schema=schema,
    )
    # Unsigned position < fraction, from the signed 64-bit value SQL gives.
    limit = int(TEST_FRACTION * 2**64)
    test = pa.array([(h + 2**64 if h < 0 else h) < limit for h in cols[31]])
    return table, test


def baseline(out: Path) -> tuple[float, dict[str, pa.Table]]:
    """pyarrow writing the same columns directly: one plain SQL query (psycopg, no ORM)
    whose GROUP BYs aggregate the annotations, `Table.from_pydict`, `write_table` per split."""
    schema = FEATURES["preference"].arrow_schema
    out.mkdir()
    started = time.perf_counter()
    with _connect() as conn:
        rows = conn.execute(BASELINE_SQL).fetchall()
    table, test = _baseline_table(rows, schema)
    tables = {"test": table.filter(test), "train": table.filter(pc.invert(test))}
    for split, part in tables.items():
        pq.write_table(part, out / f"{split}.parquet")
    return time.perf_counter() - started, tables


def baseline_in_memory(export: Path, out: Path) -> float:
    """Only the writing: the export's shards read back into Python columns (not timed), then
    built into tables and written (timed). No database read, no aggregation."""
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
    selection = Selection(None, selectors.annotation_max_id(), TEST_FRACTION, SEED, 1)
    for _ in preference_items(selection, judgements_collect(selection)):
        pass
    return time.perf_counter() - started


def _same_as_export(tables: dict[str, pa.Table], export: Path) -> dict[str, bool]:
    return {
        split: pq.read_table(export / f"data/{split}-00000-of-00001.parquet").equals(table)
        for split, table in tables.items()
    }


def main(prompts: int) -> None:
    use_bench_database(prompts)
    batch = Batch.objects.get(name=BATCH)
    times: dict[str, list[float]] = {k: [] for k in ("hf", "stale", "base", "mem", "json", "rec")}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for n in range(REPEAT):
            # The dashboard has shown the batch: its stored figures are current (the card
            # reuses them); then the same export with no stored figures (computed as the
            # dashboard would).
            batch_figures_refresh(batch_id=batch.pk)
            elapsed, summary = timed(tmp_path / f"hf{n}", format="hf")
            times["hf"].append(elapsed)
            elapsed, tables = baseline(tmp_path / f"base{n}")
            times["base"].append(elapsed)
            BatchFigures.objects.filter(batch=batch).delete()
            times["stale"].append(timed(tmp_path / f"stale{n}", format="hf")[0])
            times["mem"].append(baseline_in_memory(tmp_path / f"hf{n}", tmp_path / f"mem{n}"))
            times["json"].append(timed(tmp_path / f"json{n}")[0])
            times["rec"].append(records_only())
        same = _same_as_export(tables, tmp_path / "hf0")
        shard_mb = sum(p.stat().st_size for p in (tmp_path / "hf0").rglob("*.parquet")) / 1e6
    batch_figures_refresh(batch_id=batch.pk)
    info = summary["kinds"]["preference"]
    best = {k: min(v) for k, v in times.items()}
    hf_s, base_s = best["hf"], best["base"]
    print(f"pairs {Pair.objects.count():,}, annotations {Annotation.objects.count():,}")
    print(f"records written: {info['records']}; skipped {info['skipped']}; "
          f"shards {shard_mb:.1f} MB")  # fmt: skip
    print(f"HF export wall time, stored figures current (best of {REPEAT}): {hf_s:.2f} s")
    print(f"HF export wall time, no stored figures: {best['stale']:.2f} s")
    print(f"baseline: one plain SQL query (psycopg, GROUP BY) + from_pydict + write_table: "
          f"{base_s:.2f} s; same tables as the export's: {same}")  # fmt: skip
    print(f"ratio HF export / baseline: {hf_s / base_s:.2f}x (goal <= 2x); "
          f"no stored figures: {best['stale'] / base_s:.2f}x")  # fmt: skip
    print(f"writing only (the export's columns in memory → from_pydict + write_table): "
          f"{best['mem']:.2f} s; HF export / that: {hf_s / best['mem']:.1f}x")  # fmt: skip
    print(f"records from the database alone (both passes, nothing written): {best['rec']:.2f} s")
    print(f"SafeSora JSON export of the same pairs: {best['json']:.2f} s "
          f"(HF / JSON {hf_s / best['json']:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    size = int(sys.argv[sys.argv.index("--prompts") + 1]) if "--prompts" in sys.argv else 10_000
    main(size)
