"""Reads for the export: a fixed number of streaming queries, whatever the number of pairs.

Every stream is a server-side cursor (`iterator(chunk_size=…)`) of plain tuples (no model
instances); pairs and annotations come ordered by the public `pair_id`, so rows of one pair_id
adjoin and can be grouped without holding the stream in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Avg, Max, Q, QuerySet, TextField
from django.db.models.functions import Cast

from annotation_server.annotations.models import Annotation
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video

from .aggregation import ANNOTATION_CHOICE_FIELDS
from .models import Export

CHUNK_SIZE = 5000

_VIDEO_COLUMNS = ("id", "video_id", "video_text", "generated_from", "status", "rendition")
PAIR_COLUMNS: tuple[str, ...] = (
    (
        "pair_id",
        "prompt__id",
        "prompt__prompt_id",
        "prompt__text",
        "prompt__prompt_type",
        "prompt_labels_text",
    )
    + tuple(f"video_0__{c}" for c in _VIDEO_COLUMNS)
    + tuple(f"video_1__{c}" for c in _VIDEO_COLUMNS)
)
VOTE_COLUMNS: tuple[str, ...] = ("pair__pair_id", "annotator_id") + ANNOTATION_CHOICE_FIELDS
# Pass 1 also reads the harm lists, as JSON text (see judgement_rows).
JUDGEMENT_COLUMNS: tuple[str, ...] = VOTE_COLUMNS + (
    "pair__video_0_id",
    "pair__video_1_id",
    "video_0_harms_text",
    "video_1_harms_text",
    "pair__prompt_id",
    "prompt_harms_text",
)
RAW_COLUMNS: tuple[str, ...] = (
    (
        "pair__pair_id",
        "batch__name",
        "pair__prompt__prompt_id",
        "pair__video_0__video_id",
        "pair__video_1__video_id",
        "annotator_id",
        "left_is_video_0",
    )
    + ANNOTATION_CHOICE_FIELDS
    + (
        "video_0_harms",
        "video_1_harms",
        "prompt_harms",
        "stage1_ms",
        "stage2_ms",
        "server_duration_ms",
        "created_at",
    )
)
CLASSIFICATION_RAW_COLUMNS: tuple[str, ...] = (
    "pair__pair_id",
    "batch__name",
    "pair__prompt__prompt_id",
    "pair__video_0__video_id",
    "pair__video_1__video_id",
    "annotator_id",
    "harmful",
    "categories",
    "reason",
    "confidence",
    "taxonomy__name",
    "taxonomy__version",
    "stage1_ms",
    "stage2_ms",
    "server_duration_ms",
    "created_at",
)
VIDEO_COLUMNS: tuple[str, ...] = (
    "prompt__id",
    "prompt__prompt_id",
    "prompt__text",
    "prompt__prompt_type",
    "prompt_labels_text",
) + _VIDEO_COLUMNS
PROMPT_COLUMNS: tuple[str, ...] = ("id", "prompt_id", "text", "prompt_type", "prompt_labels_text")


def batch_list_by_names(names: list[str]) -> list[Batch]:
    return list(Batch.objects.filter(name__in=names).order_by("name"))


def _pairs(batch_ids: list[int] | None) -> QuerySet[Pair]:
    pairs = Pair.objects.filter(is_gold=False)
    return pairs if batch_ids is None else pairs.filter(batch_id__in=batch_ids)


def _annotations(batch_ids: list[int] | None, max_id: int) -> QuerySet[Annotation]:
    # Gold answers measure annotators, they are not data; rejected work is excluded by an
    # admin's decision. `max_id` freezes the set at the start so all passes see the same rows.
    annotations = Annotation.objects.filter(
        id__lte=max_id, is_gold=False, rejected=False, pair__is_gold=False
    )
    if batch_ids is not None:
        annotations = annotations.filter(pair__batch_id__in=batch_ids)
    return annotations


def annotation_max_id() -> int:
    return Annotation.objects.aggregate(m=Max("id"))["m"] or 0


def _labels_text(field: str) -> Cast:
    # Stored HarmLabels as JSON text: thousands of pairs share a few label sets, and the
    # caller decodes each distinct text once instead of once per row.
    return Cast(field, TextField())


def pair_count(batch_ids: list[int] | None) -> int:
    return _pairs(batch_ids).count()


def pair_rows(batch_ids: list[int] | None) -> Iterator[tuple]:
    """PAIR_COLUMNS tuples ordered by pair_id (pairs sharing a pair_id across batches adjoin)."""
    return (
        _pairs(batch_ids)
        .annotate(prompt_labels_text=_labels_text("prompt__prompt_labels"))
        .order_by("pair_id", "id")
        .values_list(*PAIR_COLUMNS)
        .iterator(chunk_size=CHUNK_SIZE)
    )


def judgement_rows(batch_ids: list[int] | None, max_id: int) -> Iterator[tuple]:
    """JUDGEMENT_COLUMNS tuples ordered by pair_id (a pair_id's annotations adjoin, across
    batches too); harm lists as JSON text (None for prompt_harms not asked).

    Text, because Django's JSONField decodes every value through json.loads, three per
    annotation, and nearly all of them are "[]": the caller skips decoding those."""
    return (
        _annotations(batch_ids, max_id)
        .annotate(
            video_0_harms_text=Cast("video_0_harms", TextField()),
            video_1_harms_text=Cast("video_1_harms", TextField()),
            prompt_harms_text=Cast("prompt_harms", TextField()),
        )
        .order_by("pair__pair_id", "pair_id", "id")
        .values_list(*JUDGEMENT_COLUMNS)
        .iterator(chunk_size=CHUNK_SIZE)
    )


def raw_rows(
    batch_ids: list[int] | None, max_id: int, *, columns: tuple[str, ...] = RAW_COLUMNS
) -> Iterator[tuple]:
    return (
        _annotations(batch_ids, max_id)
        .order_by("pair__pair_id", "id")
        .values_list(*columns)
        .iterator(chunk_size=CHUNK_SIZE)
    )


def gold_means(max_id: int) -> dict[int, float]:
    """Mean gold score per annotator over all their (non-rejected) gold annotations."""
    rows = (
        Annotation.objects.filter(
            id__lte=max_id, is_gold=True, rejected=False, gold_score__isnull=False
        )
        .values("annotator_id")
        .annotate(mean=Avg("gold_score"))
        .values_list("annotator_id", "mean")
    )
    return dict(rows)


def video_rows(batch_ids: list[int] | None) -> Iterator[tuple]:
    """VIDEO_COLUMNS of every video in a (non-gold) pair of the batches, by prompt then video."""
    pairs = _pairs(batch_ids)
    videos = Video.objects.filter(
        Q(id__in=pairs.values("video_0_id")) | Q(id__in=pairs.values("video_1_id"))
    )
    return (
        videos.annotate(prompt_labels_text=_labels_text("prompt__prompt_labels"))
        .order_by("prompt__prompt_id", "video_id")
        .values_list(*VIDEO_COLUMNS)
        .iterator(chunk_size=CHUNK_SIZE)
    )


def video_count(batch_ids: list[int] | None) -> int:
    pairs = _pairs(batch_ids)
    return Video.objects.filter(
        Q(id__in=pairs.values("video_0_id")) | Q(id__in=pairs.values("video_1_id"))
    ).count()


def _prompts(batch_ids: list[int] | None) -> QuerySet[Prompt]:
    if batch_ids is None:
        return Prompt.objects.all()
    return Prompt.objects.filter(id__in=_pairs(batch_ids).values("prompt_id"))


def prompt_rows(batch_ids: list[int] | None) -> Iterator[tuple]:
    """PROMPT_COLUMNS of the batches' prompts (every prompt when no batch is named)."""
    return (
        _prompts(batch_ids)
        .annotate(prompt_labels_text=_labels_text("prompt_labels"))
        .order_by("prompt_id")
        .values_list(*PROMPT_COLUMNS)
        .iterator(chunk_size=CHUNK_SIZE)
    )


def prompt_count(batch_ids: list[int] | None) -> int:
    return _prompts(batch_ids).count()


def export_list(*, limit: int = 50) -> list[Export]:
    """Recent export jobs started from the admin (who exported what, and when)."""
    return list(Export.objects.select_related("owner").order_by("-created_at")[:limit])
