"""Reading ffprobe's JSON: what the file is, and whether it is within the limits."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .errors import TranscodeRejected

# Demuxers/codecs that ffprobe uses for text and terminal art: a text file is "a video" to them.
_TEXT_FORMATS = {"tty"}
_TEXT_CODECS = {"ansi", "bintext", "xbin", "idf"}
_STREAM_KEYS = (
    "index",
    "codec_type",
    "codec_name",
    "profile",
    "width",
    "height",
    "pix_fmt",
    "sample_aspect_ratio",
    "r_frame_rate",
    "avg_frame_rate",
    "duration",
    "nb_frames",
    "bit_rate",
    "channels",
    "sample_rate",
)
_FORMAT_KEYS = ("format_name", "duration", "size", "bit_rate", "nb_streams")


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_duration_s: float
    max_width: int
    max_height: int


@dataclass(frozen=True)
class VideoInfo:
    """The facts about a source that the rendition and the Video row need."""

    video_index: int
    width: int  # as displayed: after rotation and sample aspect ratio
    height: int
    codec: str
    duration_s: float | None
    fps: float | None
    rotation: int
    audio_index: int | None
    audio_channels: int


def _fraction(value: Any) -> Fraction | None:
    try:
        text = str(value).replace(":", "/")
        result = Fraction(text)
    except (ValueError, ZeroDivisionError, TypeError):
        return None
    return result if result > 0 else None


def _float(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result > 0 else None


def _rotation(stream: dict) -> int:
    for side_data in stream.get("side_data_list") or []:
        if "rotation" in side_data:
            return int(round(float(side_data["rotation"]))) % 360
    return int(round(float((stream.get("tags") or {}).get("rotate", 0) or 0))) % 360


def _is_picture_stream(stream: dict) -> bool:
    # Cover art in audio files shows up as a one-image "video" stream.
    return stream.get("codec_type") == "video" and not (stream.get("disposition") or {}).get(
        "attached_pic"
    )


def parse_probe(data: dict) -> VideoInfo:
    """Turn ffprobe's `-show_format -show_streams` JSON into VideoInfo or reject the file."""
    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    format_name = str(fmt.get("format_name", ""))
    pictures = [s for s in streams if _is_picture_stream(s)]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not pictures:
        raise TranscodeRejected("no video stream (audio only)" if audio else "not a video file")
    video = pictures[0]
    codec = str(video.get("codec_name", ""))
    if format_name in _TEXT_FORMATS or codec in _TEXT_CODECS:
        raise TranscodeRejected("not a video file")
    if format_name == "image2" or format_name.endswith("_pipe"):
        raise TranscodeRejected("a still image, not a video")
    coded_w, coded_h = int(video.get("width") or 0), int(video.get("height") or 0)
    if coded_w <= 0 or coded_h <= 0:
        raise TranscodeRejected("not a video file (the picture has no size)")
    sar = _fraction(video.get("sample_aspect_ratio")) or Fraction(1)
    width, height = max(1, round(coded_w * sar)), coded_h
    rotation = _rotation(video)
    if rotation in (90, 270):
        width, height = height, width
    fps = _fraction(video.get("avg_frame_rate")) or _fraction(video.get("r_frame_rate"))
    duration = _float(fmt.get("duration")) or _float(video.get("duration"))
    return VideoInfo(
        video_index=int(video.get("index", 0)),
        width=width,
        height=height,
        codec=codec,
        duration_s=duration,
        fps=round(float(fps), 3) if fps else None,
        rotation=rotation,
        audio_index=int(audio[0].get("index", 0)) if audio else None,
        audio_channels=int(audio[0].get("channels") or 0) if audio else 0,
    )


def human_bytes(size: int) -> str:
    """512 MB, 1.5 MB, 40 KB: the way people say file sizes."""
    if size >= 1024 * 1024:
        return f"{round(size / (1024 * 1024), 1):g} MB"
    return f"{round(size / 1024, 1):g} KB"


def check_size(size: int, limits: Limits) -> None:
    """Reject empty and oversized files before any ffmpeg process is started."""
    if size == 0:
        raise TranscodeRejected("file is empty")
    if size > limits.max_bytes:
        raise TranscodeRejected(
            f"larger than the {human_bytes(limits.max_bytes)} limit ({human_bytes(size)})"
        )


def check_limits(info: VideoInfo, limits: Limits) -> None:
    """Reject a source whose duration or resolution is beyond the configured limits."""
    check_duration(info.duration_s, limits)
    if info.width > limits.max_width or info.height > limits.max_height:
        raise TranscodeRejected(
            f"{info.width}×{info.height} is larger than the "
            f"{limits.max_width}×{limits.max_height} resolution limit"
        )


def check_duration(duration_s: float | None, limits: Limits) -> None:
    if duration_s is not None and duration_s > limits.max_duration_s:
        raise TranscodeRejected(
            f"longer than the {limits.max_duration_s:g} s limit ({duration_s:.1f} s)"
        )


def trim_probe(data: dict) -> dict:
    """The part of ffprobe's JSON worth storing: no tags (they can hold personal metadata)."""
    fmt = data.get("format") or {}
    streams = []
    for stream in data.get("streams") or []:
        kept = {key: stream[key] for key in _STREAM_KEYS if key in stream}
        rotation = _rotation(stream) if stream.get("codec_type") == "video" else 0
        if rotation:
            kept["rotation"] = rotation
        streams.append(kept)
    return {"format": {k: fmt[k] for k in _FORMAT_KEYS if k in fmt}, "streams": streams}
