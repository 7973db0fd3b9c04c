"""The dashboard's per-batch figures (annotator table, agreement, generator comparison, our
majority against each external source; for a classification batch those of
`classification_figures.py`), kept in a `BatchFigures` row and
refreshed by a Celery task when the batch's answers change.

A page reads the batch's answer version (one aggregate query) and the stored row: equal
versions show the row as it is; a different version shows the row, says how many answers
arrived since, and asks the `default` queue for a refresh (at most once a minute per batch);
no row yet computes the figures in the request (fast enough: docs/benchmarks.md) and stores
them. Flags are applied when a page is drawn, so a change of threshold shows at once.
External answers are not part of the version: they arrive with the batch (its import, or the
round it was made from), before any figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotation_server.batches.models import Batch
from annotation_server.core.jobs.publish import task_publish
from annotation_server.quality import (
    classification_figures,
    classification_selectors,
    pairwise_selectors,
    pairwise_sources,
    selectors,
    stats,
)
from annotation_server.quality.columns import AnswerColumns
from annotation_server.quality.metrics import BTScore
from annotation_server.quality.models import BatchFigures
from annotation_server.quality.selectors import AnswerVersion

logger = logging.getLogger(__name__)

REFRESH_TASK = "annotation_server.quality.tasks.batch_figures_refresh_task"
# A page asks again when a requested refresh has not arrived by then (worker down, message
# lost); until then, further pages only show that one is on its way.
REFRESH_RETRY = dt.timedelta(seconds=60)
# Stored figures of another layout are recomputed, not misread (2: pairwise figures hold the
# external sources).
FORMAT = 2
STORED_FIELDS = (
    "annotations",
    "last_annotation_id",
    "rejected",
    "data",
    "computed_at",
    "refresh_requested_at",
)


@dataclass
class Figures:
    annotators: list[stats.AnnotatorStats]
    agreement: list[stats.AgreementRow]
    comparisons: list[stats.GeneratorComparison]
    computed_at: dt.datetime
    version: AnswerVersion  # the answers the figures describe
    current: AnswerVersion  # the batch's answers now
    refreshing: bool = False
    # A classification batch's agreement and external comparison (its `agreement` and
    # `comparisons` above stay empty).
    classification: classification_figures.ClassificationFigures | None = None
    # A pairwise batch's majority against each external source.
    sources: list[pairwise_sources.PairwiseSource] = dataclasses.field(default_factory=list)

    @property
    def fresh(self) -> bool:
        return self.version == self.current

    @property
    def new_answers(self) -> int:
        return max(self.current.annotations - self.version.annotations, 0)

    @property
    def new_rejections(self) -> int:
        return max(self.current.rejected - self.version.rejected, 0)


def figures_data(
    answers: AnswerColumns,
    *,
    bootstrap_samples: int,
    external: pairwise_sources.PairwiseExternal | None = None,
) -> dict:
    """The figures of a batch's answers as JSON-ready data (flags left to the page);
    `external`: the answers that came with its pairs, compared with our majority."""
    sources = (
        pairwise_sources.pairwise_comparisons(answers, external) if external is not None else []
    )
    annotators = stats.annotator_table(answers, stats.Thresholds())
    comparisons = stats.generator_comparisons(answers, bootstrap_samples=bootstrap_samples)
    return {
        "format": FORMAT,
        "annotators": [
            {
                **dataclasses.asdict(a),
                "flags": [],
                "last_active": a.last_active.isoformat() if a.last_active else None,
            }
            for a in annotators
        ],
        "agreement": [dataclasses.asdict(row) for row in stats.agreement_table(answers)],
        "comparisons": [
            {
                "question": c.question,
                "models": c.models,
                "win_rates": [[a, b, wins, games] for (a, b), (wins, games) in c.win_rates.items()],
                "scores": [dataclasses.asdict(s) for s in c.scores],
            }
            for c in comparisons
        ],
        "sources": pairwise_sources.sources_data(sources),
    }


def _annotators(data: dict, thresholds: stats.Thresholds) -> list[stats.AnnotatorStats]:
    table = []
    for fields in data["annotators"]:
        last = fields["last_active"]
        line = stats.AnnotatorStats(
            **{**fields, "last_active": dt.datetime.fromisoformat(last) if last else None}
        )
        line.flags = stats.annotator_flags(line, thresholds)
        table.append(line)
    return sorted(table, key=lambda s: (not s.flags, -s.done, s.annotator_id))


def _figures(row: BatchFigures, current: AnswerVersion, thresholds: stats.Thresholds) -> Figures:
    data = row.data
    if data.get("kind") == classification_figures.KIND:
        annotators, figures = classification_figures.figures_from_data(data, thresholds)
        return Figures(
            annotators=annotators,
            agreement=[],
            comparisons=[],
            classification=figures,
            computed_at=row.computed_at,
            version=_row_version(row),
            current=current,
            refreshing=row.refresh_requested_at is not None,
        )
    return Figures(
        annotators=_annotators(data, thresholds),
        agreement=[stats.AgreementRow(**fields) for fields in data["agreement"]],
        comparisons=[
            stats.GeneratorComparison(
                question=c["question"],
                models=c["models"],
                win_rates={(a, b): (wins, games) for a, b, wins, games in c["win_rates"]},
                scores=[BTScore(**s) for s in c["scores"]],
            )
            for c in data["comparisons"]
        ],
        sources=pairwise_sources.sources_from_data(data["sources"]),
        computed_at=row.computed_at,
        version=_row_version(row),
        current=current,
        refreshing=row.refresh_requested_at is not None,
    )


def _layout(data: dict) -> tuple[int | None, str]:
    """The stored figures' format and the batch kind they were computed for (a batch's kind
    is fixed, but figures stored before classification figures existed are pairwise ones)."""
    return data.get("format"), data.get("kind", Batch.Kind.PAIRWISE)


def _row_version(row: BatchFigures) -> AnswerVersion:
    return AnswerVersion(row.annotations, row.last_annotation_id, row.rejected)


def batch_figures_refresh(*, batch_id: int) -> BatchFigures | None:
    """Compute the batch's figures from its answers now and store them (None: no such batch)."""
    batch = Batch.objects.filter(pk=batch_id).first()
    return _compute_and_store(batch) if batch is not None else None


