"""Handing videos to the transcoding queue, and finding the ones that wait for ever.

Every video handed to the broker gets `queued_at`; a video the broker did not take keeps it
empty and stays pending, and the periodic sweep (`videos_reset_stale`) queues it later. The
task is sent by name (core.jobs.publish), so this module never imports catalog/tasks.py,
which imports the transcoding service.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from annotation_server.catalog.models import Video
from annotation_server.catalog.signals import videos_swept
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.jobs.publish import task_publish

logger = logging.getLogger(__name__)

TRANSCODE_TASK = "annotation_server.catalog.tasks.video_transcode_task"

# A pending video without a broker message is queued by the sweep only after this long, so a
# publish still under way (a large import marks its videos in chunks) is never doubled.
UNQUEUED_GRACE_S = 120

# Published pks are marked in chunks as they go, so the sweep's grace period only has to cover
# one chunk's publishing, not a whole import's. Also the size of every `pk IN (…)` list here.
_PUBLISH_CHUNK = 500


def _chunks(pks: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(pks), _PUBLISH_CHUNK):
        yield pks[start : start + _PUBLISH_CHUNK]


def videos_enqueue_transcode(video_pks: Iterable[int]) -> int:
    """Queue the transcoding task for each video, after the current transaction commits.

    Returns how many were scheduled. Outside a transaction they are queued at once.
    """
    pks = list(video_pks)
    if pks:
        transaction.on_commit(partial(_publish_transcodes, pks))
    return len(pks)


def _publish_transcodes(pks: list[int]) -> int:
    """Hand one transcode message per video to the broker and mark the ones it took.

    Stops at the first failure: the broker is down (kombu already retried), and every further
    video would only wait through the same retries. Returns how many were published.
    """
    # The limits travel in the message, so the sender's settings are the ones that count.
    limits = {
        "soft_time_limit": settings.VIDEO_TRANSCODE_SOFT_TIME_LIMIT,
        "time_limit": settings.VIDEO_TRANSCODE_TIME_LIMIT,
    }
    published = 0
    chunk: list[int] = []
    try:
        for pk in pks:
            error = task_publish(TRANSCODE_TASK, (pk,), **limits)
            if error is not None:
                logger.warning(
                    "the transcoding queue is unreachable (%s): %d of %d video(s) wait as "
                    "pending; the periodic video sweep queues them once the broker is back",
                    error,
                    len(pks) - published - len(chunk),
                    len(pks),
                )
                break
            chunk.append(pk)
            if len(chunk) >= _PUBLISH_CHUNK:
                published += _mark_queued(chunk)
                chunk = []
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
    waiting = Video.objects.filter(status=Video.Status.PENDING, queued_at__isnull=True)
    return sum(waiting.filter(pk__in=chunk).count() for chunk in _chunks(list(video_pks)))


def videos_retry(*, video_pks: Iterable[int]) -> int:
    """Send failed videos back through the pipeline; returns how many were re-queued."""
    with transaction.atomic():
        pks = []
        for chunk in _chunks(list(video_pks)):
            failed = Video.objects.select_for_update().filter(
                pk__in=chunk, status=Video.Status.FAILED
            )
            pks += failed.values_list("pk", flat=True)
        if not pks:
            raise ApplicationError(
                "None of the selected videos has failed; only failed videos can be retried."
            )
        for chunk in _chunks(pks):
            Video.objects.filter(pk__in=chunk).update(
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
    twice. Then sends `signals.videos_swept` (batches whose videos are all done move on).
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
        for chunk in _chunks(pks):
            Video.objects.filter(pk__in=chunk).update(
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
    videos_swept.send(sender=Video)
    return pks + never_queued
