"""External answers that count (`Batch.counted_sources`): how many each pair has (the
credits, batches/counted_sources.py) and the answers themselves, as votes beside our
workers' in every export (exports/dataset.py, exports/classification.py).

Each external annotation of a counted source is one vote. Gold pairs never count (they
measure annotators); machine sources never count here (routing is their own path).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db.models import Count, Q

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches.counted_sources import MACHINE_PREFIX
from annotation_server.batches.models import Batch

CHUNK_SIZE = 5000


def batch_answer_counts(batch: Batch, sources: Sequence[str]) -> dict[int, int]:
    """Pair pk → external answers of `sources` on it (non-gold pairs of `batch`)."""
    rows = (
        ExternalAnnotation.objects.filter(
            batch=batch, source__in=list(sources), pair__is_gold=False
        )
        .exclude(source__startswith=MACHINE_PREFIX)
        .values("pair_id")
        .annotate(n=Count("id"))
        .values_list("pair_id", "n")
    )
    return dict(rows)


def batch_external_sources(batch: Batch) -> list[str]:
    """Every source with an external annotation in `batch`."""
    return sorted(
        ExternalAnnotation.objects.filter(batch=batch).values_list("source", flat=True).distinct()
    )


def counted_filter(batch_ids: list[int] | None) -> Q | None:
    """Which external annotations count for the batches (None: none does)."""
    batches = Batch.objects.exclude(counted_sources=[])
    if batch_ids is not None:
        batches = batches.filter(pk__in=batch_ids)
    condition = None
    for pk, sources in batches.values_list("pk", "counted_sources"):
        counted = [s for s in sources if not s.startswith(MACHINE_PREFIX)]
        if counted:
            part = Q(batch_id=pk, source__in=counted)
            condition = part if condition is None else condition | part
    return condition


def counted_rows(batch_ids: list[int] | None, *columns: str) -> Iterator[tuple]:
    """(pk, pair__pair_id, *columns) of the counted external annotations, by pair_id."""
    condition = counted_filter(batch_ids)
    if condition is None:
        return iter(())
    return (
        ExternalAnnotation.objects.filter(condition, pair__is_gold=False)
        .order_by("pair__pair_id", "id")
        .values_list("id", "pair__pair_id", *columns)
        .iterator(chunk_size=CHUNK_SIZE)
    )
