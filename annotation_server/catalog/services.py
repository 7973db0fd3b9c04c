"""Transcoding one video: the video pipeline's state changes (queueing.py hands videos to it).

Video.status: pending → processing → ready | failed(reason). The heavy work (ffprobe, ffmpeg)
runs outside any transaction; only the short claim and the final write hold row locks. The
final write sends `signals.video_finished` in its transaction, for batches to react.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from annotation_server.catalog import frames, staging, transcoding
from annotation_server.catalog.models import Video
from annotation_server.catalog.signals import video_finished

logger = logging.getLogger(__name__)

RENDITION_DIR = "videos/renditions"
_UNFINISHED = (Video.Status.PENDING, Video.Status.PROCESSING)
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


def video_claim_for_processing(video_pk: int) -> Video | None:
    """Mark the video processing (its attempts counted); None when there is nothing to do.
    The first step of the video and the image task alike.

    A pending or interrupted item with attempts left is claimed by one conditional UPDATE in
    autocommit: it takes no other row and needs no transaction of its own, and it is what
    nearly every call finds (the image task runs once per image of a 10,000-image import).
    Whatever that UPDATE leaves (gone, failed, ready, attempts used up) is decided under the
    row's lock.
    """
    now = timezone.now()
    claim = {"status": Video.Status.PROCESSING, "status_changed_at": now, "updated_at": now,
             "attempts": F("attempts") + 1}  # fmt: skip
    if (
        Video.objects.filter(pk=video_pk, status__in=_UNFINISHED)
        .filter(attempts__lt=settings.VIDEO_TRANSCODE_MAX_ATTEMPTS)
        .update(**claim)
    ):
        return Video.objects.get(pk=video_pk)
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
        # Ready with a file missing: made again.
        Video.objects.filter(pk=video.pk).update(**claim)
        video.refresh_from_db()
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


def _make_outputs(
    video: Video, rendition: str, poster: str, stills: Path
) -> transcoding.TranscodeResult:
    """The pipeline on local paths, or staged through temp files when storage has none; the
    default frame set's stills go to the local folder `stills`."""
    frame_options = {"frames_dir": stills, "frame_count": frames.DEFAULT_COUNT}
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
                **frame_options,
            )
    return transcoding.transcode(
        source=paths[0],
        rendition=paths[1],
        poster=paths[2],
        limits=_limits(),
        options=_options(),
        **frame_options,
    )


def _store_stills(video_pk: int, result: transcoding.TranscodeResult) -> None:
    """The stills made with the rendition become the video's default frame set."""
    if result.frames:
        made = [(at, path.read_bytes()) for at, path in result.frames]
        frames.frame_set_store(video_pk=video_pk, selection=frames.DEFAULT_SELECTION, frames=made)


def video_transcode(*, video_pk: int) -> str | None:
    """Validate a video's source and make its H.264 rendition and poster (and, from the
    same decode, the default frame set machine annotators read: catalog.frames).

    Idempotent: a ready video with both files returns at once, and only missing files are
    produced. A bad file ends `failed` with a reason a person understands and its pairs are
    taken out of distribution. Raises transcoding.TranscodeTransient for machine trouble
    (full disk, no memory) so the task can retry. Returns the status it ended in, or None
    when the row is gone or there was nothing to do.
    """
    video = video_claim_for_processing(video_pk)
    if video is None:
        return None
    rendition, poster = rendition_name(video), poster_name(video)
    try:
        with tempfile.TemporaryDirectory(prefix="stills-") as stills:
            result = _make_outputs(video, rendition, poster, Path(stills))
            _store_stills(video.pk, result)
    except SuspiciousFileOperation:
        with transaction.atomic():
            _finish_failed(video.pk, "the stored source file name points outside MEDIA_ROOT")
        return Video.Status.FAILED
    except transcoding.TranscodeRejected as exc:
        logger.info("video %s failed: %s", video.video_id, exc.reason)
        with transaction.atomic():
            _finish_failed(video.pk, exc.reason)
        return Video.Status.FAILED
    with transaction.atomic():
        video_finish_ready(video.pk, result, rendition, poster)
    logger.info("video %s ready (%s)", video.video_id, rendition)
    return Video.Status.READY


def video_finish_ready(
    video_pk: int, result: transcoding.TranscodeResult, rendition: str, poster: str
) -> None:
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
    video_finished.send(sender=Video, video_pk=video_pk, status=Video.Status.READY)


def _finish_failed(video_pk: int, reason: str) -> None:
    """Fail the video; the layers above take what it was part of out of distribution."""
    Video.objects.filter(pk=video_pk).update(
        status=Video.Status.FAILED,
        failure_reason=reason[:_REASON_MAX] or "unknown error",
        status_changed_at=timezone.now(),
        updated_at=timezone.now(),
    )
    video_finished.send(sender=Video, video_pk=video_pk, status=Video.Status.FAILED)


def video_mark_failed(*, video_pk: int, reason: str) -> None:
    """Fail a video for a reason found outside the pipeline (time limit, retries used up)."""
    with transaction.atomic():
        if Video.objects.filter(pk=video_pk).exclude(status=Video.Status.READY).exists():
            _finish_failed(video_pk, reason)
