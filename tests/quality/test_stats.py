"""Batch statistics from plain rows (no database): flags, agreement table, generators, ETA."""

from __future__ import annotations

import datetime as dt

import pytest

from annotation_server.quality import stats
from annotation_server.quality.columns import columns_from_rows

T0 = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)
V0, V1 = "video_0", "video_1"


def columns(rows):
    return columns_from_rows(rows, stats.CHOICE_NAMES)


def row(
    annotator, pair, choice=V0, *, left=True, gold=None, ms=60000, harms0=(), models=("A", "B")
):
    return stats.AnnotationRow(
        annotator_id=annotator,
        pair_id=pair,
        is_gold=gold is not None,
        gold_score=gold,
        rejected=False,
        left_is_video_0=left,
        server_duration_ms=ms,
        created_at=T0 + dt.timedelta(minutes=pair),
        choices={name: choice for name, _ in stats.CHOICE_FIELDS},
        video_0_harms=list(harms0),
        video_1_harms=[],
        model_0=models[0],
        model_1=models[1],
    )


def test_annotator_table_computes_each_column_by_hand():
    rows = []
    for pair in range(4):
        rows += [row(1, pair), row(2, pair), row(4, pair)]
        # Annotator 3 contradicts the other three on every pair: agreement 0 of 6×4.
        rows.append(row(3, pair, V1, left=False, ms=5000))
    rows += [row(3, 100, gold=0.0), row(3, 101, gold=0.5), row(3, 102, gold=0.25)]
    table = {
        s.annotator_id: s
        for s in stats.annotator_table(
            columns(rows),
            stats.Thresholds(
                min_agreement_comparisons=10, min_gold_answers=3, min_side_answers=100
            ),
        )
    }
    assert (table[1].done, table[1].agreement, table[1].agreement_n) == (4, 1.0, 24)
    assert table[3].agreement == 0.0 and table[3].agreement_n == 24
    assert table[3].gold_accuracy == pytest.approx(0.25) and table[3].gold_n == 3
    assert table[3].median_seconds == 5.0
    # video_1 chosen while video_0 was on the right: annotator 3 always clicks left.
    assert table[3].left_share == 1.0 and table[1].left_share == 1.0
    assert table[3].flags == ["gold accuracy 25% < 70%", "agreement 0% < 60%"]
    assert table[1].flags == [] and table[1].gold_accuracy is None


def test_side_bias_is_flagged_once_there_are_enough_answers():
    rows = [row(1, p, left=True) for p in range(25)]
    [only] = stats.annotator_table(columns(rows), stats.Thresholds(min_side_answers=20))
    assert only.flags == ["picks the left video 100% of the time"]
    [few] = stats.annotator_table(columns(rows[:5]), stats.Thresholds(min_side_answers=20))
    assert few.flags == []


def test_agreement_table_covers_every_dimension_and_harm():
    rows = [row(1, 1, harms0=["violence"]), row(2, 1), row(1, 2), row(2, 2)]
    table = stats.agreement_table(columns(rows))
    assert len(table) == 6 + 12
    by_label = {r.label: r for r in table}
    # Preferences: everyone chose video_0 → alpha undefined, raw agreement 100 %.
    assert by_label["Overall: more helpful"].alpha is None
    assert by_label["Overall: more helpful"].raw == 1.0
    # Violence: units (p1,v0)=[T,F], (p1,v1)=[F,F], (p2,v0)=[F,F], (p2,v1)=[F,F].
    # n=8, n_T=1, n_F=7, o_TF=o_FT=1 → α = 1 - 7·2/(2·1·7) = 0; raw = 3 of 4 units agree.
    violence = by_label["S8 Violence, Injury, Gory Content"]
    assert violence.alpha == pytest.approx(0.0) and violence.raw == pytest.approx(0.75)
    assert violence.units == 4


def test_generator_comparison_counts_each_judgement():
    rows = [row(1, 1, V0), row(2, 1, V0), row(3, 1, V1), row(1, 2, V0, models=("B", "B"))]
    [helpful, harmless] = stats.generator_comparisons(columns(rows), bootstrap_samples=50)
    assert helpful.question == "helpfulness" and helpful.models == ["A", "B"]
    assert helpful.win_rates[("A", "B")] == (2, 3)
    assert [s.model for s in helpful.scores] == ["A", "B"]
    assert harmless.win_rates[("B", "A")] == (1, 3)


def test_throughput_and_eta():
    now = T0
    hourly = [
        (now - dt.timedelta(hours=2), 10),
        (now - dt.timedelta(hours=1), 20),
        (now - dt.timedelta(hours=30), 99),
    ]
    rate, eta = stats.throughput_eta(hourly, remaining=60, now=now)
    assert rate == pytest.approx(15.0)  # 30 in the 2 hours since work started in the window
    assert eta == now + dt.timedelta(hours=4)
    assert stats.throughput_eta([], remaining=5, now=now) == (None, None)
    assert stats.throughput_eta(hourly, remaining=0, now=now)[1] is None