def _compute_and_store(batch: Batch) -> BatchFigures:
    if batch.kind == Batch.Kind.CLASSIFICATION:
        keys = classification_selectors.batch_category_keys(batch=batch)
        answers = classification_selectors.batch_label_answers(batch=batch, keys=keys)
        external = classification_selectors.batch_external_labels(batch=batch, keys=keys)
        data = {"format": FORMAT, **classification_figures.figures_data(answers, external)}
    else:
        answers = selectors.batch_answers(batch=batch)
        data = figures_data(
            answers,
            bootstrap_samples=settings.QUALITY_BT_BOOTSTRAP_SAMPLES,
            external=pairwise_selectors.batch_external_answers(batch=batch),
        )
    row = BatchFigures(
        batch=batch,
        # The version of exactly the answers computed from, so it never claims newer ones.
        annotations=len(answers),
        last_annotation_id=int(answers.annotation_id.max()) if len(answers) else None,
        rejected=int(answers.rejected.sum()),
        data=data,
        computed_at=timezone.now(),
        refresh_requested_at=None,
    )
    # One upsert: two pages storing a batch's first figures at once both succeed.
    BatchFigures.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["batch"],
        update_fields=list(STORED_FIELDS),
    )
    return row


def batch_figures_request_refresh(*, batch: Batch, force: bool = False) -> bool:
    """Ask the worker to recompute the batch's figures, unless a request is already on its
    way (`force`: ask anyway). True when a task was queued."""
    now = timezone.now()
    waiting = BatchFigures.objects.filter(batch=batch)
    if not force:
        waiting = waiting.filter(
            Q(refresh_requested_at__isnull=True) | Q(refresh_requested_at__lt=now - REFRESH_RETRY)
        )
    if not waiting.update(refresh_requested_at=now):
        return False
    transaction.on_commit(partial(_publish, batch.pk))
    return True


def _publish(batch_id: int) -> None:
    error = task_publish(REFRESH_TASK, [batch_id])
    if error is not None:
        # The next page after REFRESH_RETRY asks again; until then the figures stay as they are.
        logger.warning("batch %s: figures refresh not queued: %s", batch_id, error)


def batch_figures_current(*, batch: Batch) -> Figures:
    """The figures to show on the batch's page, and how fresh they are (see the module)."""
    thresholds = selectors.quality_thresholds()
    current = selectors.annotation_version(batch=batch)
    row = BatchFigures.objects.filter(batch=batch).first()
    if row is None or _layout(row.data) != (FORMAT, batch.kind):
        row = _compute_and_store(batch)
        return _figures(row, _row_version(row), thresholds)
    if _row_version(row) != current and batch_figures_request_refresh(batch=batch):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            row.refresh_from_db()  # the task ran inline: show what it computed
        else:
            row.refresh_requested_at = timezone.now()
    return _figures(row, current, thresholds)
