"""An item's pictures for a model: an image's rendition, or a video's frames chosen uniformly
or at its strongest scene changes; for a vision-language model each as a base64 data URL.

A video's frames come from its stored frame set (catalog.frames: transcoding stores the
default one) when there is one; otherwise one ffmpeg process (ffmpeg-python) extracts them
and they are stored for the next run, so each selection of a video is extracted at most
once."""

from __future__ import annotations

import base64
import logging
import mimetypes
import re
from dataclasses import dataclass

import ffmpeg

from annotation_server.catalog.frames import (
    SCENE_CHANGE,
    UNIFORM,
    frame_scaled,
    frame_set_read,
    frame_set_store,
    uniform_times,
)

__all__ = ["uniform_times"]  # the tests and callers read it here

logger = logging.getLogger(__name__)

# ffmpeg's scene score (0–1, how much a frame differs from the previous one) from which a
# frame counts as a cut; the N strongest above it are taken.
SCENE_THRESHOLD = 0.3


class MediaUnavailable(Exception):
    """The item's file cannot be read or decoded; the item gets no verdict this pass."""


@dataclass(frozen=True)
class ItemMedia:
    """What a worker thread needs of one item, read from the rows beforehand (threads make
    no queries)."""

    is_video: bool
    location: str  # a local path, or a URL ffmpeg can read (S3 storage)
    name: str  # the stored file's name, for its type
    duration_s: float | None
    prompt_text: str
    video_pk: int | None = None  # whose stored frame sets to read and fill; None: neither


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_bytes(item: ItemMedia) -> bytes:
    try:
        with open(item.location, "rb") as file:
            return file.read()
    except OSError as error:
        raise MediaUnavailable(f"image {item.name}: {error}") from error


def image_parts(item: ItemMedia, *, frames: int, selection: str = UNIFORM) -> list[tuple[str, str]]:
    """(data URL, caption) for each picture of the item."""
    if not item.is_video:
        mime = mimetypes.guess_type(item.name)[0] or "image/jpeg"
        return [(data_url(image_bytes(item), mime), "the image")]
    return [
        (data_url(jpeg, "image/jpeg"), f"frame {n} at {at:.1f} s")
        for n, (at, jpeg) in enumerate(video_frames(item, frames=frames, selection=selection), 1)
    ]


def video_frames(item: ItemMedia, *, frames: int, selection: str) -> list[tuple[float, bytes]]:
    """(time, JPEG) of each chosen frame of a video, in time order: the stored set, or
    extracted (and stored) when there is none."""
    count = max(1, frames)
    if item.video_pk is not None:
        stored = frame_set_read(video_pk=item.video_pk, selection=selection, count=count)
        if stored is not None:
            return stored
    times = scene_change_times(item, count) if selection == SCENE_CHANGE else None
    if times is None:
        times = uniform_times(item.duration_s or _probed_duration(item), count)
    chosen = list(zip(times, _frames_at(item, times), strict=True))
    if item.video_pk is not None:
        frame_set_store(video_pk=item.video_pk, selection=selection, frames=chosen)
    return chosen


_SCORED_FRAME = re.compile(rb"pts_time:(?P<at>[0-9.e+-]+)\s+lavfi\.scene_score=(?P<score>[0-9.]+)")


def scene_change_times(item: ItemMedia, count: int) -> list[float] | None:
    """The times of the `count` strongest cuts (frames whose scene score, ffmpeg's `scene`,
    is above SCENE_THRESHOLD), in time order: each the first frame of its new scene. None
    when the video has fewer cuts than that (the caller takes uniform times then: a clip of
    one shot has no cut worth looking at)."""
    selected = ffmpeg.input(item.location).video.filter("select", f"gt(scene,{SCENE_THRESHOLD})")
    out = selected.filter("metadata", "print", file="-").output("-", format="null")
    try:
        printed, _ = out.run(capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as error:
        raise MediaUnavailable(
            f"video {item.name}: no scene scores ({_last_line(error)})"
        ) from error
    cuts = [
        (float(found["score"]), round(float(found["at"]), 3))
        for found in _SCORED_FRAME.finditer(printed)
    ]
    if len(cuts) < count:
        return None
    strongest = sorted(cuts, key=lambda cut: (-cut[0], cut[1]))[:count]
    return sorted(at for _, at in strongest)


def _last_line(error: ffmpeg.Error) -> str:
    return " ".join((error.stderr or b"").decode(errors="replace").strip().splitlines()[-1:])


def _probed_duration(item: ItemMedia) -> float:
    try:
        return float(ffmpeg.probe(item.location)["format"]["duration"])
    except (ffmpeg.Error, KeyError, ValueError) as error:
        raise MediaUnavailable(f"video {item.name}: no duration ({error})") from error


def _frames_at(item: ItemMedia, times: list[float]) -> list[bytes]:
    """One JPEG per time, from one ffmpeg process: each time is an input seeked there (a seek,
    not a decode from the start), cut to its first frame, the N frames concatenated into
    one MJPEG stream. One process per video rather than per frame: spawning ffmpeg was most
    of a video item's cost (bench_machine_run.py: 3 videos a second with one per frame)."""
    streams = [
        frame_scaled(ffmpeg.input(item.location, ss=at).video.trim(end_frame=1)) for at in times
    ]
    joined = streams[0] if len(streams) == 1 else ffmpeg.concat(*streams, v=1, a=0)
    try:
        # Every segment's one frame starts at 0 after its seek: numbered timestamps, passed
        # through, so the encoder neither refuses repeated ones nor a constant rate drops them.
        out = joined.setpts("N/TB").output(
            "pipe:", format="image2pipe", vcodec="mjpeg", fps_mode="passthrough", **{"q:v": 3}
        )
        data, _ = out.run(capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as error:
        raise MediaUnavailable(
            f"video {item.name}: no frames at {times} ({_last_line(error)})"
        ) from error
    jpegs = split_jpegs(data)
    if len(jpegs) != len(times):
        raise MediaUnavailable(f"video {item.name}: {len(jpegs)} frames, not {len(times)}")
    return jpegs


def split_jpegs(data: bytes) -> list[bytes]:
    """The JPEGs of an MJPEG stream: each starts with SOI (FF D8) right after the previous
    one's EOI (FF D9); ffmpeg's encoder writes no embedded thumbnails that could contain one."""
    parts, start = [], 0
    while start < len(data):
        end = data.find(b"\xff\xd9\xff\xd8", start)
        if end < 0:
            parts.append(data[start:])
            break
        parts.append(data[start : end + 2])
        start = end + 2
    return [part for part in parts if part.startswith(b"\xff\xd8")]
