"""Benchmark: dashboard statistics on a simulated batch (run against a scratch database).

    DATABASE_URL=postgres://…/scratch .venv/bin/python tests/benchmarks/bench_quality.py [prompts]

Prints the time of each dashboard step and compares the vectorised Bradley–Terry bootstrap
(multinomial resampling + batched Newton fits) with the baseline it replaced, in the same
process: resampling judgements one sample at a time and fitting each with Hunter's MM.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter

import django
import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from annotation_server.accounts import roles  # noqa: E402
from annotation_server.quality import dashboard, metrics, selectors, stats  # noqa: E402
from annotation_server.quality.simulation import batch_simulate  # noqa: E402


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def mm_bootstrap_baseline(judgements, samples: int, seed: int = 0) -> np.ndarray:
    """The replaced approach: per-sample resampling in Python and MM fits (tol 1e-8)."""
    models = sorted({m for j in judgements for m in j})
    index = {m: i for i, m in enumerate(models)}
    rng = np.random.default_rng(seed)
    out = np.empty((samples, len(models)))
    for s in range(samples):
        picked = rng.integers(0, len(judgements), size=len(judgements))
        wins = np.zeros((len(models), len(models)))
        for i in picked:
            w, lo = judgements[i]
            wins[index[w], index[lo]] += 1
        games, total, p = wins + wins.T, wins.sum(axis=1), np.ones(len(models))
        for _ in range(5000):
            new = (total + 0.5) / ((games / (p[:, None] + p[None, :])).sum(axis=1) + 1 / (p + 1))
            done = np.max(np.abs(np.log(new) - np.log(p))) < 1e-8
            p = new
            if done:
                break
        out[s] = np.log(p) - np.log(p).mean()
    return out


def main(prompts: int) -> None:
    name = f"bench-{int(time.time())}"
    start = time.perf_counter()
    result = batch_simulate(name=name, prompts=prompts, annotators=20, clickers=2, seed=11)
    print(
        f"simulated {result.pairs} pairs, {result.annotations} annotations, "
        f"{len(result.annotators)} annotators in {time.perf_counter() - start:.1f} s"
    )
    batch = result.batch

    rows = selectors.annotation_rows(batch=batch)
    print(f"fetch rows        {best_of(lambda: selectors.annotation_rows(batch=batch)):.3f} s")
    th = selectors.quality_thresholds()
    print(f"annotator table   {best_of(lambda: stats.annotator_table(rows, th)):.3f} s")
    print(f"agreement (18 α)  {best_of(lambda: stats.agreement_table(rows)):.3f} s")
    samples = settings.QUALITY_BT_BOOTSTRAP_SAMPLES
    print(
        f"generators + BT   {best_of(lambda: stats.generator_comparisons(rows)):.3f} s "
        f"({samples} bootstrap samples x 2 questions)"
    )
    print(f"batch_context     {best_of(lambda: dashboard.batch_context(batch)):.3f} s")

    judgements = [
        (r.model_0, r.model_1) if r.choices["helpfulness"] == "video_0" else (r.model_1, r.model_0)
        for r in rows
        if not r.is_gold and r.model_0 != r.model_1
    ]
    new = best_of(lambda: metrics.bradley_terry_bootstrap(judgements, samples=samples), 3)
    old = best_of(lambda: mm_bootstrap_baseline(judgements, samples), 1)
    print(
        f"BT bootstrap      vectorised Newton {new:.3f} s vs baseline MM loop {old:.3f} s "
        f"-> {old / new:.0f}x faster ({len(judgements)} judgements, "
        f"{len(Counter(m for j in judgements for m in j))} models)"
    )

    from django.contrib.auth import get_user_model

    admin, _ = get_user_model().objects.get_or_create(username=f"{name}-admin")
    admin.groups.add(roles.role_groups()[roles.ADMIN])
    client = Client()
    client.force_login(admin)
    url = f"/dashboard/batches/{batch.pk}/"
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get(url).status_code == 200
    page = best_of(lambda: client.get(url))
    print(f"dashboard page    {page:.3f} s, {len(queries)} SQL queries")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
