"""A batch waits in `processing` until each of its videos is ready or failed; a failed video's
pairs are not handed out. Driven by the catalog's signals (connected in apps.py).

Whether a batch is done is asked by every finishing video, inside the transaction that wrote
its final status. Most of them find another video of the batch still to finish and lock that
row (`select_for_update(skip_locked=True)`, which never waits; it hands out no work, so it
is not a second claim): that video cannot finish before this transaction commits, and its
own finish asks again, so this one may stop there. Only a video
that finds no such row (the last few of a batch, or all others busy in other workers) takes
the batch's row lock and looks at every video of the batch. Finishing videos of one batch so
do not queue behind one lock, and the full look is made a handful of times per batch instead
of once per video. The last video to commit always finds no free unfinished row, so it takes
the lock path, and of two finishing at the same moment the second waits for the first's batch
lock and then sees it finished: no batch is left in "processing" for ever.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Video

_UNFINISHED = (Video.Status.PENDING, Video.Status.PROCESSING)


def _video_pairs(video_pk: int):
    return Pair.objects.filter(Q(video_0_id=video_pk) | Q(video_1_id=video_pk))


def video_finished_received(*, video_pk: int, status: str, **kwargs) -> None:
    """In the transaction that wrote the video's final status, after that write: its pairs
    in or out of distribution, then each of its processing batches moved on if it is done."""
    pairs = list(_video_pairs(video_pk).values_list("pk", "active", "batch_id", "batch__status"))
    if status == Video.Status.READY:
        # A retried video comes back: its pairs return once all of their videos are ready.
        inactive = [pk for pk, active, _, _ in pairs if not active]
        if inactive:
            Pair.objects.filter(pk__in=inactive, video_0__status=Video.Status.READY).filter(
                Q(video_1__isnull=True) | Q(video_1__status=Video.Status.READY)
            ).update(active=True)
    else:
        active = [pk for pk, active, _, _ in pairs if active]
        if active:
            Pair.objects.filter(pk__in=active).update(active=False)
    processing = {batch for _, _, batch, state in pairs if state == Batch.Status.PROCESSING}
    for batch_pk in sorted(processing):
        if not _holds_unfinished(batch_pk, video_pk):
            _refresh_locked([batch_pk])


def _holds_unfinished(batch_pk: int, video_pk: int) -> bool:
    """Lock another unfinished video of the batch that no transaction holds; True if found.

    Locked, it can only finish after this transaction commits, and its finish asks about the
    batch again. Skipped rows are those being finished (or claimed) right now."""
    for side in ("video_0", "video_1"):
        found = (
            Pair.objects.filter(batch_id=batch_pk, **{f"{side}__status__in": _UNFINISHED})
            .exclude(**{f"{side}_id": video_pk})
            .select_related(side)
            .only("id", f"{side}__id")
            .select_for_update(skip_locked=True, of=(side,))[:1]
        )
        if list(found):
            return True
    return False


def videos_swept_received(**kwargs) -> None:
    """After the periodic video sweep: every processing batch whose videos are all done."""
    for batch_pk in Batch.objects.filter(status=Batch.Status.PROCESSING).values_list(
        "pk", flat=True
    ):
        batch_refresh_processing_status(batch_pk=batch_pk)


def _refresh_locked(batch_pks: Iterable[int]) -> None:
    """Under each batch's row lock (held to the end of the transaction): ready when none of
    its videos is pending or processing."""
    for batch_pk in (
        Batch.objects.select_for_update()
        .filter(pk__in=list(batch_pks), status=Batch.Status.PROCESSING)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        _refresh_batches([batch_pk])


def _refresh_batches(batch_pks: Iterable[int]) -> None:
    for batch_pk in batch_pks:
        unfinished = Video.objects.filter(
            Q(pk__in=Pair.objects.filter(batch_id=batch_pk).values("video_0_id"))
            | Q(pk__in=Pair.objects.filter(batch_id=batch_pk).values("video_1_id")),
            status__in=_UNFINISHED,
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
