"""Celery tasks of the video pipeline; all routed to the `transcoding` queue by settings."""

from __future__ import annotations

import logging
import random

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from annotation_server.catalog import queueing, services
from annotation_server.catalog.transcoding import TranscodeTransient

logger = logging.getLogger(__name__)

# Machine trouble that may pass (database restarting, disk full, out of memory). A bad file
# never raises these: it fails the video at once instead of being retried.
TRANSIENT_ERRORS = (TranscodeTransient, OperationalError, InterfaceError)
MAX_RETRIES = 4


def retry_delay_s(retries: int) -> float:
    """Exponential backoff with jitter: about 10 s, 20 s, 40 s, 80 s, capped at 10 minutes."""
    return min(600.0, 10.0 * 2**retries) * random.uniform(0.8, 1.2)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.VIDEO_TRANSCODE_SOFT_TIME_LIMIT,
    time_limit=settings.VIDEO_TRANSCODE_TIME_LIMIT,
    max_retries=MAX_RETRIES,
)
def video_transcode_task(self, video_pk: int) -> str | None:
    """Probe, check and transcode one video; returns its final status."""
    try:
        video = services.video_transcode(video_pk=video_pk)
    except SoftTimeLimitExceeded:
        limit = (self.request.timelimit or (None, None))[1] or self.soft_time_limit
        services.video_mark_failed(
            video_pk=video_pk, reason=f"transcoding took longer than the {limit:g} s time limit"
        )
        return "failed"
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= MAX_RETRIES:
            services.video_mark_failed(
                video_pk=video_pk,
                reason=f"a temporary problem persisted after {MAX_RETRIES + 1} tries: {exc}",
            )
            return "failed"
        logger.warning("video %s: transient error, retrying: %s", video_pk, exc)
        raise self.retry(exc=exc, countdown=retry_delay_s(self.request.retries)) from exc
    return video.status if video else None


@shared_task(acks_late=True)
def video_reset_stale_task() -> int:
    """Periodic sweep (beat): re-queue videos whose worker died while processing them, and
    queue pending videos whose message never reached the broker."""
    return len(queueing.videos_reset_stale())
