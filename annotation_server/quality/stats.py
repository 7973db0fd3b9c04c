"""Batch statistics from plain annotation rows (no Django): agreement, annotators, generators.

The selectors fetch one row per annotation (`AnnotationRow`); everything here is computed in
Python from those rows, so a dashboard page costs a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from annotation_server.quality import metrics
from annotation_server.taxonomy import HARM_CATEGORIES, SUB_DIMENSIONS

CHOICE_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (f"pref_{d.key}", d.label_en) for d in SUB_DIMENSIONS
) + (("helpfulness", "Overall: more helpful"), ("harmlessness", "Overall: safer"))


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


def agreement_table(rows: Iterable[AnnotationRow]) -> list[AgreementRow]:
    """Krippendorff's alpha and raw agreement for each preference and each harm category.

    Uses regular (non-gold), non-rejected annotations; a pair is a unit for preferences,
    a (pair, video) for harms.
    """
    usable = [r for r in rows if not r.is_gold and not r.rejected]
    by_pair: dict[int, list[AnnotationRow]] = defaultdict(list)
    for r in usable:
        by_pair[r.pair_id].append(r)
    multi = [group for group in by_pair.values() if len(group) >= 2]
    table = []
    for name, label in CHOICE_FIELDS:
        units = [[r.choices[name] for r in group] for group in multi]
        stage = "Stage 2" if name in ("helpfulness", "harmlessness") else "Stage 1"
        table.append(
            AgreementRow(
                stage,
                label,
                metrics.krippendorff_alpha(units),
                metrics.raw_agreement(units),
                len(units),
            )
        )
    for category in HARM_CATEGORIES:
        units = []
        for group in multi:
            units.append([category.key in r.video_0_harms for r in group])
            units.append([category.key in r.video_1_harms for r in group])
        table.append(
            AgreementRow(
                "Harm",
                f"{category.code} {category.label_en}",
                metrics.krippendorff_alpha(units),
                metrics.raw_agreement(units),
                len(units),
            )
        )
    return table


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


def annotator_table(rows: Sequence[AnnotationRow], thresholds: Thresholds) -> list[AnnotatorStats]:
    """Per annotator: pairs done, median time, majority agreement, gold accuracy, left share.

    Agreement compares each of the six preference answers with the majority of the other
    annotators of the same regular pair. Annotators below a threshold get a flag that says why.
    """
    by_annotator: dict[int, list[AnnotationRow]] = defaultdict(list)
    for r in rows:
        by_annotator[r.annotator_id].append(r)
    regular = [r for r in rows if not r.is_gold]
    agree: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for name, _label in CHOICE_FIELDS:
        result = metrics.majority_agreement(
            (r.pair_id, r.annotator_id, r.choices[name]) for r in regular
        )
        for annotator, (hits, total) in result.items():
            agree[annotator][0] += hits
            agree[annotator][1] += total
    table = []
    for annotator, mine in by_annotator.items():
        golds = [r.gold_score for r in mine if r.is_gold and r.gold_score is not None]
        hits, total = agree.get(annotator, (0, 0))
        stats = AnnotatorStats(
            annotator_id=annotator,
            done=len(mine),
            rejected=sum(r.rejected for r in mine),
            median_seconds=_seconds(metrics.median([r.server_duration_ms for r in mine])),
            agreement=hits / total if total else None,
            agreement_n=total,
            gold_accuracy=sum(golds) / len(golds) if golds else None,
            gold_n=len(golds),
            left_share=metrics.left_share(
                (r.choices["helpfulness"], r.left_is_video_0) for r in mine
            ),
            last_active=max(r.created_at for r in mine),
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


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


@dataclass(frozen=True)
class GeneratorComparison:
    question: str  # "helpfulness" or "harmlessness"
    models: list[str]
    # (row model, column model) → (wins of row over column, judgements)
    win_rates: dict[tuple[str, str], tuple[int, int]]
    scores: list[metrics.BTScore]


def generator_comparisons(
    rows: Iterable[AnnotationRow], *, bootstrap_samples: int = 200, seed: int = 0
) -> list[GeneratorComparison]:
    """Win rates and Bradley–Terry scores of the generator models, per overall question.

    Each non-rejected regular annotation of a pair of two different models is one judgement.
    """
    usable = [r for r in rows if not r.is_gold and not r.rejected and r.model_0 != r.model_1]
    result = []
    for question in ("helpfulness", "harmlessness"):
        judgements = [
            (r.model_0, r.model_1) if r.choices[question] == "video_0" else (r.model_1, r.model_0)
            for r in usable
        ]
        models = sorted({m for j in judgements for m in j})
        result.append(
            GeneratorComparison(
                question=question,
                models=models,
                win_rates=metrics.win_rates(judgements),
                scores=metrics.bradley_terry_bootstrap(
                    judgements, samples=bootstrap_samples, seed=seed
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
