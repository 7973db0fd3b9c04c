"""STORAGE_BACKEND=s3 end to end, against a real S3-protocol server on loopback: imports store
sources in the bucket, the transcoder stages through temp files and publishes rendition and
poster objects, and the video URLs redirect allowed users to short-lived signed URLs that
answer Range requests themselves."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from botocore.config import Config
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from annotation_server.accounts import roles
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog import frames, services
from annotation_server.catalog.models import Video
from annotation_server.catalog.transcoding import TranscodeTransient
from annotation_server.core import checks
from tests.catalog.importing import prompt_line, run_import, write_manifest
from tests.catalog.transcode_corpus import clip, decoded_frames, probe
from tests.celery_worker import wait_until
from tests.factories import PairFactory, VideoFactory

SIZE = 5000


def _pending_on_s3(name: str, **fields) -> Video:
    """A pending Video whose source object is a copy of clip `name`."""
    stored = default_storage.save(
        f"videos/source/test/{name}", ContentFile(clip(name).read_bytes())
    )
    return VideoFactory(
        source=stored, status=Video.Status.PENDING, rendition="", poster="", duration_s=None,
        source_size=clip(name).stat().st_size, **fields,
    )  # fmt: skip


def _assert_playable(s3, video: Video, folder: Path) -> None:
    rendition = s3.download(video.rendition.name, folder / "rendition.mp4")
    picture = probe(rendition)["streams"][0]
    assert (picture["codec_name"], picture["pix_fmt"]) == ("h264", "yuv420p")
    assert decoded_frames(rendition) >= 1
    assert video.rendition_size == rendition.stat().st_size
    poster = s3.download(video.poster.name, folder / "poster.jpg")
    assert poster.read_bytes()[:2] == b"\xff\xd8"
    assert probe(poster)["streams"][0]["codec_name"] == "mjpeg"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_imported_batch_is_transcoded_by_a_worker_into_playable_objects(
    s3_media,
    celery_worker_factory,
    tmp_path,
):
    celery_worker_factory(**s3_media.worker_env)
    src = tmp_path / "src"
    (src / "p1").mkdir(parents=True)
    for name in ("vp9_audio.webm", "landscape.mp4"):
        (src / "p1" / name).write_bytes(clip(name).read_bytes())
    videos = [
        {"path": "p1/vp9_audio.webm", "video_id": "a", "generated_from": "ModelA"},
        {"path": "p1/landscape.mp4", "video_id": "b", "generated_from": "ModelB"},
    ]
    run_import(write_manifest(src, [prompt_line("p1", videos)]), "s3batch")

    sources = [key for key in s3_media.keys() if key.startswith("videos/source/")]
    assert len(sources) == 2  # the import stored both files in the bucket
    batch = Batch.objects.get(name="s3batch")
    wait_until(
        lambda: Batch.objects.filter(pk=batch.pk, status=Batch.Status.READY).exists(),
        what="the batch to be transcoded",
    )
    for video in Video.objects.all():
        assert video.status == Video.Status.READY, video.failure_reason
        assert {video.rendition.name, video.poster.name} <= set(s3_media.keys())
        _assert_playable(s3_media, video, tmp_path)
    assert Pair.objects.get(batch=batch).active
    assert not [key for key in s3_media.keys() if ".part" in key or "lock" in key]


@pytest.mark.django_db
def test_only_missing_outputs_are_made_again(s3_media, tmp_path):
    video = _pending_on_s3("plain_3s.mp4")
    services.video_transcode(video_pk=video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.READY, video.failure_reason
    _assert_playable(s3_media, video, tmp_path)
    stills = [f"frames/{video.pk}/uniform-5/{name}" for name in
              ("1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg", "times.json")]  # fmt: skip
    assert s3_media.keys() == sorted(
        [video.source.name, video.rendition.name, video.poster.name, *stills]
    )
    assert frames.frame_set_read(video_pk=video.pk, selection="uniform", count=5)
    # Mark the published rendition: an upload of a new one would carry no such metadata.
    key = video.rendition.name
    s3_media.client.copy_object(
        Bucket=s3_media.bucket, Key=key, CopySource={"Bucket": s3_media.bucket, "Key": key},
        Metadata={"marker": "first-run"}, MetadataDirective="REPLACE", ContentType="video/mp4",
    )  # fmt: skip

    default_storage.delete(video.poster.name)
    services.video_transcode(video_pk=video.pk)

    video.refresh_from_db()
    assert video.status == Video.Status.READY
    again = s3_media.client.head_object(Bucket=s3_media.bucket, Key=key)
    assert again["Metadata"] == {"marker": "first-run"}  # the rendition was left alone
    assert default_storage.open(video.poster.name).read()[:2] == b"\xff\xd8"
    assert len(s3_media.keys()) == 3 + len(stills)


@pytest.mark.django_db
def test_a_bad_file_fails_with_its_reason_and_publishes_nothing(s3_media):
    video = _pending_on_s3("text.mp4")
    services.video_transcode(video_pk=video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert video.failure_reason.startswith("not a video file")
    assert s3_media.keys() == [video.source.name]


@pytest.mark.django_db
def test_a_source_missing_from_the_bucket_fails_the_video(s3_media):
    video = VideoFactory(source="videos/source/xx/gone.mp4", status=Video.Status.PENDING,
                         rendition="", poster="")  # fmt: skip
    services.video_transcode(video_pk=video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert video.failure_reason == "the uploaded file is missing from storage"


@pytest.fixture
def served(s3_media):
    """A ready video whose rendition object holds SIZE known bytes, in a pair."""
    pair = PairFactory()
    video = pair.video_0
    data = os.urandom(SIZE)
    video.rendition = default_storage.save(
        f"videos/renditions/{video.uid.hex[:2]}/{video.uid}.mp4", ContentFile(data)
    )
    video.poster = default_storage.save(
        f"videos/renditions/{video.uid.hex[:2]}/{video.uid}.jpg", ContentFile(b"\xff\xd8poster")
    )
    video.save()
    return pair, video, data


def _assign(pair, user):
    now = timezone.now()
    return Assignment.objects.create(
        pair=pair, batch=pair.batch, annotator=user, status=Assignment.Status.OPEN,
        left_is_video_0=True, claimed_at=now, expires_at=now + timedelta(minutes=30),
    )  # fmt: skip


@pytest.mark.django_db
def test_annotator_is_redirected_to_a_signed_url_that_answers_range_requests(
    client,
    make_user,
    served,
    s3_media,
    settings,
):
    pair, video, data = served
    annotator = make_user(roles.ANNOTATOR)
    _assign(pair, annotator)
    client.force_login(annotator)

    response = client.get(reverse("video-rendition", kwargs={"uid": video.uid}))

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{s3_media.endpoint}/{s3_media.bucket}/{video.rendition.name}?")
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=600" in location
    assert response["Cache-Control"] == "private, max-age=300"  # half the URL's life
    ranged = requests.get(location, headers={"Range": "bytes=100-199"}, timeout=10)
    assert ranged.status_code == 206
    assert ranged.content == data[100:200]
    assert ranged.headers["Content-Range"] == f"bytes 100-199/{SIZE}"
    assert ranged.headers["Content-Type"] == "video/mp4"
    assert requests.get(location.split("?")[0], timeout=10).status_code == 403  # private

    poster = client.get(reverse("video-poster", kwargs={"uid": video.uid}))
    assert poster.status_code == 302
    fetched = requests.get(poster["Location"], timeout=10)
    assert (fetched.status_code, fetched.content) == (200, b"\xff\xd8poster")
    assert fetched.headers["Content-Type"] == "image/jpeg"


@pytest.mark.django_db
def test_unauthorised_users_get_404_and_no_url(client, make_user, served):
    pair, video, _ = served
    url = reverse("video-rendition", kwargs={"uid": video.uid})
    anonymous = client.get(url)
    assert anonymous.status_code == 404
    assert "Location" not in anonymous
    client.force_login(make_user(roles.ANNOTATOR))  # holds no assignment of this pair
    response = client.get(url)
    assert response.status_code == 404
    assert "Location" not in response


@pytest.mark.django_db
def test_deploy_check_wants_the_bucket_origin_in_the_content_security_policy(
    s3_media,
    settings,
):
    warnings = checks.check_s3_media_origin_is_allowed()
    assert [w.id for w in warnings] == ["core.W003"]
    assert s3_media.endpoint in warnings[0].msg and "CSP_EXTRA_MEDIA_SRC" in warnings[0].hint

    policy = settings.CONTENT_SECURITY_POLICY
    directives = {
        **policy["DIRECTIVES"],
        "media-src": [*policy["DIRECTIVES"]["media-src"], s3_media.endpoint],
        "img-src": [*policy["DIRECTIVES"]["img-src"], s3_media.endpoint],
    }
    settings.CONTENT_SECURITY_POLICY = {**policy, "DIRECTIVES": directives}
    assert checks.check_s3_media_origin_is_allowed() == []


@pytest.mark.django_db
def test_an_unreachable_storage_is_a_transient_error_to_retry(s3_media, settings):
    video = _pending_on_s3("landscape.mp4")
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    options = {
        **settings.STORAGES["default"]["OPTIONS"],
        "endpoint_url": f"http://127.0.0.1:{port}",
        "client_config": Config(retries={"max_attempts": 1}, connect_timeout=2),
    }
    settings.STORAGES = {**settings.STORAGES, "default": {**settings.STORAGES["default"],
                                                         "OPTIONS": options}}  # fmt: skip

    with pytest.raises(TranscodeTransient, match="media storage"):
        services.video_transcode(video_pk=video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.PROCESSING  # the task retries it later


@pytest.mark.django_db
def test_a_video_another_worker_holds_is_left_to_it(s3_media):
    video = _pending_on_s3("landscape.mp4")
    other = connections.create_connection("default")  # another worker's database session
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [services._LOCK_NAMESPACE, video.pk])
        with pytest.raises(TranscodeTransient, match="another worker"):
            services.video_transcode(video_pk=video.pk)
        assert s3_media.keys() == [video.source.name]
    finally:
        other.close()  # a worker that dies drops its lock with its connection

    services.video_transcode(video_pk=video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.READY, video.failure_reason
