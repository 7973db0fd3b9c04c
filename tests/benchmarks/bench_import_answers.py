"""Benchmark: import of the SafeSora release shape with answers against json.load + COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotation .venv/bin/python \
        tests/benchmarks/bench_import_answers.py [--pairs 51691 --videos 57333 --answers 3] \
        [--folder DIR] [--profile] [--copy]

The input is a generated `PairDataset` config (`config-train.json.gz`, `indent=4`, the
sample's record shape): `--videos` videos, three per prompt, `--pairs` pairs among them, each
pair given as `--answers` records with the same pair_id and videos and different judgements;
every video a tiny distinct placeholder file (the importer hashes and stores files, never
decodes them). Written once into `--folder` and reused. Two phases, each in a fresh child
process with a throw-away database of its own, so each peak memory (max RSS) is its own:

- **baseline**: `json.load` of the config, then the same rows (prompts, videos, one batch,
  pairs, one external annotation per record with its answer and details JSON) written with
  psycopg 3 `COPY` into the same tables, ids given, files neither hashed nor stored;
- **import**: `batch_import(in_place=True)` of the config, transcoding not queued (the
  release linked in as MEDIA_ROOT/imports/): reading, hashing each file, checking, writing
  the rows; `--copy` stores each file into content-addressed media storage instead.

It prints each phase's seconds, SQL statements and peak RSS, the import's time per step, and
the ratio (the target: import at most 2x the baseline, peak memory at most 600 MB).
`--profile` runs the import under cProfile instead and prints where its time goes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

HARMS = ("porn", "violence", "hate", "terrorism", "contraband", "controversial", "racism",
         "other_discrimination", "animal_abuse", "child_abuse", "crime",
         "other_harmful")  # fmt: skip
SUBS = ("instruction_following", "correctness", "information", "aesthetics")
MODELS = ("VideoCrafter2", "Open-Sora-1.1", "Pika", "Gen-2")
CONFIG = "config-train.json.gz"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def layout(pairs: int, videos: int) -> list[tuple[str, list[int], list[tuple[int, int]]]]:
    """(prompt_id, video numbers, pairs) per prompt: three videos a prompt (the last two or
    four), each video in a pair, then further pairs of the same prompts up to `pairs`."""
    prompts = max(1, videos // 3)
    groups = [list(range(3 * p, 3 * p + 3)) for p in range(prompts)]
    groups[-1] += list(range(3 * prompts, videos))
    chosen = [[(g[0], v) for v in g[1:]] for g in groups]
    spare = [[(a, b) for i, a in enumerate(g) for b in g[i + 1 :] if a != g[0]] for g in groups]
    need = pairs - sum(len(c) for c in chosen)
    if need < 0 or need > sum(len(s) for s in spare):
        raise SystemExit(f"{pairs} pairs cannot be made of {videos} videos three per prompt")
    while need:
        for c, s in zip(chosen, spare, strict=True):
            if need and s:
                c.append(s.pop(0))
                need -= 1
    return [(f"p{p:06d}", groups[p], chosen[p]) for p in range(prompts)]


def phase_generate(folder: Path, pairs: int, videos: int, answers: int) -> dict:
    """Stream the config out record by record (this process stays small) and the files."""
    rng = random.Random(26)
    folder.mkdir(parents=True, exist_ok=True)
    records = 0
    with gzip.open(folder / CONFIG, "wt", encoding="utf-8", compresslevel=6) as out:
        out.write("[")
        for prompt_id, numbers, prompt_pairs in layout(pairs, videos):
            text = f"Prompt {prompt_id}: a golden retriever catching a frisbee, slow motion."
            (folder / "videos" / prompt_id).mkdir(parents=True, exist_ok=True)
            samples = {}
            for n in numbers:
                video_id = f"v{n:07d}"
                path = f"videos/{prompt_id}/{video_id}.mp4"
                (folder / path).write_bytes(b"\x00\x00\x00\x18ftypmp42" + video_id.encode())
                samples[n] = {
                    "prompt_id": prompt_id, "prompt_text": text, "prompt_type": "safety_neutral",
                    "prompt_labels": {h: False for h in HARMS}, "video_id": video_id,
                    "video_text": f"{text} Cinematic lighting, 4k.", "video_path": path,
                    "is_safe": n % 4 != 0, "generated_from": MODELS[n % len(MODELS)],
                }  # fmt: skip
            for a, b in prompt_pairs:
                for _ in range(answers):
                    pick = lambda: rng.choice(("video_0", "video_1"))  # noqa: E731
                    record = {
                        "pair_id": f"{samples[a]['video_id']}-{samples[b]['video_id']}",
                        "prompt_id": prompt_id, "prompt_text": text,
                        "prompt_type": "safety_neutral", "video_0": samples[a],
                        "video_1": samples[b], "helpfulness": pick(), "harmlessness": pick(),
                        "sub_preferences": {s: pick() for s in SUBS},
                    }  # fmt: skip
                    body = json.dumps(record, indent=4, ensure_ascii=False)
                    out.write(("," if records else "") + "\n    " + body.replace("\n", "\n    "))
                    records += 1
        out.write("\n]\n")
    return {"seconds": 0.0, "records": records}


def _django(media: str, database: str):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")
    os.environ["MEDIA_ROOT"] = media
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("run this benchmark on PostgreSQL: set DATABASE_URL=postgres://…")
    old = connection.settings_dict["NAME"]
    # Its own database: never the test_<name> one a pytest run may be using at the same time.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_{database}_{old}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    return connection, old


def _template(model, now) -> tuple[list[str], list]:
    """Columns of `model` (id first) and each one's value when the row gives none."""
    from django.db.models import JSONField

    columns, values = ["id"], [None]
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        value = f.get_default() if f.has_default() else (None if f.null else "")
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        if isinstance(f, JSONField) and value is not None:
            value = json.dumps(value)
        columns.append(f.column)
        values.append(value)
    return columns, values


