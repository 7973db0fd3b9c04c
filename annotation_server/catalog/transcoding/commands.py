"""ffmpeg/ffprobe command lines, built with ffmpeg-python; plain data in, argument lists out."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import ffmpeg

from .probe import VideoInfo

_GLOBAL = ("-hide_banner", "-nostdin", "-loglevel", "error")
FRAME_MAX_SIDE = 768  # enough for a VLM to see the scene; keeps a request at ~100 kB a frame


@dataclass(frozen=True)
class EncodeOptions:
    max_size: int = 1280  # longest side of the rendition, in pixels
    crf: int = 23
    preset: str = "veryfast"
    audio_bitrate: str = "128k"


def _even_floor(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def rendition_dimensions(width: int, height: int, max_size: int) -> tuple[int, int]:
    """Fit (width, height) into max_size on the longest side, never upscaling; both even."""
    scale = min(1.0, max_size / max(width, height))
    return _even_floor(width * scale), _even_floor(height * scale)


def uniform_times(duration_s: float, count: int) -> list[float]:
    """Frame i of N at (i + ½) × duration ÷ N: evenly spread, never the black first frame or
    past the last one."""
    return [round(duration_s * (i + 0.5) / count, 3) for i in range(count)]


def frame_scaled(stream):
    """A still for a model: fit into FRAME_MAX_SIDE on the longest side, never upscaled."""
    side = FRAME_MAX_SIDE
    return stream.filter(
        "scale", f"min({side},iw)", f"min({side},ih)", force_original_aspect_ratio="decrease"
    )


def _frame_outputs(branches: list, frames: Sequence[tuple[float, Path]]) -> list:
    """One JPEG output per (time, path), each the first frame at or after its time: the
    decode is shared with the rendition, each branch discards frames until its time."""
    outputs = []
    for video, (at, path) in zip(branches, frames, strict=True):
        # Cut before scaling: a branch scales (and converts for the JPEG encoder) one frame,
        # not every frame of the video (an output-side -ss discards only after the filters).
        still = frame_scaled(video.trim(start=at).trim(end_frame=1))
        kwargs = {"vframes": 1, "q:v": 3, "f": "mjpeg", "fps_mode": "passthrough"}
        outputs.append(still.output(str(path), **kwargs))
    return outputs


def rendition_args(
    source: Path,
    target: Path,
    info: VideoInfo,
    options: EncodeOptions,
    *,
    poster: Path | None = None,
    poster_seek_s: float = 0.0,
    stop_after_s: float | None = None,
    frames: Sequence[tuple[float, Path]] = (),
) -> list:
    """H.264/AAC MP4 that every browser plays and can seek before it has fully loaded, and,
    when `poster` is given, a JPEG of the frame at `poster_seek_s` from the same decode; and
    one JPEG still per (time, path) of `frames`, scaled from the source, also from the same
    decode (a second process would decode the file again).

    ffmpeg rotates by the display matrix before our filters run (autorotate is on by default),
    so `info`'s display dimensions are what the scale filter sees.
    """
    width, height = rendition_dimensions(info.width, info.height, options.max_size)
    source_input = ffmpeg.input(str(source))
    decoded = source_input[str(info.video_index)]
    frame_outputs: list = []
    if frames:
        branches = decoded.split()
        decoded = branches[0]
        frame_outputs = _frame_outputs([branches[n] for n in range(1, len(frames) + 1)], frames)
    video = decoded.filter("scale", width, height).filter("setsar", 1).filter("format", "yuv420p")
    poster_output = None
    if poster is not None:
        branches = video.split()
        video = branches[0]
        poster_kwargs = {"vframes": 1, "q:v": 3, "f": "mjpeg"}
        if poster_seek_s:
            poster_kwargs["ss"] = poster_seek_s  # output-side: decodes, discards until then
        poster_output = branches[1].output(str(poster), **poster_kwargs)
    streams = [video]
    output_kwargs: dict = {
        "vcodec": "libx264",
        "preset": options.preset,
        "crf": options.crf,
        "movflags": "+faststart",
        # Phone metadata (GPS, device names) has no business in a rendition.
        "map_metadata": -1,
        "max_muxing_queue_size": 1024,
        "f": "mp4",
    }
    if stop_after_s is not None:
        # The source declares no duration: cut it just past the limit instead of encoding hours.
        output_kwargs["t"] = stop_after_s
    if info.audio_index is not None:
        streams.append(source_input[str(info.audio_index)])
        output_kwargs.update(acodec="aac", audio_bitrate=options.audio_bitrate)
        if info.audio_channels > 2:
            output_kwargs["ac"] = 2
    stream = ffmpeg.output(*streams, str(target), **output_kwargs)
    extra = [poster_output] if poster_output is not None else []
    extra += frame_outputs
    if extra:
        stream = ffmpeg.merge_outputs(stream, *extra)
    # -xerror: a decoding error anywhere in the file stops ffmpeg with a non-zero exit, so
    # this pass is also the full decode check (a truncated file can probe fine).
    return ["ffmpeg", *_GLOBAL, "-y", "-xerror", *stream.get_args()]


def poster_seek(duration_s: float | None) -> float:
    """Where the poster frame comes from: 1 s in, or the middle of a shorter clip."""
    if not duration_s or duration_s < 0.5:
        return 0.0
    return round(min(1.0, duration_s / 2), 3)


def poster_args(rendition: Path, target: Path, seek_s: float) -> list:
    """One JPEG frame from the rendition (already scaled, so this stays fast)."""
    source = ffmpeg.input(str(rendition), ss=seek_s) if seek_s else ffmpeg.input(str(rendition))
    stream = source.video.output(str(target), vframes=1, **{"q:v": 3, "f": "mjpeg"})
    return ["ffmpeg", *_GLOBAL, "-y", *stream.get_args()]


def decode_check_args(source: Path, video_index: int) -> list:
    """Decode every frame of the video stream single-threaded, printing one line per frame.

    Only run after a failed rendition pass: the last frame printed tells where decoding broke.
    """
    stream = ffmpeg.input(str(source), threads=1)[str(video_index)].output("-", f="framecrc")
    return ["ffmpeg", *_GLOBAL, "-xerror", *stream.get_args()]


def probe_args(source: Path) -> list:
    return [
        "ffprobe",
        "-hide_banner",
        "-loglevel",
        "error",
        "-show_format",
        "-show_streams",
        "-of",
        "json",
        str(source),
    ]


_TIMEBASE = re.compile(r"^#tb (\d+): (\d+)/(\d+)")


def framecrc_end_time(output: str) -> float:
    """Seconds up to the end of the last frame in ffmpeg's framecrc output (0 if none)."""
    timebases: dict[str, Fraction] = {}
    end = Fraction(0)
    for line in output.splitlines():
        match = _TIMEBASE.match(line)
        if match:
            timebases[match.group(1)] = Fraction(int(match.group(2)), int(match.group(3)))
            continue
        if line.startswith("#") or not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) < 4 or fields[0] not in timebases:
            continue
        try:
            pts, duration = int(fields[2]), int(fields[3])
        except ValueError:
            continue
        end = max(end, (pts + duration) * timebases[fields[0]])
    return float(end)
