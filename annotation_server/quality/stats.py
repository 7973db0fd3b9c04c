"""Batch statistics from a batch's answer columns (no Django): agreement, annotators, generators.

The selectors fetch the answers as numpy columns (`columns.AnswerColumns`, one entry per
annotation) in a fixed number of queries; every figure here is a vectorised computation over
them (`reliability.py`), whose meaning the plain per-unit definitions in `metrics.py` pin.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from annotation_server.quality import metrics, reliability
from annotation_server.quality.columns import QUESTIONS, AnswerColumns
from annotation_server.taxonomy import HARM_CATEGORIES, SUB_DIMENSIONS

CHOICE_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (f"pref_{d.key}", d.label_en) for d in SUB_DIMENSIONS
) + (("helpfulness", "Overall: more helpful"), ("harmlessness", "Overall: safer"))
CHOICE_NAMES: tuple[str, ...] = tuple(name for name, _ in CHOICE_FIELDS)
CHOICE_INDEX: dict[str, int] = {name: i for i, name in enumerate(CHOICE_NAMES)}


@dataclass(frozen=True)
class AnnotationRow:
    annotator_id: int
    pair_id: int
    is_gold: bool
    gold_score: float | None
    rejected: bool
    left_is_video_0: bool
    server_duration_ms: int
    created_at: dt.datetime
    choices: dict[str, str]  # CHOICE_FIELDS name → "video_0" | "video_1"
    video_0_harms: Sequence[str]
    video_1_harms: Sequence[str]
    model_0: str
    model_1: str


@dataclass(frozen=True)
class Thresholds:
    min_gold_accuracy: float = 0.7
    min_gold_answers: int = 3
    min_agreement: float = 0.6
    min_agreement_comparisons: int = 10
    max_side_share: float = 0.8
    min_side_answers: int = 20


@dataclass(frozen=True)
class AgreementRow:
    group: str  # "Stage 1", "Stage 2" or "Harm"
    label: str
    alpha: float | None
    raw: float | None
    units: int


def agreement_table(answers: AnswerColumns) -> list[AgreementRow]:
    """Krippendorff's alpha and raw agreement for each preference and each harm category.

    Uses regular (non-gold), non-rejected annotations; a pair with two or more of them is a
    unit for preferences, a (pair, video) for harms.
    """
    usable = ~answers.is_gold & ~answers.rejected
    pairs, units = np.unique(answers.pair_id[usable], return_inverse=True)
    multi = np.bincount(units, minlength=len(pairs)) >= 2
    keep = multi[units]
    # Renumber the units with two or more answers 0..m-1 (the others are never units).
    index = np.cumsum(multi) - 1
    units, m = index[units[keep]], int(multi.sum())
    table = []
    choices = answers.chose_video_1[usable][keep]
    for i, (name, label) in enumerate(CHOICE_FIELDS):
        counts = reliability.value_counts(units, choices[:, i], m)
        stage = "Stage 2" if name in ("helpfulness", "harmlessness") else "Stage 1"
        table.append(_agreement_row(stage, label, counts))
    harms_0 = answers.video_0_harms[usable][keep]
    harms_1 = answers.video_1_harms[usable][keep]
    for k, category in enumerate(HARM_CATEGORIES):
        counts = np.concatenate(
            [
                reliability.value_counts(units, harms_0[:, k], m),
                reliability.value_counts(units, harms_1[:, k], m),
            ]
        )
        table.append(_agreement_row("Harm", f"{category.code} {category.label_en}", counts))
    return table


def _agreement_row(group: str, label: str, counts: np.ndarray) -> AgreementRow:
    return AgreementRow(
        group,
        label,
        reliability.nominal_alpha(counts),
        reliability.raw_agreement(counts),
        len(counts),
    )


@dataclass
class AnnotatorStats:
    annotator_id: int
    done: int = 0
    rejected: int = 0
    median_seconds: float | None = None
    agreement: float | None = None
    agreement_n: int = 0
    gold_accuracy: float | None = None
    gold_n: int = 0
    left_share: float | None = None
    last_active: dt.datetime | None = None
    flags: list[str] = field(default_factory=list)


def annotator_table(answers: AnswerColumns, thresholds: Thresholds) -> list[AnnotatorStats]:
    """Per annotator: pairs done, median time, majority agreement, gold accuracy, left share.

    Agreement compares each of the six preference answers with the majority of the other
    annotators of the same regular pair. Annotators below a threshold get a flag that says why.
    """
    people, who = np.unique(answers.annotator_id, return_inverse=True)
    n = len(people)
    done = np.bincount(who, minlength=n)
    rejected = np.bincount(who, weights=answers.rejected, minlength=n)
    medians = reliability.group_median(who, answers.server_duration_ms, n)
    regular = ~answers.is_gold
    _pairs, units = np.unique(answers.pair_id[regular], return_inverse=True)
    hits, comparisons = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for i in range(len(CHOICE_FIELDS)):
        h, c = reliability.majority_agreement(
            units, who[regular], answers.chose_video_1[regular, i], len(_pairs), n
        )
        hits, comparisons = hits + h, comparisons + c
    scored = answers.is_gold & ~np.isnan(answers.gold_score)
    gold_n = np.bincount(who[scored], minlength=n)
    gold_sum = np.bincount(who[scored], weights=answers.gold_score[scored], minlength=n)
    helpful = CHOICE_INDEX["helpfulness"]
    # The left video chosen: video_0 chosen while it was on the left, or video_1 on the right.
    left = answers.chose_video_1[:, helpful] != answers.left_is_video_0
    lefts = np.bincount(who, weights=left, minlength=n)
    table = []
    for i, annotator in enumerate(people.tolist()):
        stats = AnnotatorStats(
            annotator_id=annotator,
            done=int(done[i]),
            rejected=int(rejected[i]),
            median_seconds=float(medians[i]) / 1000,
            agreement=int(hits[i]) / int(comparisons[i]) if comparisons[i] else None,
            agreement_n=int(comparisons[i]),
            gold_accuracy=float(gold_sum[i]) / int(gold_n[i]) if gold_n[i] else None,
            gold_n=int(gold_n[i]),
            left_share=int(lefts[i]) / int(done[i]),
            last_active=answers.last_active.get(annotator),
        )
        stats.flags = annotator_flags(stats, thresholds)
        table.append(stats)
    return sorted(table, key=lambda s: (not s.flags, -s.done, s.annotator_id))


def annotator_flags(stats: AnnotatorStats, t: Thresholds) -> list[str]:
    """Reasons to look at this annotator's work, in words an admin can act on."""
    flags = []
    if (
        stats.gold_n >= t.min_gold_answers
        and stats.gold_accuracy is not None
        and stats.gold_accuracy < t.min_gold_accuracy
    ):
        flags.append(f"gold accuracy {stats.gold_accuracy:.0%} < {t.min_gold_accuracy:.0%}")
    if (
        stats.agreement_n >= t.min_agreement_comparisons
        and stats.agreement is not None
        and stats.agreement < t.min_agreement
    ):
        flags.append(f"agreement {stats.agreement:.0%} < {t.min_agreement:.0%}")
    if (
        stats.done >= t.min_side_answers
        and stats.left_share is not None
        and max(stats.left_share, 1 - stats.left_share) > t.max_side_share
    ):
        side = "left" if stats.left_share > 0.5 else "right"
        share = max(stats.left_share, 1 - stats.left_share)
        flags.append(f"picks the {side} video {share:.0%} of the time")
    return flags