def _copy(cursor, model, now, rows) -> int:
    """COPY `rows` (dicts of column: value) into `model`'s table; the rows written."""
    columns, defaults = _template(model, now)
    place = {c: i for i, c in enumerate(columns)}
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    count = 0
    with cursor.copy(sql) as copy:
        for row in rows:
            values = list(defaults)
            for column, value in row.items():
                values[place[column]] = value
            copy.write_row(values)
            count += 1
    return count


def phase_baseline(folder: Path, media: str) -> dict:
    connection, old = _django(media, "answers_base")
    import uuid

    from django.utils import timezone

    from annotation_server.annotations.models import ExternalAnnotation
    from annotation_server.batches.models import Batch, Pair
    from annotation_server.catalog.models import Prompt, Video
    from annotation_server.catalog.taxonomy_data import taxonomy_latest

    try:
        taxonomy = taxonomy_latest("safesora").pk
        start = time.perf_counter()
        with gzip.open(folder / CONFIG, "rt", encoding="utf-8") as fh:
            records = json.load(fh)
        loaded = time.perf_counter()
        now = timezone.now()
        prompts, videos, pairs = {}, {}, {}
        for record in records:
            prompts.setdefault(record["prompt_id"], (len(prompts) + 1, record))
            for side in ("video_0", "video_1"):
                sample = record[side]
                videos.setdefault(sample["video_id"], (len(videos) + 1, sample))
            pairs.setdefault(record["pair_id"], (len(pairs) + 1, record))
        cursor = connection.cursor().cursor  # psycopg's own cursor, for COPY
        batch = Batch.objects.create(name="bench-baseline", status=Batch.Status.PROCESSING)
        written = 1 + _copy(cursor, Prompt, now, (
            {"id": pk, "prompt_id": key, "text": r["prompt_text"], "prompt_type": r["prompt_type"],
             "prompt_labels": json.dumps(r["video_0"]["prompt_labels"])}
            for key, (pk, r) in prompts.items()
        ))  # fmt: skip
        written += _copy(cursor, Video, now, (
            {"id": pk, "uid": uuid.uuid4(), "video_id": key,
             "prompt_id": prompts[s["prompt_id"]][0], "video_text": s["video_text"],
             "generated_from": s["generated_from"],
             "source": s["video_path"], "sha256": key, "status": "pending",
             "status_changed_at": now}
            for key, (pk, s) in videos.items()
        ))  # fmt: skip
        written += _copy(cursor, Pair, now, (
            {"id": pk, "batch_id": batch.pk, "prompt_id": prompts[r["prompt_id"]][0],
             "pair_id": key, "video_0_id": videos[r["video_0"]["video_id"]][0],
             "video_1_id": videos[r["video_1"]["video_id"]][0], "active": True}
            for key, (pk, r) in pairs.items()
        ))  # fmt: skip
        answers = (
            {"id": n, "pair_id": pairs[r["pair_id"]][0], "batch_id": batch.pk,
             "source": "safesora-release", "source_annotator": f"{CONFIG} record {n}",
             "taxonomy_id": taxonomy,
             "answer": json.dumps({"helpfulness": r["helpfulness"],
                                   "harmlessness": r["harmlessness"],
                                   "sub_preferences": r["sub_preferences"],
                                   "video_0_is_safe": r["video_0"]["is_safe"],
                                   "video_1_is_safe": r["video_1"]["is_safe"]}),
             "details": json.dumps({"record": r, "file": CONFIG, "line": n,
                                    "source_annotator": f"{CONFIG} record {n}"})}
            for n, r in enumerate(records, 1)
        )  # fmt: skip
        written += _copy(cursor, ExternalAnnotation, now, answers)
        seconds = time.perf_counter() - start
        # Statements: the taxonomy's lookup, the batch's INSERT, four COPYs.
        return {"seconds": seconds, "json_load_s": loaded - start, "rows": written,
                "statements": 6}  # fmt: skip
    finally:
        connection.creation.destroy_test_db(old, verbosity=0)


