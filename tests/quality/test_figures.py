"""Dashboard figures: the vectorised computation means what the plain one means, the stored
figures say when they were computed and follow the answers, and a page's query count does not
grow with the batch."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation_server.accounts import roles
from annotation_server.annotations.models import Annotation
from annotation_server.quality import figures, selectors, services, stats
from annotation_server.quality.columns import columns_from_rows
from annotation_server.quality.models import BatchFigures
from annotation_server.quality.simulation import batch_simulate
from annotation_server.taxonomy import HARM_KEYS
from tests.celery_worker import wait_until
from tests.exports.annotating import annotate
from tests.factories import PairFactory
from tests.quality.plain_stats import plain_agreement, plain_annotators, plain_generators

T0 = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
SAMPLES = 40


def random_rows(seed: int) -> list[stats.AnnotationRow]:
    """A small messy batch: 1–5 answers per pair, gold, rejected, harms, same-model pairs."""
    rng = random.Random(seed)
    rows = []
    for pair in range(80):
        gold = pair < 8
        models = (rng.choice("ABC"), rng.choice("ABCD"))
        for annotator in rng.sample(range(1, 10), rng.randint(1, 5)):
            lean = rng.random()
            rows.append(
                stats.AnnotationRow(
                    annotator_id=annotator,
                    pair_id=1000 + pair,
                    is_gold=gold,
                    gold_score=rng.choice([0.0, 0.5, 1.0, None]) if gold else None,
                    rejected=rng.random() < 0.1,
                    left_is_video_0=rng.random() < 0.5,
                    server_duration_ms=rng.choice([5000, 60000, rng.randint(1000, 90000)]),
                    created_at=T0 + dt.timedelta(minutes=rng.randint(0, 600)),
                    choices={
                        name: "video_0" if rng.random() < lean else "video_1"
                        for name in stats.CHOICE_NAMES
                    },
                    video_0_harms=[k for k in HARM_KEYS[:4] if rng.random() < 0.3],
                    video_1_harms=[k for k in HARM_KEYS if rng.random() < 0.05],
                    model_0=models[0],
                    model_1=models[1],
                )
            )
    rng.shuffle(rows)
    return rows


def assert_same_figures(columns, rows) -> None:
    same = pytest.approx  # float sums in another order: equal to the last bits or so
    got = [(r.alpha, r.raw, r.units) for r in stats.agreement_table(columns)]
    want = plain_agreement(rows)
    assert len(got) == len(want) == 18
    for (alpha, raw, units), (p_alpha, p_raw, p_units) in zip(got, want, strict=True):
        assert units == p_units
        assert (alpha is None) == (p_alpha is None) and (raw is None) == (p_raw is None)
        assert alpha is None or alpha == same(p_alpha, rel=1e-12, abs=1e-12)
        assert raw is None or raw == same(p_raw, rel=1e-12)
    plain = plain_annotators(rows)
    table = stats.annotator_table(columns, stats.Thresholds())
    assert {s.annotator_id for s in table} == set(plain)
    for s in table:
        expected = plain[s.annotator_id]
        for key, value in expected.items():
            assert getattr(s, key) == (same(value) if isinstance(value, float) else value), key
    comparisons = stats.generator_comparisons(columns, bootstrap_samples=SAMPLES)
    for c in comparisons:
        win_rates, scores = plain_generators(rows, SAMPLES)[c.question]
        assert c.win_rates == win_rates
        assert c.scores == scores


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_figures_equal_the_plain_computation(seed):
    rows = random_rows(seed)
    assert_same_figures(columns_from_rows(rows, stats.CHOICE_NAMES), rows)


def _plain_rows(batch) -> list[stats.AnnotationRow]:
    """The batch's annotations read one ORM object at a time, as rows."""
    rows = []
    for a in Annotation.objects.filter(batch=batch).select_related(
        "pair__video_0", "pair__video_1"
    ):
        rows.append(
            stats.AnnotationRow(
                annotator_id=a.annotator_id,
                pair_id=a.pair_id,
                is_gold=a.is_gold,
                gold_score=a.gold_score,
                rejected=a.rejected,
                left_is_video_0=a.left_is_video_0,
                server_duration_ms=a.server_duration_ms,
                created_at=a.created_at,
                choices={name: getattr(a, name) for name in stats.CHOICE_NAMES},
                video_0_harms=a.video_0_harms,
                video_1_harms=a.video_1_harms,
                model_0=a.pair.video_0.generated_from,
                model_1=a.pair.video_1.generated_from,
            )
        )
    return rows


