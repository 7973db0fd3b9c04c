"""A video's frames for a model: N uniform times, one ffmpeg process, each frame the one a
single seek to its time gives."""

from __future__ import annotations

import ffmpeg
import pytest

from annotation_server.machines.media import (
    ItemMedia,
    MediaUnavailable,
    data_url,
    image_parts,
    split_jpegs,
    uniform_times,
)
from tests.clips import lavfi_clip


def test_uniform_times_spread_evenly_inside_the_video():
    assert uniform_times(2.0, 5) == [0.2, 0.6, 1.0, 1.4, 1.8]
    assert uniform_times(3.0, 1) == [1.5]


@pytest.mark.parametrize("frames", [1, 3, 5])
def test_each_frame_is_the_frame_at_its_time(tmp_path, frames):
    clip = lavfi_clip(tmp_path / "clip.mp4", seconds=2, size="320x180")
    item = ItemMedia(True, str(clip), "clip.mp4", 2.0, "")

    parts = image_parts(item, frames=frames)

    assert len(parts) == frames
    for (url, caption), at in zip(parts, uniform_times(2.0, frames), strict=True):
        alone, _ = (
            ffmpeg.input(str(clip), ss=at)
            .output("pipe:", vframes=1, format="image2", vcodec="mjpeg", vf="scale=320:-2",
                    **{"q:v": 3})
            .run(capture_stdout=True, capture_stderr=True)
        )  # fmt: skip
        assert url == data_url(alone, "image/jpeg")
        assert caption == f"frame {parts.index((url, caption)) + 1} at {at:.1f} s"


def test_an_undecodable_video_is_unavailable_not_an_empty_item(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    with pytest.raises(MediaUnavailable, match="broken.mp4"):
        image_parts(ItemMedia(True, str(broken), "broken.mp4", 2.0, ""), frames=3)


def test_split_jpegs_cuts_a_stream_at_each_image():
    one, two = b"\xff\xd8aa\xff\xd9", b"\xff\xd8bbb\xff\xd9"
    assert split_jpegs(one + two + one) == [one, two, one]
    assert split_jpegs(b"") == []
