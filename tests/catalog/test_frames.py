"""The default frame set made at transcoding: 5 uniform stills from the rendition's decode,
stored under MEDIA_ROOT for machine annotators; and how a stored set reads back."""

from __future__ import annotations

import io
import os

import ffmpeg
import numpy as np
import pytest
from PIL import Image

from annotation_server.catalog import frames, services
from annotation_server.catalog.models import Video
from tests.clips import lavfi_clip
from tests.factories import VideoFactory

pytestmark = pytest.mark.django_db
RATE = 15


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    (tmp_path / "media" / "src").mkdir(parents=True)
    return tmp_path / "media"


def transcoded(media_root, size: str) -> Video:
    lavfi_clip(media_root / "src" / "clip.mp4", seconds=2, size=size, rate=RATE)
    video = VideoFactory(
        source="src/clip.mp4", status=Video.Status.PENDING, rendition="", poster="",
        duration_s=None,
    )  # fmt: skip
    services.video_transcode(video_pk=video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.READY, video.failure_reason
    return video


def pixels(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"), dtype=np.int16)


def source_frame(path, at: float, size: tuple[int, int]) -> np.ndarray:
    """The source's frame at `at` by a seek of its own, at the still's size."""
    jpeg, _ = (
        ffmpeg.input(str(path), ss=at).video.trim(end_frame=1).filter("scale", *size)
        .output("pipe:", format="image2", vcodec="mjpeg", **{"q:v": 2})
        .run(capture_stdout=True, capture_stderr=True)
    )  # fmt: skip
    return pixels(jpeg)


@pytest.mark.parametrize(("size", "expected"), [("1280x720", (768, 432)), ("360x640", (360, 640))])
def test_transcoding_stores_five_uniform_stills(media_root, size, expected):
    video = transcoded(media_root, size)

    folder = media_root / "frames" / str(video.pk) / "uniform-5"
    assert sorted(p.name for p in folder.iterdir()) == [*(f"{n}.jpg" for n in range(1, 6)),
                                                         "times.json"]  # fmt: skip
    stored = frames.frame_set_read(video_pk=video.pk, selection="uniform", count=5)
    assert [at for at, _ in stored] == [0.2, 0.6, 1.0, 1.4, 1.8]
    source = media_root / "src" / "clip.mp4"
    for at, jpeg in stored:
        still = Image.open(io.BytesIO(jpeg))
        assert still.format == "JPEG" and still.size == expected
        # testsrc moves every frame: the still is the frame at its time, not a neighbour.
        here = np.abs(pixels(jpeg) - source_frame(source, at, expected)).mean()
        beside = np.abs(pixels(jpeg) - source_frame(source, at + 1 / RATE, expected)).mean()
        assert here * 3 < beside, (at, here, beside)


def test_a_damaged_stored_set_reads_as_absent(media_root):
    video = transcoded(media_root, "320x180")
    folder = media_root / "frames" / str(video.pk) / "uniform-5"

    (folder / "3.jpg").write_bytes((folder / "3.jpg").read_bytes()[:500])  # truncated
    assert frames.frame_set_read(video_pk=video.pk, selection="uniform", count=5) is None
    assert frames.frame_set_read(video_pk=video.pk, selection="uniform", count=4) is None
    (folder / "3.jpg").unlink()
    assert frames.frame_set_read(video_pk=video.pk, selection="uniform", count=5) is None


def test_a_set_reached_through_a_symlink_out_of_media_root_is_neither_read_nor_written(
    media_root, tmp_path
):
    outside = tmp_path / "outside"
    (outside / "uniform-2").mkdir(parents=True)
    (media_root / "frames").mkdir()
    os.symlink(outside, media_root / "frames" / "7")
    jpeg = b"\xff\xd8 a still \xff\xd9"

    assert not frames.frame_set_store(video_pk=7, selection="uniform", frames=[(0.5, jpeg)] * 2)
    assert list((outside / "uniform-2").iterdir()) == []
    (outside / "uniform-2" / "1.jpg").write_bytes(jpeg)
    (outside / "uniform-2" / "2.jpg").write_bytes(jpeg)
    (outside / "uniform-2" / "times.json").write_text('{"times": [0.5, 1.5]}')
    assert frames.frame_set_read(video_pk=7, selection="uniform", count=2) is None


@pytest.mark.parametrize(
    ("pk", "selection", "count"), [(1, "../x", 5), ("1/..", "uniform", 5), (1, "uniform", 0)]
)
def test_a_set_name_is_built_only_from_known_parts(pk, selection, count):
    with pytest.raises(ValueError):
        frames.frame_set_dir(pk, selection, count)
