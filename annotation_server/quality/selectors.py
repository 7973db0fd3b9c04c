"""Reads for the dashboard: progress, throughput, annotation rows, reviews, audit events.

Each function runs a fixed number of aggregate queries, whatever the number of batches,
pairs or annotators (no N+1).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, TruncHour
from django.utils import timezone

from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment, PairReport
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Video
from annotation_server.core.models import AuditEvent
from annotation_server.quality.columns import (
    QUESTIONS,
    AnswerColumns,
    Judgements,
    answer_columns,
    harm_bits,
)
from annotation_server.quality.models import AnnotatorReview
from annotation_server.quality.stats import CHOICE_FIELDS, Thresholds


@dataclass
class Progress:
    batch: Batch
    pairs: int = 0
    needed: int = 0  # regular active pairs × overlap, less their credits
    done: int = 0  # submitted judgements counted towards `needed` (capped at K per pair)
    complete_pairs: int = 0
    annotations: int = 0
    gold_annotations: int = 0
    open_assignments: int = 0
    expired_assignments: int = 0
    reports: int = 0
    annotators: int = 0
    last_day: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.needed if self.needed else 0.0

    @property
    def remaining(self) -> int:
        return max(self.needed - self.done, 0)


class AnswerVersion(NamedTuple):
    annotations: int
    last_annotation_id: int | None
    rejected: int


def _by_batch(qs, **aggregates) -> dict[int, dict]:
    return {row.pop("batch_id"): row for row in qs.values("batch_id").annotate(**aggregates)}


def _pair_progress(ids: list[int]) -> dict[int, dict]:
    """Per batch: regular active pairs, judgements needed (K per pair less its credit,
    batches/credits.py), done (kept annotations, at most what the pair needs) and pairs with
    all they need.

    Counted from the annotations (grouped once per pair, then joined): no counter on the pair
    row, which every submit would have to update. Plain SQL that PostgreSQL and SQLite both
    run (the ORM cannot aggregate per batch over a per-pair aggregate).
    """
    if not ids:
        return {}
    marks = ", ".join(["%s"] * len(ids))
    pair, batch = Pair._meta.db_table, Batch._meta.db_table
    annotation = Annotation._meta.db_table
    query = f"""
        SELECT batch_id, COUNT(*), SUM(w),
               SUM(CASE WHEN n < w THEN n ELSE w END),
               SUM(CASE WHEN n >= w THEN 1 ELSE 0 END)
        FROM (SELECT p.batch_id, COALESCE(a.n, 0) AS n,
                     CASE WHEN p.credited >= b.overlap THEN 0
                          ELSE b.overlap - p.credited END AS w
              FROM {pair} p
              JOIN {batch} b ON b.id = p.batch_id
              LEFT JOIN (SELECT pair_id, COUNT(*) AS n FROM {annotation}
                         WHERE batch_id IN ({marks}) AND NOT rejected GROUP BY pair_id) a
                     ON a.pair_id = p.id
              WHERE p.batch_id IN ({marks}) AND p.active AND NOT p.is_gold) per_pair
        GROUP BY batch_id"""
    with connection.cursor() as cursor:
        cursor.execute(query, [*ids, *ids])
        return {
            # PostgreSQL sums bigints as numeric (Decimal): back to int.
            batch_id: {
                "pairs": pairs,
                "needed": int(needed),
                "done": int(done),
                "complete_pairs": int(complete),
            }
            for batch_id, pairs, needed, done, complete in cursor.fetchall()
        }


def batch_progress_list(*, batches: list[Batch] | None = None) -> list[Progress]:
    """Progress of the given batches (default: all but archived), highest priority first."""
    if batches is None:
        batches = list(
            Batch.objects.exclude(status=Batch.Status.ARCHIVED)
            .select_related("taxonomy")
            .order_by("-priority", "name")
        )
    ids = [b.pk for b in batches]
    now = timezone.now()
    pairs = _pair_progress(ids)
    open_ = Assignment.Status.OPEN
    assignments = _by_batch(
        Assignment.objects.filter(batch_id__in=ids),
        open_assignments=Count("id", filter=Q(status=open_, expires_at__gt=now)),
        expired_assignments=Count(
            "id", filter=Q(status=Assignment.Status.EXPIRED) | Q(status=open_, expires_at__lte=now)
        ),
    )
    annotations = _by_batch(
        Annotation.objects.filter(batch_id__in=ids, rejected=False),
        annotations=Count("id"),
        gold_annotations=Count("id", filter=Q(is_gold=True)),
        annotators=Count("annotator_id", distinct=True),
        last_day=Count("id", filter=Q(created_at__gte=now - dt.timedelta(days=1))),
    )
    reports = {
        row["pair__batch_id"]: row["n"]
        for row in PairReport.objects.filter(pair__batch_id__in=ids, kind="report", resolved=False)
        .values("pair__batch_id")
        .annotate(n=Count("id"))
    }
    result = []
    for batch in batches:
        progress = Progress(batch=batch, reports=reports.get(batch.pk, 0))
        for source in (pairs, assignments, annotations):
            for key, value in source.get(batch.pk, {}).items():
                setattr(progress, key, value or 0)
        result.append(progress)
    return result


TRANSCODING_STATUSES = (Batch.Status.DRAFT, Batch.Status.PROCESSING, Batch.Status.READY)


def batch_video_status(*, batches: list[Batch]) -> dict[int, dict[str, int]]:
    """Video counts by transcoding status for batches not yet published, in two queries.

    Published batches are skipped: their videos are done, and counting them would scan
    every pair of large batches on each page load.
    """
    ids = [b.pk for b in batches if b.status in TRANSCODING_STATUSES]
    if not ids:
        return {}
    per_batch: dict[int, set[int]] = {pk: set() for pk in ids}
    for batch_id, v0, v1 in Pair.objects.filter(batch_id__in=ids).values_list(
        "batch_id", "video_0_id", "video_1_id"
    ):
        per_batch[batch_id].update((v0, v1))
    status = dict(
        Video.objects.filter(pk__in=set().union(*per_batch.values())).values_list("pk", "status")
    )
    return {
        batch_id: {
            "total": len(videos),
            **{s: sum(1 for v in videos if status.get(v) == s) for s in Video.Status.values},
        }
        for batch_id, videos in per_batch.items()
    }


def throughput_hourly(
    *, batch: Batch | None = None, since: dt.datetime
) -> list[tuple[dt.datetime, int]]:
    """Submitted (non-rejected) annotations per hour since `since`, oldest first."""
    qs = Annotation.objects.filter(created_at__gte=since, rejected=False)
    if batch is not None:
        qs = qs.filter(batch=batch)
    rows = (
        qs.annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by("hour")
    )
    return [(row["hour"], row["n"]) for row in rows]


def annotation_version(*, batch: Batch) -> AnswerVersion:
    """What the batch's figures depend on, in one aggregate query: how many annotations, the
    newest one, how many are rejected (rejecting changes no count and adds no row)."""
    found = Annotation.objects.filter(batch=batch).aggregate(
        annotations=Count("id"),
        last_annotation_id=Max("id"),
        rejected=Count("id", filter=Q(rejected=True)),
    )
    return AnswerVersion(**found)


def _choice_bits():
    """Bit i set when choice field i (CHOICE_FIELDS order) is "video_1"."""
    bits = [
        Case(When(**{name: "video_1"}, then=Value(1 << i)), default=Value(0))
        for i, (name, _) in enumerate(CHOICE_FIELDS)
    ]
    return functools.reduce(operator.add, bits)


def batch_answers(*, batch: Batch) -> AnswerColumns:
    """Every annotation of the batch (rejected ones included) as numpy columns, in three
    queries: the answers (integers, and the harm lists as JSON text), each annotator's
    latest answer, and the judgements between generator models counted per model pair.

    Read through a plain cursor: Django's per-row conversion would cost more than the query
    at SafeSora size (150k answers).
    """
    harm_text = {}  # the few distinct harm lists, decoded once each

    def harm_code(text: str | None) -> int:
        if text not in harm_text:
            harm_text[text] = harm_bits(json.loads(text)) if text else 0
        return harm_text[text]

    qs = Annotation.objects.filter(batch=batch).values_list(
        "id",
        "annotator_id",
        "pair_id",
        ExpressionWrapper(_choice_bits(), output_field=IntegerField()),
        "left_is_video_0",
        "is_gold",
        "rejected",
        "gold_score",
        "server_duration_ms",
        Cast("video_0_harms", TextField()),
        Cast("video_1_harms", TextField()),
    )
    rows = query_rows(qs)
    columns = list(zip(*rows, strict=True)) if rows else [()] * 11
    last_active = annotator_last_active(batch)
    return answer_columns(
        annotation_id=columns[0],
        annotator_id=columns[1],
        pair_id=columns[2],
        choice_bits=columns[3],
        left_is_video_0=columns[4],
        is_gold=columns[5],
        rejected=columns[6],
        gold_score=columns[7],
        server_duration_ms=columns[8],
        video_0_harm_bits=[harm_code(t) for t in columns[9]],
        video_1_harm_bits=[harm_code(t) for t in columns[10]],
        fields=len(CHOICE_FIELDS),
        last_active=last_active,
        judgements=model_judgements(batch=batch),
    )


def model_judgements(*, batch: Batch) -> Judgements:
    """Per overall question, (winner model, loser model) → judgements, counted by the
    database over the batch's kept regular annotations of two different models."""
    counted = (
        Annotation.objects.filter(batch=batch, is_gold=False, rejected=False)
        .exclude(pair__video_0__generated_from=F("pair__video_1__generated_from"))
        .values_list(
            "pair__video_0__generated_from",
            "pair__video_1__generated_from",
            *QUESTIONS,
        )
        .annotate(n=Count("id"))
        .order_by()
    )
    result: Judgements = {q: {} for q in QUESTIONS}
    for model_0, model_1, *choices, n in counted:
        for question, choice in zip(QUESTIONS, choices, strict=True):
            key = (model_0, model_1) if choice == "video_0" else (model_1, model_0)
            result[question][key] = result[question].get(key, 0) + n
    return result


