"""What transcoding outcomes do to batches and pairs; retry and the admin action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.batches.models import Batch
from annotation_server.batches.processing import batch_refresh_processing_status
from annotation_server.catalog import queueing, services
from annotation_server.catalog.models import Video
from tests.catalog.transcode_corpus import media_root, pending_video  # noqa: F401
from tests.factories import BatchFactory, PairFactory, VideoFactory


def _pair(batch, video_0, video_1):
    return PairFactory(batch=batch, prompt=video_0.prompt, video_0=video_0, video_1=video_1)


@pytest.mark.django_db
def test_batch_becomes_ready_when_every_video_is_ready_or_failed(media_root):  # noqa: F811
    batch = BatchFactory(status=Batch.Status.PROCESSING)
    good = pending_video(media_root, "landscape.mp4")
    bad = pending_video(media_root, "text.mp4", prompt=good.prompt)
    other = pending_video(media_root, "one_frame.mp4", prompt=good.prompt)
    broken_pair = _pair(batch, good, bad)
    fine_pair = _pair(batch, good, other)

    services.video_transcode(video_pk=good.pk)
    services.video_transcode(video_pk=bad.pk)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.PROCESSING  # `other` is still pending

    services.video_transcode(video_pk=other.pk)
    batch.refresh_from_db()
    broken_pair.refresh_from_db()
    fine_pair.refresh_from_db()
    assert batch.status == Batch.Status.READY
    assert broken_pair.active is False  # a failed video drops its pairs from distribution
    assert fine_pair.active is True


@pytest.mark.django_db
def test_published_batch_is_left_alone(media_root):  # noqa: F811
    batch = BatchFactory(status=Batch.Status.PUBLISHED)
    video = pending_video(media_root, "landscape.mp4")
    _pair(batch, video, pending_video(media_root, "text.mp4", prompt=video.prompt))
    services.video_transcode(video_pk=video.pk)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.PUBLISHED


@pytest.mark.django_db
def test_batch_refresh_service_moves_a_finished_batch(media_root):  # noqa: F811
    batch = BatchFactory(status=Batch.Status.PROCESSING)
    PairFactory(batch=batch)  # factory videos are ready
    assert batch_refresh_processing_status(batch_pk=batch.pk) == Batch.Status.READY


@pytest.mark.django_db
def test_retry_brings_a_failed_video_and_its_pairs_back(
    media_root,  # noqa: F811
    settings,
    django_capture_on_commit_callbacks,
):
    settings.VIDEO_MAX_DURATION_S = 2
    batch = BatchFactory(status=Batch.Status.PUBLISHED)
    video = pending_video(media_root, "plain_3s.mp4")
    pair = _pair(batch, video, VideoFactory(prompt=video.prompt))
    services.video_transcode(video_pk=video.pk)
    pair.refresh_from_db()
    assert pair.active is False

    settings.VIDEO_MAX_DURATION_S = 60  # the admin raised the limit
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert queueing.videos_retry(video_pks=[video.pk]) == 1
    assert len(queued) == 1
    video.refresh_from_db()
    assert (video.status, video.failure_reason, video.attempts) == ("pending", "", 0)

    services.video_transcode(video_pk=video.pk)
    video.refresh_from_db()
    pair.refresh_from_db()
    assert video.status == Video.Status.READY
    assert pair.active is True


@pytest.mark.django_db
def test_retry_of_videos_that_did_not_fail_is_refused(media_root):  # noqa: F811
    from annotation_server.core.exceptions import ApplicationError

    video = pending_video(media_root, "landscape.mp4")
    with pytest.raises(ApplicationError, match="only failed videos can be retried"):
        queueing.videos_retry(video_pks=[video.pk])


@pytest.mark.django_db
def test_admin_lists_failed_videos_and_retries_them(client, make_user, media_root):  # noqa: F811
    video = pending_video(media_root, "empty.mp4")
    services.video_transcode(video_pk=video.pk)
    changelist = reverse("admin:catalog_video_changelist")

    client.force_login(make_user(roles.REVIEWER))
    page = client.get(changelist, {"status__exact": "failed"})
    assert page.status_code == 200
    assert "file is empty" in page.content.decode()
    assert "retry_transcoding" not in page.content.decode()  # reviewers cannot act
    client.post(changelist, {"action": "retry_transcoding", "_selected_action": [video.pk]})
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED

    client.force_login(make_user(roles.ADMIN))
    response = client.post(
        changelist, {"action": "retry_transcoding", "_selected_action": [video.pk]}, follow=True
    )
    assert "1 video(s) queued for transcoding again" in response.content.decode()
    video.refresh_from_db()
    assert video.status == Video.Status.PENDING


@pytest.mark.django_db
def test_video_that_keeps_killing_workers_fails_for_good(media_root, settings):  # noqa: F811
    settings.VIDEO_TRANSCODE_MAX_ATTEMPTS = 3
    batch = BatchFactory(status=Batch.Status.PROCESSING)
    video = pending_video(media_root, "landscape.mp4")
    pair = _pair(batch, video, VideoFactory(prompt=video.prompt))
    Video.objects.filter(pk=video.pk).update(status=Video.Status.PROCESSING, attempts=3)

    services.video_transcode(video_pk=video.pk)

    video.refresh_from_db()
    pair.refresh_from_db()
    batch.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert video.failure_reason.startswith("processing was interrupted 3 times")
    assert pair.active is False
    assert batch.status == Batch.Status.READY


@pytest.mark.django_db
def test_source_name_outside_media_root_fails_without_touching_it(media_root):  # noqa: F811
    outside = media_root.parent / "secret.mp4"
    outside.write_bytes(b"not yours")
    video = pending_video(media_root, "landscape.mp4")
    Video.objects.filter(pk=video.pk).update(source="../secret.mp4")

    services.video_transcode(video_pk=video.pk)

    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert video.failure_reason == "the stored source file name points outside MEDIA_ROOT"
    assert outside.read_bytes() == b"not yours"