def test_columns_read_from_the_database_give_the_plain_figures(make_user):
    batch = batch_simulate(name="plain", prompts=20, annotators=5, clickers=1, seed=3).batch
    clicker = batch.annotations.filter(annotator__username="plain-clicker06").first().annotator
    services.annotator_work_reject(batch=batch, annotator=clicker, actor=make_user(roles.ADMIN))
    answers = selectors.batch_answers(batch=batch)
    assert len(answers) == batch.annotations.count() and answers.rejected.any()
    assert_same_figures(answers, _plain_rows(batch))


def _page(client, batch, queries: list | None = None) -> str:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/dashboard/batches/{batch.pk}/")
    assert response.status_code == 200
    if queries is not None:
        queries.append(len(captured))
    return response.content.decode()


def _age(html: str) -> str:
    found = re.search(r'id="figures-age">(.*?)<form', html, flags=re.S).group(1)
    return " ".join(found.split())


def test_page_query_count_is_the_same_for_a_small_and_a_larger_batch(client, make_user):
    small = batch_simulate(name="small", prompts=4, annotators=3, clickers=1, seed=1).batch
    large = batch_simulate(name="large", prompts=80, annotators=9, clickers=2, seed=1).batch
    assert large.annotations.count() > 10 * small.annotations.count()
    client.force_login(make_user(roles.ADMIN))
    cold, warm = [], []
    for batch in (small, large):
        _page(client, batch, cold)  # no stored figures: computed and stored
        _page(client, batch, warm)  # stored figures, answers unchanged
    assert cold[0] == cold[1] and warm[0] == warm[1]
    assert warm[0] < cold[0]


def test_stored_figures_show_their_time_and_what_arrived_since(client, make_user):
    batch = batch_simulate(name="aging", prompts=10, annotators=4, clickers=1, seed=2).batch
    client.force_login(make_user(roles.REVIEWER))
    first = _age(_page(client, batch))
    stored = BatchFigures.objects.get(batch=batch)
    assert f"from {stored.computed_at:%Y-%m-%d %H:%M} UTC" in first and "(up to date)" in first
    newcomer = make_user(roles.ANNOTATOR)
    pair = batch.pairs.filter(is_gold=False).exclude(annotations__annotator=newcomer).first()
    annotate(pair, newcomer)
    annotate(PairFactory(batch=batch), newcomer)
    stale = _age(_page(client, batch))
    # A refresh is on its way (the worker's job): the page says so, and shows the old figures.
    assert "2 new answers since, being recomputed" in stale
    assert BatchFigures.objects.get(batch=batch).refresh_requested_at is not None
    figures.batch_figures_refresh(batch_id=batch.pk)  # what the task runs
    fresh = BatchFigures.objects.get(batch=batch)
    assert fresh.annotations == stored.annotations + 2 and fresh.refresh_requested_at is None
    html = _page(client, batch)
    assert "(up to date)" in _age(html) and newcomer.username in html


def test_rejections_make_figures_stale_and_thresholds_apply_at_once(client, make_user, settings):
    batch = batch_simulate(name="strict", prompts=10, annotators=4, clickers=1, seed=2).batch
    admin = make_user(roles.ADMIN)
    client.force_login(admin)
    assert _page(client, batch).count("⚑ agreement") == 1  # the random clicker
    settings.QUALITY_FLAG_MIN_AGREEMENT = 1.01  # nobody agrees that much: everyone is flagged
    html = _page(client, batch)
    assert "(up to date)" in _age(html) and html.count("⚑ agreement") == 5
    clicker = batch.annotations.filter(annotator__username="strict-clicker05").first().annotator
    review = services.annotator_work_reject(batch=batch, annotator=clicker, actor=admin)
    assert f"{review.annotations_affected} rejected since" in _age(_page(client, batch))


def test_recompute_button_asks_for_a_refresh(client, make_user):
    batch = batch_simulate(name="button", prompts=4, annotators=3, clickers=1, seed=2).batch
    client.force_login(make_user(roles.REVIEWER))
    _page(client, batch)
    response = client.post(f"/dashboard/batches/{batch.pk}/figures/")
    assert response.status_code == 302
    assert BatchFigures.objects.get(batch=batch).refresh_requested_at is not None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_refreshes_figures_after_new_answers(client, make_user, celery_worker):
    batch = batch_simulate(name="live", prompts=6, annotators=3, clickers=1, seed=4).batch
    client.force_login(make_user(roles.REVIEWER))
    _page(client, batch)
    computed = BatchFigures.objects.get(batch=batch).computed_at
    annotate(PairFactory(batch=batch), make_user(roles.ANNOTATOR))
    assert "1 new answer since, being recomputed" in _age(_page(client, batch))
    row = wait_until(
        lambda: BatchFigures.objects.filter(batch=batch, computed_at__gt=computed).first(),
        timeout=60,
        what="the worker to refresh the figures",
    )
    assert row.annotations == batch.annotations.count() and row.refresh_requested_at is None
    assert "(up to date)" in _age(_page(client, batch))
