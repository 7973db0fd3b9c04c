"""What the dashboard pages show, assembled from selectors, stats and charts (read-only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from annotation_server.batches.models import Batch
from annotation_server.quality import selectors, stats
from annotation_server.quality.figures import batch_figures_current
from annotation_server.quality.models import AnnotatorReview
from annotation_server.quality.pairwise_sources import PairwiseSource
from annotation_server.quality.source_comparison import FieldComparison
from annotation_server.taxonomy import HARM_BY_KEY

THROUGHPUT_DAYS = 7
PREFERENCE_LABELS = dict(stats.CHOICE_FIELDS)
UNSAFE_LABEL = "Unsafe (is_safe false)"


@dataclass
class AnnotatorLine:
    stats: stats.AnnotatorStats
    username: str
    review: AnnotatorReview | None


@dataclass(frozen=True)
class PairwiseSourceView:
    source: str
    pairs: int
    preferences: list[tuple[str, FieldComparison]]  # (label, comparison)
    videos: int
    harms: list[tuple[str, FieldComparison]]  # unsafe first, then each harm category
    unsafe: FieldComparison
    svg: str


@dataclass
class WinCell:
    rate: float | None
    wins: int
    games: int


def overview_context() -> dict:
    """Every non-archived batch with its progress and ETA, overall throughput, recent audit."""
    now = timezone.now()
    progress = selectors.batch_progress_list()
    hourly = selectors.throughput_hourly(since=now - dt.timedelta(days=THROUGHPUT_DAYS))
    videos = selectors.batch_video_status(batches=[p.batch for p in progress])
    lines = []
    for p in progress:
        rate = p.last_day / 24 if p.last_day else None
        running = p.batch.status == Batch.Status.PUBLISHED
        eta = (
            now + dt.timedelta(hours=p.remaining / rate)
            if running and rate and p.remaining
            else None
        )
        lines.append({"progress": p, "rate": rate, "eta": eta, "videos": videos.get(p.batch.pk)})
    return {
        "lines": lines,
        "throughput_svg": _charts().throughput_svg(hourly),
        "audit_events": selectors.audit_event_list(limit=15),
        "archived": Batch.objects.filter(status=Batch.Status.ARCHIVED)
        .order_by("-updated_at")
        .values_list("pk", "name")[:20],
        "now": now,
    }


def batch_live(batch: Batch) -> dict:
    """What a batch page counts live, whatever the batch's kind: progress, throughput, ETA,
    recent audit events and media status."""
    now = timezone.now()
    [progress] = selectors.batch_progress_list(batches=[batch])
    hourly = selectors.throughput_hourly(
        batch=batch, since=now - dt.timedelta(days=THROUGHPUT_DAYS)
    )
    rate, eta = stats.throughput_eta(hourly, progress.remaining, now)
    if batch.status != Batch.Status.PUBLISHED:
        eta = None  # nobody gets new pairs: no completion to estimate
    return {
        "batch": batch,
        "progress": progress,
        "rate": rate,
        "eta": eta,
        "throughput_svg": _charts().throughput_svg(hourly),
        "audit_events": selectors.audit_event_list(batch=batch, limit=20),
        "videos": selectors.batch_video_status(batches=[batch]).get(batch.pk),
        "now": now,
    }


def annotator_lines(batch: Batch, annotators: list[stats.AnnotatorStats]) -> list[AnnotatorLine]:
    names = selectors.usernames(user_ids=[a.annotator_id for a in annotators])
    reviews = selectors.review_map(batch=batch)
    return [
        AnnotatorLine(a, names.get(a.annotator_id, "?"), reviews.get(a.annotator_id))
        for a in annotators
    ]


def batch_context(batch: Batch) -> dict:
    """Progress, throughput, ETA, annotators with flags, agreement and generator comparison.

    Progress and throughput are counted live; the figures come from the batch's stored
    figures (`figures.py`), with how fresh they are."""
    figures = batch_figures_current(batch=batch)
    annotators, comparisons = figures.annotators, figures.comparisons
    return {
        **batch_live(batch),
        "annotators": annotator_lines(batch, annotators),
        "flagged": sum(1 for a in annotators if a.flags),
        "agreement": figures.agreement,
        "figures": figures,
        "comparisons": [_comparison_view(c) for c in comparisons],
        "bt_svg": _charts().bradley_terry_svg(
            [(c.question.capitalize(), c.scores) for c in comparisons]
        )
        if any(c.scores for c in comparisons)
        else "",
        "sources": [_source_view(s) for s in figures.sources],
    }


def _source_view(source: PairwiseSource) -> PairwiseSourceView:
    """One external source's card: the tables, and the chart the classification page draws
    (the unsafe confusion beside κ and F1 per harm field) for the pairs' videos."""
    labels = [
        UNSAFE_LABEL if f.field == "harmful" else HARM_BY_KEY[f.field].label_en
        for f in source.harms
    ]
    unsafe = source.harms[0]
    return PairwiseSourceView(
        source=source.source,
        pairs=source.pairs,
        preferences=[(PREFERENCE_LABELS[f.field], f) for f in source.preferences],
        videos=source.videos,
        harms=list(zip(labels, source.harms, strict=True)),
        unsafe=unsafe,
        svg=_source_charts().source_svg(source.source, source.harms, labels)
        if unsafe.items
        else "",
    )


def _source_charts():
    """The classification page's source chart, imported on first use (see `_charts`)."""
    from annotation_server.quality import classification_charts

    return classification_charts


def _charts():
    """The chart module, imported on first use: matplotlib takes ~0.4 s and tens of MB to
    import, and every web worker loads this module with the URLconf on its first request,
    including workers that only ever serve the annotation API."""
    from annotation_server.quality import charts

    return charts


def _comparison_view(comparison: stats.GeneratorComparison) -> dict:
    matrix = []
    for row in comparison.models:
        cells = []
        for column in comparison.models:
            wins, games = comparison.win_rates.get((row, column), (0, 0))
            cells.append(
                None if row == column else WinCell(wins / games if games else None, wins, games)
            )
        matrix.append((row, cells))
    return {
        "question": comparison.question,
        "models": comparison.models,
        "matrix": matrix,
        "scores": comparison.scores,
    }