def usernames(*, user_ids) -> dict[int, str]:
    return dict(get_user_model().objects.filter(pk__in=set(user_ids)).values_list("pk", "username"))


def review_map(*, batch: Batch) -> dict[int, AnnotatorReview]:
    return {
        r.annotator_id: r for r in AnnotatorReview.objects.filter(batch=batch).select_related("by")
    }


def audit_event_list(*, batch: Batch | None = None, limit: int = 50) -> list[AuditEvent]:
    qs = AuditEvent.objects.select_related("actor", "batch")
    if batch is not None:
        qs = qs.filter(batch=batch)
    return list(qs.order_by("-at", "-id")[:limit])


def quality_thresholds() -> Thresholds:
    """Flag thresholds from settings (QUALITY_FLAG_*)."""
    return Thresholds(
        min_gold_accuracy=settings.QUALITY_FLAG_MIN_GOLD_ACCURACY,
        min_gold_answers=settings.QUALITY_FLAG_MIN_GOLD_ANSWERS,
        min_agreement=settings.QUALITY_FLAG_MIN_AGREEMENT,
        min_agreement_comparisons=settings.QUALITY_FLAG_MIN_COMPARISONS,
        max_side_share=settings.QUALITY_FLAG_MAX_SIDE_SHARE,
        min_side_answers=settings.QUALITY_FLAG_MIN_SIDE_ANSWERS,
    )


def annotation_for_review(*, annotation_id: int) -> Annotation | None:
    """One annotation with its pair, prompt, videos and annotator, for the reviewer page."""
    return (
        Annotation.objects.select_related(
            "pair__prompt", "pair__video_0", "pair__video_1", "annotator", "batch", "assignment"
        )
        .filter(pk=annotation_id)
        .first()
    )


def annotator_last_active(batch: Batch) -> dict[int, Any]:
    """Annotator id → when they last answered in the batch (any answer, rejected included)."""
    return dict(
        Annotation.objects.filter(batch=batch)
        .values("annotator_id")
        .annotate(last=Max("created_at"))
        .values_list("annotator_id", "last")
    )


def query_rows(qs) -> list[tuple]:
    """The rows of a `values_list` queryset through a plain cursor: at VHD11K size Django's
    per-row conversion costs more than the query (the dashboards' column reads)."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
