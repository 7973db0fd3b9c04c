"""Catalog services: the video pipeline's state changes.

Video.status: pending → processing → ready | failed(reason). The heavy work (ffprobe, ffmpeg)
runs outside any transaction; only the short claim and the final write hold row locks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog import staging, transcoding
from annotation_server.catalog.models import Video
from annotation_server.core.exceptions import ApplicationError

logger = logging.getLogger(__name__)

# A pending video without a broker message is queued by the sweep only after this long, so a
# publish still under way (a large import marks its videos in chunks) is never doubled.
UNQUEUED_GRACE_S = 120

RENDITION_DIR = "videos/renditions"
_REASON_MAX = 1000


def rendition_name(video: Video) -> str:
    """Where a video's rendition lives, relative to MEDIA_ROOT; built from uid only."""
    return f"{RENDITION_DIR}/{video.uid.hex[:2]}/{video.uid}.mp4"


def poster_name(video: Video) -> str:
    return f"{RENDITION_DIR}/{video.uid.hex[:2]}/{video.uid}.jpg"


def _limits() -> transcoding.Limits:
    return transcoding.Limits(
        max_bytes=settings.VIDEO_MAX_INPUT_BYTES,
        max_duration_s=settings.VIDEO_MAX_DURATION_S,
        max_width=settings.VIDEO_MAX_WIDTH,
        max_height=settings.VIDEO_MAX_HEIGHT,
    )


def _options() -> transcoding.EncodeOptions:
    return transcoding.EncodeOptions(
        max_size=settings.VIDEO_RENDITION_MAX_SIZE,
        crf=settings.VIDEO_RENDITION_CRF,
        preset=settings.VIDEO_RENDITION_PRESET,
    )


def _files_present(video: Video) -> bool:
    return bool(video.rendition and video.poster) and all(
        default_storage.exists(name) for name in (video.rendition.name, video.poster.name)
    )


def _video_pairs(video_pk: int):
    return Pair.objects.filter(Q(video_0_id=video_pk) | Q(video_1_id=video_pk))


def _lock_processing_batches(video_pk: int) -> list[int]:
    # Lock the batches first, so two videos of one batch finishing at the same moment cannot
    # both see the other as unfinished and leave the batch in "processing" for ever.
    batch_pks = _video_pairs(video_pk).values("batch_id")
    locked = (
        Batch.objects.select_for_update()
        .filter(pk__in=batch_pks, status=Batch.Status.PROCESSING)
        .order_by("pk")
    )
    return list(locked.values_list("pk", flat=True))


def _claim(video_pk: int) -> Video | None:
    """Mark the video processing; None when there is nothing to do."""
    with transaction.atomic():
        video = Video.objects.select_for_update().filter(pk=video_pk).first()
        if video is None or video.status == Video.Status.FAILED:
            return None
        if video.status == Video.Status.READY and _files_present(video):
            return None
        if video.attempts >= settings.VIDEO_TRANSCODE_MAX_ATTEMPTS:
            _finish_failed(
                video.pk,
                f"processing was interrupted {video.attempts} times (a worker crashed or was "
                "stopped while working on it); use “retry transcoding” in the admin",
            )
            return None
        video.status = Video.Status.PROCESSING
        video.status_changed_at = timezone.now()
        video.attempts += 1
        video.save(update_fields=["status", "status_changed_at", "attempts", "updated_at"])
        return video


# pg_advisory_lock key space of this module: (namespace, video pk).
_LOCK_NAMESPACE = 0x56494400  # "VID\0"


