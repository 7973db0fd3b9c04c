"""Image items through the media task: ready with rendition, thumbnail and facts, or failed with
a reason; served with their own content type; on object storage; and a real worker that keeps
going after hostile files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from annotation_server.accounts import roles
from annotation_server.catalog import queueing, tasks
from annotation_server.catalog.models import MediaType, Video
from tests.catalog.transcode_corpus import media_root  # noqa: F401  (fixture)
from tests.celery_worker import wait_until
from tests.factories import VideoFactory


def _photo(orientation: int = 6) -> bytes:
    """A 200×100 JPEG (red left, blue right) with GPS, a camera serial and an orientation."""
    image = Image.new("RGB", (200, 100), (220, 20, 20))
    image.paste((20, 20, 220), (100, 0, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0xA431] = "SN-123456"
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 31.0, 12.5)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def _bomb() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


HOSTILE = {
    "bomb.png": (_bomb(), "the picture is too large: 10,000.0 megapixels"),
    "page.png": (b"<!doctype html><html><body>hi</body></html>", "a web page (HTML)"),
    "cut.jpg": (_photo()[:-200], "the JPEG file is cut short: it ends before the picture"),
    "stub.jpg": (_photo()[:300], "the image file is cut short: it ends inside its header"),
    "noise.gif": (bytes(range(256)) * 8, "not an image file (JPEG, PNG, WebP or GIF)"),
}


def _image_item(name: str, data: bytes, stored_in=None) -> Video:
    """A pending image item whose source holds `data`, in MEDIA_ROOT or default storage."""
    rel = f"images/source/test/{name}"
    if stored_in is not None:
        target = stored_in / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    else:
        rel = default_storage.save(rel, ContentFile(data))
    return VideoFactory(
        media_type=MediaType.IMAGE, prompt=None, video_text="", source=rel, rendition="",
        poster="", status=Video.Status.PENDING, duration_s=None, source_size=len(data),
    )  # fmt: skip


@pytest.mark.django_db
def test_image_item_becomes_ready_and_is_served_as_webp(client, make_user, media_root):  # noqa: F811
    video = _image_item("phone.jpg", _photo(), stored_in=media_root)
    assert tasks.video_transcode_task.apply(args=(video.pk,)).get() == "ready"

    video.refresh_from_db()
    assert (video.status, video.failure_reason) == (Video.Status.READY, "")
    assert (video.width, video.height, video.codec) == (100, 200, "jpeg")  # upright
    assert video.duration_s is None and video.fps is None
    assert video.rendition.name == f"images/renditions/{video.uid.hex[:2]}/{video.uid}.webp"
    assert video.poster.name.endswith(f"/{video.uid}.thumb.jpg")
    assert video.probe["metadata_removed"][:2] == ["exif", "gps"]
    assert video.rendition_size == (media_root / video.rendition.name).stat().st_size

    client.force_login(make_user(roles.REVIEWER))
    response = client.get(reverse("video-rendition", kwargs={"uid": video.uid}))
    body = b"".join(response.streaming_content)
    assert (response.status_code, response["Content-Type"]) == (200, "image/webp")
    assert b"SN-123456" not in body and b"EXIF" not in body
    assert Image.open(io.BytesIO(body)).size == (100, 200)
    ranged = client.get(reverse("video-rendition", kwargs={"uid": video.uid}),
                        HTTP_RANGE="bytes=0-11")  # fmt: skip
    assert ranged.status_code == 206 and b"".join(ranged.streaming_content)[8:12] == b"WEBP"
    poster = client.get(reverse("video-poster", kwargs={"uid": video.uid}))
    assert (poster.status_code, poster["Content-Type"]) == (200, "image/jpeg")

    # Nothing left to do: a second message for the same item changes nothing.
    assert tasks.video_transcode_task.apply(args=(video.pk,)).get() is None


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_image_item_fails_with_its_reason(media_root, name):  # noqa: F811
    data, reason = HOSTILE[name]
    video = _image_item(name, data, stored_in=media_root)
    assert tasks.video_transcode_task.apply(args=(video.pk,)).get() == "failed"
    video.refresh_from_db()
    assert video.failure_reason.startswith(reason)
    assert not video.rendition and not (media_root / "images" / "renditions").exists()


@pytest.mark.django_db
def test_jpeg_renditions_when_configured(settings, media_root):  # noqa: F811
    settings.IMAGE_RENDITION_FORMAT = "jpeg"
    video = _image_item("p.jpg", _photo(orientation=1), stored_in=media_root)
    tasks.video_transcode_task.apply(args=(video.pk,)).get()
    video.refresh_from_db()
    assert video.rendition.name.endswith(f"{video.uid}.jpg") and video.status == "ready"
    assert (video.width, video.height) == (200, 100)


@pytest.mark.django_db
def test_image_item_on_object_storage(s3_media, client, make_user, tmp_path):
    video = _image_item("phone.jpg", _photo())
    assert tasks.video_transcode_task.apply(args=(video.pk,)).get() == "ready"
    video.refresh_from_db()
    assert {video.rendition.name, video.poster.name} <= set(s3_media.keys())
    rendition = s3_media.download(video.rendition.name, tmp_path / "r.webp")
    assert Image.open(rendition).size == (100, 200)

    client.force_login(make_user(roles.REVIEWER))
    redirect = client.get(reverse("video-rendition", kwargs={"uid": video.uid}))
    fetched = requests.get(redirect["Location"], timeout=10)
    assert fetched.headers["Content-Type"] == "image/webp"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_fails_hostile_images_and_then_processes_a_good_one(media_root, celery_worker):  # noqa: F811
    hostile = [_image_item(name, data, stored_in=media_root) for name, (data, _) in HOSTILE.items()]
    good = _image_item("good.jpg", _photo(), stored_in=media_root)
    queueing.videos_enqueue_transcode([video.pk for video in hostile] + [good.pk])

    wait_until(lambda: Video.objects.filter(pk=good.pk, status="ready").exists(), timeout=60,
               what="the good image after the hostile ones")  # fmt: skip
    for video, (_, reason) in zip(hostile, HOSTILE.values(), strict=True):
        video.refresh_from_db()
        assert video.status == Video.Status.FAILED and video.failure_reason.startswith(reason)
    good.refresh_from_db()
    assert (good.width, good.height) == (100, 200)
    assert Path(media_root / good.rendition.name).read_bytes()[8:12] == b"WEBP"