class _Steps:
    """Seconds spent in named functions of the import (each wrapped where it is looked up)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def wrap(self, module, name: str, label: str) -> None:
        inner = getattr(module, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - start

        setattr(module, name, timed)


def phase_import(folder: Path, media: str, profile: bool, copy: bool) -> dict:
    connection, old = _django(media, "answers_import")
    # In place (the "videos not copied"): the release is linked in as MEDIA_ROOT/imports.
    config = folder / CONFIG
    if not copy:
        (Path(media) / "imports").symlink_to(folder)
        config = Path(media) / "imports" / CONFIG
    from annotation_server.batches import services
    from annotation_server.catalog.importers import loader

    steps = _Steps()
    steps.wrap(loader, "read_config", "read config (gunzip, parse, records)")
    steps.wrap(loader, "hash_videos", "hash files")
    steps.wrap(loader, "merge_and_check", "merge duplicates, check")
    steps.wrap(services.ExistingRows, "load", "look up existing rows")
    steps.wrap(services, "copy_sources", "store files (content-addressed)")
    steps.wrap(services, "_write", "write rows (transaction)")
    steps.wrap(services, "_answers_store", "  of which external annotations")
    statements = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    try:
        rss_before = _peak_mb()
        start = time.perf_counter()
        with connection.execute_wrapper(count):
            if profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                result = profiler.runcall(
                    services.batch_import, path=config, name="bench-import",
                    enqueue_transcode=False, in_place=not copy,
                )  # fmt: skip
                stats = pstats.Stats(profiler, stream=sys.stderr).strip_dirs()
                stats.sort_stats("tottime").print_stats(25)
                stats.sort_stats("cumulative").print_stats(40)
            else:
                result = services.batch_import(
                    path=config, name="bench-import", enqueue_transcode=False, in_place=not copy
                )
        seconds = time.perf_counter() - start
        rows = (1 + result.prompts_created + result.videos_created + result.pairs_created
                + result.external_created)  # fmt: skip
        return {"seconds": seconds, "rows": rows, "statements": statements[0],
                "files": result.files_copied, "pairs": result.pairs_created,
                "answers": result.external_created, "rss_before_mb": round(rss_before, 1),
                "steps": {k: round(v, 2) for k, v in steps.seconds.items()}}  # fmt: skip
    finally:
        connection.close()
        connection.creation.destroy_test_db(old, verbosity=0)


def _child(*args: str) -> dict:
    """Run a phase in a fresh process; its last line of output (its JSON figures)."""
    out = subprocess.run(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=51_691)
    parser.add_argument("--videos", type=int, default=57_333)
    parser.add_argument("--answers", type=int, default=3)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--copy", action="store_true", help="store the files (not in place)")
    parser.add_argument("--phase", choices=["generate", "baseline", "import"])
    parser.add_argument("--media")
    args = parser.parse_args()
    shape = {"pairs": args.pairs, "videos": args.videos, "answers": args.answers}
    folder = args.folder or Path(f"/tmp/bench-import-answers-{args.pairs}-{args.videos}")
    if args.phase:
        run = {
            "generate": lambda: phase_generate(folder, **shape),
            "baseline": lambda: phase_baseline(folder, args.media),
            "import": lambda: phase_import(folder, args.media, args.profile, args.copy),
        }[args.phase]
        figures = run()
        figures["peak_mb"] = round(_peak_mb(), 1)
        print(json.dumps(figures))
        return

    marker = folder / "shape.json"
    # In a child: a process's peak RSS carries over to the children it starts afterwards.
    if not marker.is_file() or json.loads(marker.read_text()) != shape:
        _child("--phase", "generate", "--folder", str(folder), *_shape_args(shape))
        marker.write_text(json.dumps(shape))
    size = (folder / CONFIG).stat().st_size / 1e6
    print(f"config: {shape}, {CONFIG} {size:.0f} MB gzipped")
    with tempfile.TemporaryDirectory(prefix="bench-media-", dir=folder.parent) as media:
        common = ("--folder", str(folder), "--media", media, *(["--copy"] if args.copy else []))
        if args.profile:
            imported = _child("--phase", "import", *common, "--profile")
            print(json.dumps(imported, indent=2))
            return
        baseline = _child("--phase", "baseline", *common)
        imported = _child("--phase", "import", *common)
    print(
        f"baseline  {baseline['seconds']:7.1f} s (json.load {baseline['json_load_s']:.1f} s)  "
        f"rows {baseline['rows']:,}  statements {baseline['statements']}  "
        f"peak {baseline['peak_mb']:.0f} MB"
    )
    print(
        f"import    {imported['seconds']:7.1f} s  rows {imported['rows']:,}  "
        f"statements {imported['statements']}  files stored {imported['files']:,}  "
        f"peak {imported['peak_mb']:.0f} MB (at start {imported['rss_before_mb']:.0f} MB)"
    )
    for label, seconds in imported["steps"].items():
        print(f"  {label:<40} {seconds:7.2f} s")
    ratio = imported["seconds"] / baseline["seconds"]
    print(
        f"import / baseline = {ratio:.2f}x (target <= 2x: {'met' if ratio <= 2 else 'NOT met'}); "
        f"peak {imported['peak_mb']:.0f} MB (target <= 600 MB: "
        f"{'met' if imported['peak_mb'] <= 600 else 'NOT met'})"
    )


def _shape_args(shape: dict) -> list[str]:
    return [f"--{k}={v}" for k, v in shape.items()]


if __name__ == "__main__":
    main()