@contextmanager
def _video_lock(video_pk: int) -> Iterator[None]:
    """Only one worker, on any machine, works on a video's stored files at a time.

    The local pipeline locks a file beside the rendition; object storage has no such file,
    so a PostgreSQL session lock stands in. The server drops it when the worker's connection
    ends, so a killed worker never blocks the next one.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, video_pk])
        if not cursor.fetchone()[0]:
            raise transcoding.TranscodeTransient(
                "another worker is transcoding this video right now"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, video_pk])


def _make_outputs(video: Video, rendition: str, poster: str) -> transcoding.TranscodeResult:
    """The pipeline on local paths, or staged through temp files when storage has none."""
    try:
        paths = [
            Path(default_storage.path(name)) for name in (video.source.name, rendition, poster)
        ]
    except NotImplementedError:  # object storage (S3)
        with _video_lock(video.pk):
            return staging.transcode_staged(
                storage=default_storage,
                source=video.source.name,
                rendition=rendition,
                poster=poster,
                limits=_limits(),
                options=_options(),
            )
    return transcoding.transcode(
        source=paths[0], rendition=paths[1], poster=paths[2], limits=_limits(), options=_options()
    )


def video_transcode(*, video_pk: int) -> Video | None:
    """Validate a video's source and make its H.264 rendition and poster.

    Idempotent: a ready video with both files returns at once, and only missing files are
    produced. A bad file ends `failed` with a reason a person understands and its pairs are
    taken out of distribution. Raises transcoding.TranscodeTransient for machine trouble
    (full disk, no memory) so the task can retry. Returns the video, or None when the row is
    gone or there was nothing to do.
    """
    video = _claim(video_pk)
    if video is None:
        return None
    rendition, poster = rendition_name(video), poster_name(video)
    try:
        result = _make_outputs(video, rendition, poster)
    except SuspiciousFileOperation:
        with transaction.atomic():
            _finish_failed(video.pk, "the stored source file name points outside MEDIA_ROOT")
        return Video.objects.get(pk=video.pk)
    except transcoding.TranscodeRejected as exc:
        logger.info("video %s failed: %s", video.video_id, exc.reason)
        with transaction.atomic():
            _finish_failed(video.pk, exc.reason)
        return Video.objects.get(pk=video.pk)
    with transaction.atomic():
        _finish_ready(video.pk, result, rendition, poster)
    logger.info("video %s ready (%s)", video.video_id, rendition)
    return Video.objects.get(pk=video.pk)


def _finish_ready(
    video_pk: int, result: transcoding.TranscodeResult, rendition: str, poster: str
) -> None:
    batch_pks = _lock_processing_batches(video_pk)
    source = result.source
    Video.objects.filter(pk=video_pk).update(
        status=Video.Status.READY,
        failure_reason="",
        status_changed_at=timezone.now(),
        updated_at=timezone.now(),
        rendition=rendition,
        poster=poster,
        rendition_size=result.rendition_size,
        probe=result.probe,
        duration_s=source.duration_s,
        fps=source.fps,
        width=source.width,
        height=source.height,
        codec=source.codec[:64],
    )
    # A retried video comes back: its pairs return once both of their videos are ready.
    _video_pairs(video_pk).filter(
        active=False, video_0__status=Video.Status.READY, video_1__status=Video.Status.READY
    ).update(active=True)
    _refresh_batches(batch_pks)


def _finish_failed(video_pk: int, reason: str) -> None:
    """Fail the video, drop its pairs from distribution, let its batches move on."""
    batch_pks = _lock_processing_batches(video_pk)
    Video.objects.filter(pk=video_pk).update(
        status=Video.Status.FAILED,
        failure_reason=reason[:_REASON_MAX] or "unknown error",
        status_changed_at=timezone.now(),
        updated_at=timezone.now(),
    )
    _video_pairs(video_pk).filter(active=True).update(active=False)
    _refresh_batches(batch_pks)


def video_mark_failed(*, video_pk: int, reason: str) -> None:
    """Fail a video for a reason found outside the pipeline (time limit, retries used up)."""
    with transaction.atomic():
        if Video.objects.filter(pk=video_pk).exclude(status=Video.Status.READY).exists():
            _finish_failed(video_pk, reason)


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


def videos_enqueue_transcode(video_pks: Iterable[int]) -> int:
    """Queue the transcoding task for each video, after the current transaction commits.

    Returns how many were scheduled. Outside a transaction they are queued at once. Each video
    handed to the broker gets `queued_at`; when the broker cannot be reached the rest keep it
    empty, stay pending, and the periodic sweep (`videos_reset_stale`) queues them later.
    """
    pks = list(video_pks)
    if pks:
        transaction.on_commit(partial(_publish_transcodes, pks))
    return len(pks)


# Published pks are marked in chunks as they go, so the sweep's grace period only has to cover
# one chunk's publishing, not a whole import's.
_PUBLISH_CHUNK = 500


def _publish_transcodes(pks: list[int]) -> int:
    """Hand one transcode message per video to the broker and mark the ones it took.

    Stops at the first failure: the broker is down (kombu already retried), and every further
    video would only wait through the same retries. Returns how many were published.
    """
    from annotation_server.catalog.tasks import video_transcode_task

    # The limits travel in the message, so the sender's settings are the ones that count.
    limits = {
        "soft_time_limit": settings.VIDEO_TRANSCODE_SOFT_TIME_LIMIT,
        "time_limit": settings.VIDEO_TRANSCODE_TIME_LIMIT,
    }
    published = 0
    chunk: list[int] = []
    try:
        for pk in pks:
            video_transcode_task.apply_async(args=[pk], **limits)
            chunk.append(pk)
            if len(chunk) >= _PUBLISH_CHUNK:
                published += _mark_queued(chunk)
                chunk = []
    # Any failure to publish (refused connection, a full Redis refusing writes, ...) leaves
    # the work recorded and retried later, never a server error after the commit.
    except Exception as exc:  # noqa: BLE001
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise  # no broker at all: the task ran here and its own error is the news
        logger.warning(
            "the transcoding queue is unreachable (%s): %d of %d video(s) wait as pending; "
            "the periodic video sweep queues them once the broker is back",
            exc,
            len(pks) - published - len(chunk),
            len(pks),
        )
    finally:
        published += _mark_queued(chunk)
    return published


def _mark_queued(pks: list[int]) -> int:
    if pks:
        # Whatever the status by now (a fast worker may have finished): a video that goes back
        # to pending for a retry has its message, and the sweep must leave it alone.
        Video.objects.filter(pk__in=pks).update(queued_at=timezone.now())
    return len(pks)


def unqueued_message(count: int) -> str:
    """What to tell whoever imported or retried videos that the broker did not take."""
    return (
        f"{count} video(s) could not be handed to the transcoding queue: the broker "
        "(CELERY_BROKER_URL) is unreachable. They stay pending and lose nothing; the periodic "
        "video sweep queues them within a few minutes of the broker being back."
    )


def videos_waiting_for_queue(*, video_pks: Iterable[int]) -> int:
    """How many of these videos are pending without a message at the broker. Zero while a
    transaction is still open: their messages go out at its commit, nothing is known yet."""
    if connection.in_atomic_block:
        return 0
    return Video.objects.filter(
        pk__in=list(video_pks), status=Video.Status.PENDING, queued_at__isnull=True
    ).count()


def videos_retry(*, video_pks: Iterable[int]) -> int:
    """Send failed videos back through the pipeline; returns how many were re-queued."""
    with transaction.atomic():
        failed = Video.objects.select_for_update().filter(
            pk__in=list(video_pks), status=Video.Status.FAILED
        )
        pks = list(failed.values_list("pk", flat=True))
        if not pks:
            raise ApplicationError(
                "None of the selected videos has failed; only failed videos can be retried."
            )
        Video.objects.filter(pk__in=pks).update(
            status=Video.Status.PENDING,
            failure_reason="",
            attempts=0,
            status_changed_at=timezone.now(),
            updated_at=timezone.now(),
            queued_at=None,
        )
        return videos_enqueue_transcode(pks)


def videos_reset_stale(*, stale_after_s: float | None = None) -> list[int]:
    """Re-queue videos that would otherwise wait forever; returns their pks.

    Two kinds: videos stuck in `processing` (their worker died), put back to pending; and
    pending videos whose message never reached the broker (it was down when they were
    imported or retried), once UNQUEUED_GRACE_S has passed so a publish still under way is not
    doubled. The threshold for the first kind, VIDEO_PROCESSING_STALE_AFTER_S by default, must
    stay above the task's hard time limit so a slow but alive transcode is never started
    twice. Also lets `processing` batches whose videos are all done move to `ready`.
    """
    after = settings.VIDEO_PROCESSING_STALE_AFTER_S if stale_after_s is None else stale_after_s
    now = timezone.now()
    cutoff = now - timedelta(seconds=after)
    unqueued_cutoff = now - timedelta(seconds=UNQUEUED_GRACE_S)
    with transaction.atomic():
        stale = Video.objects.select_for_update(skip_locked=True).filter(
            Q(status_changed_at__lt=cutoff) | Q(status_changed_at__isnull=True),
            status=Video.Status.PROCESSING,
        )
        pks = list(stale.values_list("pk", flat=True))
        Video.objects.filter(pk__in=pks).update(
            status=Video.Status.PENDING,
            status_changed_at=now,
            updated_at=now,
            queued_at=None,
        )
        unqueued = Video.objects.select_for_update(skip_locked=True).filter(
            Q(status_changed_at__lt=unqueued_cutoff)
            | Q(status_changed_at__isnull=True, created_at__lt=unqueued_cutoff),
            status=Video.Status.PENDING,
            queued_at__isnull=True,
        )
        never_queued = list(unqueued.values_list("pk", flat=True))
        videos_enqueue_transcode(pks + never_queued)
    if pks:
        logger.warning("re-queued %d video(s) stuck in processing: %s", len(pks), pks)
    if never_queued:
        logger.warning(
            "queued %d pending video(s) the broker never received: %s",
            len(never_queued),
            never_queued,
        )
    for batch_pk in Batch.objects.filter(status=Batch.Status.PROCESSING).values_list(
        "pk", flat=True
    ):
        batch_refresh_processing_status(batch_pk=batch_pk)
    return pks + never_queued
