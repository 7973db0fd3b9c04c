"""Celery tasks of the media pipeline; all routed to the `transcoding` queue by settings.

One task processes a pending media item of either kind, so queueing, retries, the stale sweep
and "retry transcoding" in the admin serve images exactly as they serve videos: a video goes
through ffmpeg (services.video_transcode), an image through Pillow (image_process).
"""

from __future__ import annotations

import logging
import random
import tempfile
from pathlib import Path

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, transaction

from annotation_server.catalog import images, queueing, services, staging, transcoding
from annotation_server.catalog.models import MediaType, Video
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
    """Validate and process one media item (video or image); returns its final status."""
    media_type = None
    try:
        media_type = Video.objects.filter(pk=video_pk).values_list("media_type", flat=True).first()
        process = image_process if media_type == MediaType.IMAGE else services.video_transcode
        status = process(video_pk=video_pk)
    except SoftTimeLimitExceeded:
        limit = (self.request.timelimit or (None, None))[1] or self.soft_time_limit
        work = "processing the image" if media_type == MediaType.IMAGE else "transcoding"
        services.video_mark_failed(
            video_pk=video_pk, reason=f"{work} took longer than the {limit:g} s time limit"
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
    return status


@shared_task(acks_late=True)
def video_reset_stale_task() -> int:
    """Periodic sweep (beat): re-queue videos whose worker died while processing them, and
    queue pending videos whose message never reached the broker."""
    return len(queueing.videos_reset_stale())


IMAGE_DIR = "images/renditions"


def _image_limits() -> images.ImageLimits:
    return images.ImageLimits(
        max_bytes=settings.IMAGE_MAX_INPUT_BYTES, max_pixels=settings.IMAGE_MAX_PIXELS
    )


def _image_options() -> images.ImageOptions:
    return images.ImageOptions(
        rendition_max_size=settings.IMAGE_RENDITION_MAX_SIZE,
        rendition_format=settings.IMAGE_RENDITION_FORMAT,
        quality=settings.IMAGE_RENDITION_QUALITY,
        thumbnail_size=settings.IMAGE_THUMBNAIL_SIZE,
    )


def image_process(*, video_pk: int) -> str | None:
    """Validate an image item's source and make its rendition and thumbnail (its poster).

    The same life as a video's: claimed (attempts counted, so a file that kills the worker
    fails after VIDEO_TRANSCODE_MAX_ATTEMPTS), then ready with rendition, poster, size and
    probe facts (no duration or fps), or failed with a reason a person understands. Raises
    TranscodeTransient for machine trouble so the task retries. Returns the status it ended
    in, or None when the row is gone or there was nothing to do.
    """
    video = services.video_claim_for_processing(video_pk)
    if video is None:
        return None
    folder = f"{IMAGE_DIR}/{video.uid.hex[:2]}"
    try:
        result, rendition, poster = _image_outputs(video, folder)
    except SuspiciousFileOperation:
        reason = "the stored source file name points outside MEDIA_ROOT"
    except transcoding.TranscodeRejected as exc:
        reason = exc.reason
    else:
        with transaction.atomic():
            services.video_finish_ready(video.pk, result, rendition, poster)
        logger.info("image %s ready (%s)", video.video_id, rendition)
        return Video.Status.READY
    logger.info("image %s failed: %s", video.video_id, reason)
    services.video_mark_failed(video_pk=video.pk, reason=reason)
    return Video.Status.FAILED


def _image_outputs(video: Video, folder: str) -> tuple[transcoding.TranscodeResult, str, str]:
    """images.process_image on local paths, or through a temp folder on object storage."""
    stem, limits, options = str(video.uid), _image_limits(), _image_options()
    try:
        source, out_dir = (Path(default_storage.path(n)) for n in (video.source.name, folder))
    except NotImplementedError:  # object storage (S3)
        with staging.storage_trouble(), tempfile.TemporaryDirectory(prefix="image-") as work:
            if not default_storage.exists(video.source.name):
                raise images.ImageRejected("the uploaded file is missing from storage") from None
            # Refuse an oversized file before spending the download on it.
            transcoding.probe.check_size(default_storage.size(video.source.name), limits)
            local = Path(work) / "source"
            staging.download(default_storage, video.source.name, local)
            image = images.process_image(local, Path(work), stem=stem, limits=limits,
                                         options=options)  # fmt: skip
            names = [f"{folder}/{path.name}" for path in (image.rendition, image.thumbnail)]
            for path, name in zip((image.rendition, image.thumbnail), names, strict=True):
                staging.publish(default_storage, path, name)
    else:
        image = images.process_image(source, out_dir, stem=stem, limits=limits, options=options)
        names = [f"{folder}/{path.name}" for path in (image.rendition, image.thumbnail)]
    return _as_transcode_result(image), names[0], names[1]


def _as_transcode_result(image: images.ImageResult) -> transcoding.TranscodeResult:
    """The image's facts in the video pipeline's shape, so both finish through one write."""
    info = transcoding.VideoInfo(
        video_index=0, width=image.width, height=image.height, codec=image.format.lower(),
        duration_s=None, fps=None, rotation=0, audio_index=None, audio_channels=0,
    )  # fmt: skip
    return transcoding.TranscodeResult(
        source=info, probe=image.metadata, rendition_size=image.rendition_size,
        rendition_width=image.rendition_width, rendition_height=image.rendition_height,
        made_rendition=True, made_poster=True,
    )  # fmt: skip
