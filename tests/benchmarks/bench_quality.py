"""Benchmark: the batch dashboard at 1k, 10k and SafeSora-sized (51,692 pairs) batches.

    DATABASE_URL=postgres://…/scratch .venv/bin/python tests/benchmarks/bench_quality.py \
        [--prompts 500 5000 25846] [--baseline-max 60000]

Builds each batch with the simulator's service (`batch_simulate`: 200 annotators + 20 random
clickers, K=3; an existing `bench-<prompts>` batch is reused), then prints for each:
- cold: `/dashboard/batches/<id>/` over HTTP (Django test client) with no stored figures,
  so the request reads the answers and computes every figure;
- warm: the same page with the stored figures current (best of 3);
- the SQL statements of both;
- the figures alone (`batch_answers` + the three tables) against the baseline in the same
  process: the plain computation the page did before (one Python row per annotation, a
  Counter per unit; tests/quality/plain_stats.py), up to --baseline-max annotations.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from annotation_server.accounts import roles  # noqa: E402
from annotation_server.annotations.models import Annotation  # noqa: E402
from annotation_server.batches.models import Batch  # noqa: E402
from annotation_server.quality import figures, selectors, stats  # noqa: E402
from annotation_server.quality.models import BatchFigures  # noqa: E402
from annotation_server.quality.simulation import batch_simulate  # noqa: E402
from tests.quality.plain_stats import (  # noqa: E402
    plain_agreement,
    plain_annotators,
    plain_generators,
)

FIELDS = (
    "annotator_id", "pair_id", "is_gold", "gold_score", "rejected", "left_is_video_0",
    "server_duration_ms", "created_at", "video_0_harms", "video_1_harms",
    "pair__video_0__generated_from", "pair__video_1__generated_from", *stats.CHOICE_NAMES,
)  # fmt: skip


def plain_rows(batch: Batch) -> list[stats.AnnotationRow]:
    """The baseline's read: one query, one Python row object per annotation."""
    rows = []
    for values in (
        Annotation.objects.filter(batch=batch).values_list(*FIELDS).iterator(chunk_size=5000)
    ):
        r = dict(zip(FIELDS, values, strict=True))
        rows.append(
            stats.AnnotationRow(
                annotator_id=r["annotator_id"], pair_id=r["pair_id"], is_gold=r["is_gold"],
                gold_score=r["gold_score"], rejected=r["rejected"],
                left_is_video_0=r["left_is_video_0"],
                server_duration_ms=r["server_duration_ms"], created_at=r["created_at"],
                choices={name: r[name] for name in stats.CHOICE_NAMES},
                video_0_harms=r["video_0_harms"] or [], video_1_harms=r["video_1_harms"] or [],
                model_0=r["pair__video_0__generated_from"],
                model_1=r["pair__video_1__generated_from"],
            )
        )  # fmt: skip
    return rows


def vectorised(batch: Batch, samples: int) -> dict:
    """What the page computes without stored figures."""
    answers = selectors.batch_answers(batch=batch)
    return figures.figures_data(answers, bootstrap_samples=samples)


def baseline(batch: Batch, samples: int) -> None:
    rows = plain_rows(batch)
    plain_agreement(rows), plain_annotators(rows), plain_generators(rows, samples)


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def page(client: Client, url: str) -> tuple[float, int]:
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        seconds, response = timed(lambda: client.get(url))
    assert response.status_code == 200, response.status_code
    return seconds, len(queries)


def batch_for(prompts: int) -> Batch:
    name = f"bench-{prompts}"
    found = Batch.objects.filter(name=name).first()
    if found is not None:
        return found
    seconds, result = timed(
        lambda: batch_simulate(name=name, prompts=prompts, annotators=200, clickers=20, seed=11)
    )
    print(
        f"  built {name}: {result.pairs:,} pairs, {result.annotations:,} answers, {seconds:.0f} s"
    )
    return result.batch


def main(prompt_sizes: list[int], baseline_max: int) -> None:
    admin, _ = get_user_model().objects.get_or_create(username="bench-quality-admin")
    admin.groups.add(roles.role_groups()[roles.ADMIN])
    client = Client()
    client.force_login(admin)
    first, _ = page(client, "/dashboard/")
    print(f"first dashboard request of this process (imports, chart fonts): {first:.2f} s")
    samples = settings.QUALITY_BT_BOOTSTRAP_SAMPLES
    header = (
        f"{'pairs':>7} {'answers':>8} | {'cold s':>6} {'q':>3} | {'warm s':>6} {'q':>3} | "
        f"{'figures s':>9} {'baseline s':>10} {'ratio':>6}"
    )
    lines = []
    for prompts in prompt_sizes:
        batch = batch_for(prompts)
        url = f"/dashboard/batches/{batch.pk}/"
        page(client, url)  # charts of this batch drawn once (per-process drawing cache)
        BatchFigures.objects.filter(batch=batch).delete()
        cold, cold_q = page(client, url)
        warm_runs = [page(client, url) for _ in range(3)]
        warm, warm_q = min(warm_runs)
        answers_n = batch.annotations.count()

        new = min(timed(lambda b=batch: vectorised(b, samples))[0] for _ in range(3))
        if answers_n <= baseline_max:
            old = f"{timed(lambda b=batch: baseline(b, samples))[0]:10.2f}"
            ratio = f"{float(old) / new:5.0f}x"
        else:
            old, ratio = f"{'skipped':>10}", f"{'':>6}"
        lines.append(
            f"{batch.pairs.count():>7,} {answers_n:>8,} | {cold:6.2f} {cold_q:>3} | "
            f"{warm:6.2f} {warm_q:>3} | {new:9.2f} {old} {ratio}"
        )
        print(lines[-1], flush=True)
    print()
    print(header)
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, nargs="+", default=[500, 5000, 25846])
    parser.add_argument("--baseline-max", type=int, default=200_000)
    args = parser.parse_args()
    main(args.prompts, args.baseline_max)
