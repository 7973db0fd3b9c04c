"""The pipeline through a real Celery worker on Redis: mixed good/bad batches, a worker killed
mid-transcode, and the sweep that rescues videos stuck in processing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog import queueing
from annotation_server.catalog.models import Video
from tests.catalog.transcode_corpus import decoded_frames, media_root, pending_video  # noqa: F401
from tests.celery_worker import wait_until
from tests.factories import BatchFactory, PairFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _all_done(pks) -> bool:
    return not Video.objects.filter(
        pk__in=pks, status__in=[Video.Status.PENDING, Video.Status.PROCESSING]
    ).exists()


def test_mixed_batch_through_the_queue(celery_worker_factory, media_root):  # noqa: F811
    celery_worker_factory(VIDEO_MAX_INPUT_BYTES=200_000)
    batch = BatchFactory(status=Batch.Status.PROCESSING)
    names = ["vp9_audio.webm", "empty.mp4", "text.mp4", "truncated.mp4", "audio_only.mp4",
             "padded_big.mp4", "animated.gif"]  # fmt: skip
    first = pending_video(media_root, names[0])
    videos = [first] + [pending_video(media_root, n, prompt=first.prompt) for n in names[1:]]
    for index, video in enumerate(videos[1:], start=1):
        PairFactory(batch=batch, prompt=first.prompt, video_0=videos[index - 1], video_1=video)

    assert queueing.videos_enqueue_transcode(v.pk for v in videos) == len(videos)
    wait_until(lambda: _all_done([v.pk for v in videos]), what="the batch's videos")

    outcome = {
        v.video_id: (v.status, v.failure_reason)
        for v in Video.objects.filter(pk__in=[v.pk for v in videos])
    }
    by_name = dict(zip(names, (outcome[v.video_id] for v in videos), strict=True))
    assert by_name["vp9_audio.webm"] == ("ready", "")
    assert by_name["animated.gif"] == ("ready", "")  # queued after five bad files
    assert by_name["empty.mp4"] == ("failed", "file is empty")
    assert by_name["text.mp4"][1].startswith("not a video file")
    assert by_name["truncated.mp4"][1].startswith("decoding error at ")
    assert by_name["audio_only.mp4"] == ("failed", "no video stream (audio only)")
    assert by_name["padded_big.mp4"][1].startswith("larger than the 195.3 KB limit")
    batch.refresh_from_db()
    assert batch.status == Batch.Status.READY
    assert not Pair.objects.filter(batch=batch, active=True).exists()  # each has a bad video
    last = Video.objects.get(pk=videos[-1].pk)
    assert decoded_frames(media_root / last.rendition.name) >= 1


def test_worker_killed_mid_transcode_leaves_the_video_to_be_done_again(
    celery_worker_factory,
    media_root,  # noqa: F811
):
    # A slow preset on a longer 720p clip keeps the first worker busy long enough to kill it.
    slow = celery_worker_factory(VIDEO_RENDITION_PRESET="veryslow", CELERY_VISIBILITY_TIMEOUT=3)
    video = pending_video(media_root, "long_720p.mp4")
    queueing.videos_enqueue_transcode([video.pk])
    wait_until(
        lambda: Video.objects.filter(pk=video.pk, status=Video.Status.PROCESSING).exists(),
        what="the transcode to start",
    )
    partial = media_root / "videos" / "renditions"
    wait_until(lambda: partial.exists() and any(partial.rglob("*.part.mp4")),
               what="ffmpeg to start writing")  # fmt: skip
    slow.kill()
    video.refresh_from_db()
    assert video.status == Video.Status.PROCESSING
    assert not video.rendition

    # The unacknowledged message comes back after the visibility timeout.
    celery_worker_factory(CELERY_VISIBILITY_TIMEOUT=3)
    wait_until(lambda: _all_done([video.pk]), timeout=300, what="the new worker to finish")
    video.refresh_from_db()
    assert video.status == Video.Status.READY, video.failure_reason
    assert video.attempts == 2
    rendition = media_root / video.rendition.name
    assert decoded_frames(rendition) == 8 * 30
    assert not [p for p in rendition.parent.iterdir() if ".part" in p.name]


def test_sweep_requeues_videos_stuck_in_processing(media_root, celery_worker):  # noqa: F811
    video = pending_video(media_root, "landscape.mp4")
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Video.objects.filter(pk=video.pk).update(
        status=Video.Status.PROCESSING, status_changed_at=an_hour_ago, attempts=1
    )
    fresh = pending_video(media_root, "one_frame.mp4")
    Video.objects.filter(pk=fresh.pk).update(
        status=Video.Status.PROCESSING, status_changed_at=timezone.now()
    )

    assert queueing.videos_reset_stale(stale_after_s=600) == [video.pk]

    wait_until(lambda: _all_done([video.pk]), what="the swept video to be transcoded")
    video.refresh_from_db()
    assert video.status == Video.Status.READY, video.failure_reason
    fresh.refresh_from_db()
    assert fresh.status == Video.Status.PROCESSING  # a live transcode is not started twice


def test_soft_time_limit_fails_the_video_and_stops_ffmpeg(
    media_root,  # noqa: F811
    celery_worker_factory,
    settings,
):
    settings.VIDEO_TRANSCODE_SOFT_TIME_LIMIT = 2  # the limits travel in the task message
    settings.VIDEO_TRANSCODE_TIME_LIMIT = 60
    celery_worker_factory(VIDEO_RENDITION_PRESET="veryslow")
    video = pending_video(media_root, "long_720p.mp4")
    queueing.videos_enqueue_transcode([video.pk])
    wait_until(lambda: _all_done([video.pk]), what="the time limit to end the transcode")
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert video.failure_reason == "transcoding took longer than the 2 s time limit"
    renditions = media_root / "videos" / "renditions"
    assert not list(renditions.rglob("*.mp4"))  # the partial output was removed
