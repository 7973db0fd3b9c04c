"""The broker is down when videos are imported: nothing raises after the import committed,
the videos wait as pending, whoever imported is told, and once the broker is back the sweep
queues them and a real worker transcodes them."""

from __future__ import annotations

import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from annotation_server.accounts import roles
from annotation_server.catalog import queueing, services
from annotation_server.catalog.models import Video
from tests.catalog.importing import clip, prompt_line, write_manifest
from tests.catalog.transcode_corpus import media_root, pending_video  # noqa: F401
from tests.celery_worker import (  # noqa: F401
    _purge_queues,
    broker_unreachable,
    celery_worker,
    celery_worker_factory,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _age(videos, seconds: float) -> None:
    then = timezone.now() - timedelta(seconds=seconds)
    Video.objects.filter(pk__in=[v.pk for v in videos]).update(
        status_changed_at=then, created_at=then
    )


def test_videos_imported_while_the_broker_is_down_are_queued_once_it_is_back(
    media_root,  # noqa: F811
    caplog,
    celery_worker_factory,  # noqa: F811
):
    first = pending_video(media_root, "landscape.mp4")
    second = pending_video(media_root, "one_frame.mp4", prompt=first.prompt)

    with broker_unreachable(), caplog.at_level(logging.WARNING):
        # Outside a transaction the publish happens at once, as after an import's commit.
        assert queueing.videos_enqueue_transcode([first.pk, second.pk]) == 2

    assert "transcoding queue is unreachable" in caplog.text
    assert "2 of 2 video(s) wait as pending" in caplog.text
    statuses = dict(Video.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "pending", second.pk: "pending"}
    assert queueing.videos_waiting_for_queue(video_pks=[first.pk, second.pk]) == 2

    # A sweep right away leaves them alone: a publish may still be under way.
    celery_worker_factory()
    assert queueing.videos_reset_stale() == []

    _age([first, second], queueing.UNQUEUED_GRACE_S + 60)
    assert sorted(queueing.videos_reset_stale()) == sorted([first.pk, second.pk])
    assert queueing.videos_waiting_for_queue(video_pks=[first.pk, second.pk]) == 0
    wait_until(
        lambda: (
            not Video.objects.filter(status=Video.Status.PENDING).exists()
            and not Video.objects.filter(status=Video.Status.PROCESSING).exists()
        ),
        what="the swept videos to be transcoded",
    )
    for video in (first, second):
        video.refresh_from_db()
        assert video.status == Video.Status.READY, video.failure_reason
    # Queued once: the next sweep finds nothing to do.
    assert queueing.videos_reset_stale() == []


def test_a_queued_video_waiting_its_turn_is_not_queued_twice(media_root, settings):  # noqa: F811
    waiting = pending_video(media_root, "landscape.mp4")
    try:
        queueing.videos_enqueue_transcode([waiting.pk])  # the real broker takes it (no worker)
        waiting.refresh_from_db()
        assert waiting.queued_at is not None

        _age([waiting], queueing.UNQUEUED_GRACE_S + 3600)  # a long backlog

        assert queueing.videos_reset_stale() == []
    finally:
        _purge_queues(settings.CELERY_BROKER_URL)  # no later worker gets this message


def test_import_command_says_when_the_broker_did_not_take_the_videos(media_root, tmp_path):  # noqa: F811
    videos = [
        {"path": clip(tmp_path, f"p1/{name}.mp4"), "video_id": f"p1{name}", "generated_from": name}
        for name in ("a", "b")
    ]
    manifest = write_manifest(tmp_path, [prompt_line("p1", videos)])
    err = StringIO()
    with broker_unreachable():
        call_command(
            "import_batch", str(manifest), "--name", "offline", stdout=StringIO(), stderr=err
        )

    assert "2 video(s) could not be handed to the transcoding queue" in err.getvalue()
    assert "lose nothing" in err.getvalue()
    assert Video.objects.filter(status=Video.Status.PENDING, queued_at__isnull=True).count() == 2


def test_admin_retry_while_the_broker_is_down_says_the_videos_wait(client, make_user, media_root):  # noqa: F811
    video = pending_video(media_root, "empty.mp4")
    services.video_transcode(video_pk=video.pk)  # fails: empty file
    client.force_login(make_user(roles.ADMIN))

    with broker_unreachable():
        response = client.post(
            reverse("admin:catalog_video_changelist"),
            {"action": "retry_transcoding", "_selected_action": [video.pk]},
            follow=True,
        )

    assert "1 video(s) could not be handed to the transcoding queue" in response.content.decode()
    video.refresh_from_db()
    assert (video.status, video.queued_at) == (Video.Status.PENDING, None)
