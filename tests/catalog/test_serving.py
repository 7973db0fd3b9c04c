"""Video and poster URLs: Range requests, access rules, caching, and the nginx hand-off."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotation_server.accounts import roles
from annotation_server.assignments.models import Assignment
from annotation_server.catalog.models import Video
from tests.catalog.transcode_corpus import media_root  # noqa: F401  (fixture)
from tests.factories import PairFactory, VideoFactory

SIZE = 5000


@pytest.fixture
def served(media_root):  # noqa: F811
    """A ready video whose rendition holds SIZE known bytes, in a pair."""
    pair = PairFactory()
    video = pair.video_0
    video.rendition = f"videos/renditions/{video.uid.hex[:2]}/{video.uid}.mp4"
    video.poster = f"videos/renditions/{video.uid.hex[:2]}/{video.uid}.jpg"
    video.save()
    data = os.urandom(SIZE)
    path = media_root / video.rendition.name
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    (media_root / video.poster.name).write_bytes(b"\xff\xd8poster")
    return pair, video, data


def _url(video: Video, name: str = "video-rendition") -> str:
    return reverse(name, kwargs={"uid": video.uid})


def _assign(pair, user, status=Assignment.Status.OPEN):
    now = timezone.now()
    return Assignment.objects.create(
        pair=pair, batch=pair.batch, annotator=user, status=status, left_is_video_0=True,
        claimed_at=now, expires_at=now + timedelta(minutes=30),
        finished_at=None if status == Assignment.Status.OPEN else now,
    )  # fmt: skip


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db
def test_range_request_gets_206_with_exactly_those_bytes(client, make_user, served):
    pair, video, data = served
    annotator = make_user(roles.ANNOTATOR)
    _assign(pair, annotator)
    client.force_login(annotator)

    response = client.get(_url(video), HTTP_RANGE="bytes=100-199")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-199/{SIZE}"
    assert response["Content-Length"] == "100"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"
    assert _body(response) == data[100:200]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=4900-", 4900, SIZE - 1),
        ("bytes=-300", SIZE - 300, SIZE - 1),
        ("bytes=4000-999999", 4000, SIZE - 1),  # an end past the file is clamped
    ],
)
def test_range_forms_browsers_send(client, make_user, served, header, start, end):
    _, video, data = served
    client.force_login(make_user(roles.ADMIN))
    response = client.get(_url(video), HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert _body(response) == data[start : end + 1]


@pytest.mark.django_db
def test_range_beyond_the_end_is_416(client, make_user, served):
    _, video, _ = served
    client.force_login(make_user(roles.ADMIN))
    response = client.get(_url(video), HTTP_RANGE=f"bytes={SIZE}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"


@pytest.mark.django_db
def test_whole_file_without_range_with_long_lived_private_caching(client, make_user, served):
    _, video, data = served
    client.force_login(make_user(roles.REVIEWER))
    response = client.get(_url(video))
    assert response.status_code == 200
    assert _body(response) == data
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert response["ETag"]


@pytest.mark.django_db
def test_stale_if_range_gets_the_whole_file(client, make_user, served):
    _, video, data = served
    client.force_login(make_user(roles.ADMIN))
    current = client.get(_url(video))["ETag"]

    same = client.get(_url(video), HTTP_RANGE="bytes=10-19", HTTP_IF_RANGE=current)
    other = client.get(_url(video), HTTP_RANGE="bytes=10-19", HTTP_IF_RANGE='"old-version"')

    assert same.status_code == 206 and _body(same) == data[10:20]
    assert other.status_code == 200 and _body(other) == data


@pytest.mark.django_db
def test_several_ranges_get_the_whole_file(client, make_user, served):
    _, video, data = served
    client.force_login(make_user(roles.ADMIN))
    response = client.get(_url(video), HTTP_RANGE="bytes=0-9,20-29")
    assert response.status_code == 200
    assert _body(response) == data


@pytest.mark.django_db
def test_annotator_without_an_assignment_gets_404(client, make_user, served):
    pair, video, _ = served
    stranger = make_user(roles.ANNOTATOR)
    _assign(PairFactory(), stranger)  # works elsewhere, not on this pair
    client.force_login(stranger)
    assert client.get(_url(video), HTTP_RANGE="bytes=100-199").status_code == 404
    assert client.get(_url(video, "video-poster")).status_code == 404


@pytest.mark.django_db
def test_anonymous_user_gets_404(client, served):
    _, video, _ = served
    assert client.get(_url(video)).status_code == 404
    assert client.get(_url(video, "video-poster")).status_code == 404


@pytest.mark.django_db
def test_annotator_keeps_access_after_finishing_the_assignment(client, make_user, served):
    pair, video, data = served
    annotator = make_user(roles.ANNOTATOR)
    _assign(pair, annotator, status=Assignment.Status.SUBMITTED)
    client.force_login(annotator)
    assert _body(client.get(_url(video))) == data
    other_side = client.get(_url(pair.video_1))
    assert other_side.status_code == 404  # video_1 has no rendition file: not served


@pytest.mark.django_db
def test_poster_is_served_as_jpeg(client, make_user, served):
    _, video, _ = served
    client.force_login(make_user(roles.ADMIN))
    response = client.get(_url(video, "video-poster"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert _body(response) == b"\xff\xd8poster"


@pytest.mark.django_db
def test_video_not_ready_is_404(client, make_user, media_root):  # noqa: F811
    video = VideoFactory(status=Video.Status.PENDING, rendition="")
    client.force_login(make_user(roles.ADMIN))
    assert client.get(_url(video)).status_code == 404


@pytest.mark.django_db
def test_unknown_uid_is_404_and_writes_are_refused(client, make_user, served):
    _, video, _ = served
    client.force_login(make_user(roles.ADMIN))
    missing = reverse("video-rendition", kwargs={"uid": "00000000-0000-4000-8000-000000000000"})
    assert client.get(missing).status_code == 404
    assert client.post(_url(video)).status_code == 405


@pytest.mark.django_db
def test_nginx_backend_hands_the_file_to_nginx(client, make_user, served, settings):
    settings.MEDIA_SERVE_BACKEND = "nginx"
    settings.MEDIA_ACCEL_PREFIX = "/protected-media/"
    _, video, _ = served
    client.force_login(make_user(roles.ADMIN))

    response = client.get(_url(video), HTTP_RANGE="bytes=100-199")

    assert response.status_code == 200  # nginx turns it into the 206
    assert response["X-Accel-Redirect"] == f"/protected-media/{video.rendition.name}"
    assert response.content == b""
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"


@pytest.mark.django_db
def test_nginx_backend_still_checks_access(client, make_user, served, settings):
    settings.MEDIA_SERVE_BACKEND = "nginx"
    _, video, _ = served
    client.force_login(make_user(roles.ANNOTATOR))
    response = client.get(_url(video))
    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response
