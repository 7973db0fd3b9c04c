"""Scene-change frame selection on a generated video whose cuts are known: the chosen times
are the cuts (the first frame of each new shot), the strongest when there are more; uniform
times when the video has fewer cuts than frames asked."""

from __future__ import annotations

import subprocess

import cv2
import numpy as np
import pytest

from annotation_server.machines.media import (
    ItemMedia,
    MediaUnavailable,
    image_parts,
    scene_change_times,
    uniform_times,
    video_frames,
)

RATE = 10
# (colour, BGR, seconds): cuts at 1.0, 2.5 and 3.2 s; red → blue is the weakest of the three.
SHOTS = [("red", (0, 0, 255), 1.0), ("blue", (255, 0, 0), 1.5), ("white", (255, 255, 255), 0.7),
         ("black", (0, 0, 0), 1.3)]  # fmt: skip
CUTS = [1.0, 2.5, 3.2]


@pytest.fixture(scope="module")
def cuts_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("scene") / "cuts.mp4"
    command = ["ffmpeg", "-v", "error", "-y"]
    for colour, _, seconds in SHOTS:
        command += ["-f", "lavfi", "-i", f"color=c={colour}:s=160x90:r={RATE}:d={seconds}"]
    inputs = "".join(f"[{n}]" for n in range(len(SHOTS)))
    command += ["-filter_complex", f"{inputs}concat=n={len(SHOTS)}:v=1:a=0"]
    command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(command, check=True)
    return ItemMedia(True, str(path), "cuts.mp4", None, "")


def colour_of(jpeg: bytes) -> tuple[int, int, int]:
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return tuple(int(round(v / 255) * 255) for v in picture.reshape(-1, 3).mean(axis=0))


def test_the_chosen_times_are_the_cuts(cuts_clip):
    assert scene_change_times(cuts_clip, 3) == pytest.approx(CUTS, abs=1 / RATE)


def test_with_fewer_frames_than_cuts_the_strongest_are_chosen(cuts_clip):
    # Blue → white and white → black change more pixels than red → blue.
    assert scene_change_times(cuts_clip, 2) == pytest.approx([2.5, 3.2], abs=1 / RATE)


def test_each_frame_shows_the_shot_after_its_cut(cuts_clip):
    frames = video_frames(cuts_clip, frames=3, selection="scene_change")

    assert [at for at, _ in frames] == pytest.approx(CUTS, abs=1 / RATE)
    assert [colour_of(jpeg) for _, jpeg in frames] == [bgr for _, bgr, _ in SHOTS[1:]]


def test_fewer_cuts_than_frames_falls_back_to_uniform(cuts_clip):
    assert scene_change_times(cuts_clip, 4) is None
    frames = video_frames(cuts_clip, frames=5, selection="scene_change")
    assert [at for at, _ in frames] == uniform_times(4.5, 5)
    # The VLM's pictures follow the same choice.
    captions = [
        caption for _, caption in image_parts(cuts_clip, frames=3, selection="scene_change")
    ]
    assert captions == ["frame 1 at 1.0 s", "frame 2 at 2.5 s", "frame 3 at 3.2 s"]


def test_an_undecodable_video_has_no_scene_scores(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    with pytest.raises(MediaUnavailable, match="broken.mp4"):
        scene_change_times(ItemMedia(True, str(broken), "broken.mp4", None, ""), 2)
