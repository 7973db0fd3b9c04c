"""A batch waits in `processing` until each of its videos is ready or failed; a failed video's
pairs are not handed out. Driven by the catalog's signals (connected in apps.py)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Video


def _video_pairs(video_pk: int):
    return Pair.objects.filter(Q(video_0_id=video_pk) | Q(video_1_id=video_pk))


def video_finished_received(*, video_pk: int, status: str, **kwargs) -> None:
    """In the transaction that wrote the video's final status, after that write: lock the
    video's processing batches, then look at their videos. Of two videos of one batch
    finishing at the same moment, the second waits for the first's batch lock, so it sees the
    first finished (a statement after the wait reads what committed meanwhile) and neither
    leaves the batch in "processing" for ever."""
    batch_pks = list(
        Batch.objects.select_for_update()
        .filter(pk__in=_video_pairs(video_pk).values("batch_id"), status=Batch.Status.PROCESSING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if status == Video.Status.READY:
        # A retried video comes back: its pairs return once both of their videos are ready.
        _video_pairs(video_pk).filter(
            active=False, video_0__status=Video.Status.READY, video_1__status=Video.Status.READY
        ).update(active=True)
    else:
        _video_pairs(video_pk).filter(active=True).update(active=False)
    _refresh_batches(batch_pks)


def videos_swept_received(**kwargs) -> None:
    """After the periodic video sweep: every processing batch whose videos are all done."""
    for batch_pk in Batch.objects.filter(status=Batch.Status.PROCESSING).values_list(
        "pk", flat=True
    ):
        batch_refresh_processing_status(batch_pk=batch_pk)


def _refresh_batches(batch_pks: Iterable[int]) -> None:
    for batch_pk in batch_pks:
        unfinished = Video.objects.filter(
            Q(pk__in=Pair.objects.filter(batch_id=batch_pk).values("video_0_id"))
            | Q(pk__in=Pair.objects.filter(batch_id=batch_pk).values("video_1_id")),
            status__in=[Video.Status.PENDING, Video.Status.PROCESSING],
        )
        if not unfinished.exists():
            Batch.objects.filter(pk=batch_pk, status=Batch.Status.PROCESSING).update(
                status=Batch.Status.READY, updated_at=timezone.now()
            )


def batch_refresh_processing_status(*, batch_pk: int) -> str:
    """Move a `processing` batch to `ready` when all its videos are ready or failed.

    Returns the batch's status afterwards. Safe to call at any time and from anywhere.
    """
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch_pk)
        if batch.status == Batch.Status.PROCESSING:
            _refresh_batches([batch.pk])
            batch.refresh_from_db(fields=["status"])
        return batch.status
