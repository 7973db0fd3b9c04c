"""An item's pictures for a vision-language model: an image's rendition, or a video's frames
chosen uniformly and extracted with ffmpeg (ffmpeg-python), each as a base64 data URL."""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass

import ffmpeg

FRAME_MAX_SIDE = 768  # enough for a VLM to see the scene; keeps a request at ~100 kB a frame


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


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def uniform_times(duration_s: float, count: int) -> list[float]:
    """Frame i of N at (i + ½) × duration ÷ N: evenly spread, never the black first frame or
    past the last one."""
    return [round(duration_s * (i + 0.5) / count, 3) for i in range(count)]


def image_parts(item: ItemMedia, *, frames: int) -> list[tuple[str, str]]:
    """(data URL, caption) for each picture of the item."""
    if not item.is_video:
        mime = mimetypes.guess_type(item.name)[0] or "image/jpeg"
        try:
            with open(item.location, "rb") as file:
                return [(data_url(file.read(), mime), "the image")]
        except OSError as error:
            raise MediaUnavailable(f"image {item.name}: {error}") from error
    duration = item.duration_s or _probed_duration(item)
    return [
        (data_url(_frame_at(item, at), "image/jpeg"), f"frame {n} at {at:.1f} s")
        for n, at in enumerate(uniform_times(duration, max(1, frames)), 1)
    ]


def _probed_duration(item: ItemMedia) -> float:
    try:
        return float(ffmpeg.probe(item.location)["format"]["duration"])
    except (ffmpeg.Error, KeyError, ValueError) as error:
        raise MediaUnavailable(f"video {item.name}: no duration ({error})") from error


def _frame_at(item: ItemMedia, at: float) -> bytes:
    scale = f"scale='min({FRAME_MAX_SIDE},iw)':-2"
    try:
        data, _ = (
            ffmpeg.input(item.location, ss=at)
            .output("pipe:", vframes=1, format="image2", vcodec="mjpeg", vf=scale, **{"q:v": 3})
            .run(capture_stdout=True, capture_stderr=True)
        )
    except ffmpeg.Error as error:
        stderr = (error.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
        raise MediaUnavailable(f"video {item.name}: no frame at {at} s ({stderr})") from error
    if not data:
        raise MediaUnavailable(f"video {item.name}: no frame at {at} s")
    return data