@dataclass(frozen=True)
class GeneratorComparison:
    question: str  # "helpfulness" or "harmlessness"
    models: list[str]
    # (row model, column model) → (wins of row over column, judgements)
    win_rates: dict[tuple[str, str], tuple[int, int]]
    scores: list[metrics.BTScore]


def generator_comparisons(
    answers: AnswerColumns, *, bootstrap_samples: int = 200, seed: int = 0
) -> list[GeneratorComparison]:
    """Win rates and Bradley–Terry scores of the generator models, per overall question.

    Each non-rejected regular annotation of a pair of two different models is one judgement
    (counted per (winner, loser) in `answers.judgements`).
    """
    result = []
    for question in QUESTIONS:
        counted = {k: n for k, n in answers.judgements.get(question, {}).items() if k[0] != k[1]}
        models = sorted({m for pair in counted for m in pair})
        index = {m: i for i, m in enumerate(models)}
        wins = np.zeros((len(models), len(models)))
        for (winner, loser), n in counted.items():
            wins[index[winner], index[loser]] += n
        win_rates = {
            (a, b): (
                int(wins[index[a], index[b]]),
                int(wins[index[a], index[b]] + wins[index[b], index[a]]),
            )
            for winner, loser in counted
            for a, b in ((winner, loser), (loser, winner))
        }
        result.append(
            GeneratorComparison(
                question=question,
                models=models,
                win_rates=win_rates,
                scores=metrics.bradley_terry_bootstrap_wins(
                    wins, models, samples=bootstrap_samples, seed=seed
                ),
            )
        )
    return result


def throughput_eta(
    hourly: Sequence[tuple[dt.datetime, int]],
    remaining: int,
    now: dt.datetime,
    window_hours: int = 24,
) -> tuple[float | None, dt.datetime | None]:
    """Annotations per hour over the last `window_hours`, and when the rest would be done.

    No estimate (None) when nothing was submitted in the window or nothing remains.
    """
    start = now - dt.timedelta(hours=window_hours)
    recent = [(hour, n) for hour, n in hourly if hour >= start]
    if not recent:
        return None, None
    # Rate over the active part of the window: from the first hour with work to now.
    span_hours = max((now - min(h for h, _ in recent)).total_seconds() / 3600, 1.0)
    rate = sum(n for _, n in recent) / span_hours
    if remaining <= 0 or rate <= 0:
        return rate, None
    return rate, now + dt.timedelta(hours=remaining / rate)
