"""Tiny test clips generated with ffmpeg (1–3 s, small sizes), and helpers to inspect outputs.

`clip(name)` makes each clip once per test process and returns its path.
"""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from annotation_server.catalog.models import Video
from tests.factories import VideoFactory

_DIR = Path(tempfile.mkdtemp(prefix="transcode-corpus-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)

_SRC = "testsrc=size={size}:rate={rate}:duration={dur}"
_TONE = "sine=frequency=440:duration={dur}"


def _lavfi(size="160x120", rate=25, dur=1, audio=False) -> list[str]:
    args = ["-f", "lavfi", "-i", _SRC.format(size=size, rate=rate, dur=dur)]
    if audio:
        args += ["-f", "lavfi", "-i", _TONE.format(dur=dur)]
    return args


X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]

# name → ffmpeg arguments after the global ones (output path appended)
RECIPES: dict[str, list[str]] = {
    "vp9_audio.webm": [
        *_lavfi(audio=True), "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
        "-b:v", "200k", "-c:a", "libopus",
    ],
    "hevc.mkv": [*_lavfi(), "-c:v", "libx265", "-preset", "ultrafast",
                 "-x265-params", "log-level=error"],
    "mpeg4_audio.avi": [*_lavfi(audio=True), "-c:v", "mpeg4", "-c:a", "libmp3lame"],
    "animated.gif": [*_lavfi(size="120x90", rate=10)],
    # 4:4:4 is the only way x264 stores odd sizes; the rendition must go back to 4:2:0.
    "odd_513x511.mp4": [*_lavfi(size="513x511"), "-c:v", "libx264", "-preset", "ultrafast",
                        "-pix_fmt", "yuv444p"],
    "vfr.mkv": [
        "-f", "lavfi", "-i",
        "testsrc=size=160x120:rate=30:duration=2,setpts='PTS+0.4*sin(N)/30/TB'",
        "-fps_mode", "vfr", *X264,
    ],
    "tenbit.mkv": [*_lavfi(), "-c:v", "libx264", "-preset", "ultrafast",
                   "-pix_fmt", "yuv420p10le"],
    "one_frame.mp4": [*_lavfi(), "-frames:v", "1", *X264],
    "surround.mp4": [
        *_lavfi(), "-f", "lavfi", "-i", "sine=duration=1",
        "-filter_complex", "[1:a]pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0[a]",
        "-map", "0:v", "-map", "[a]", *X264, "-c:a", "aac",
    ],
    "plain_3s.mp4": [*_lavfi(size="320x240", dur=3), *X264, "-movflags", "+faststart"],
    "audio_only.m4a": ["-f", "lavfi", "-i", _TONE.format(dur=1), "-c:a", "aac"],
    "landscape.mp4": [*_lavfi(size="320x180"), *X264],
    "long_720p.mp4": [*_lavfi(size="1280x720", rate=30, dur=8), "-c:v", "mpeg4", "-q:v", "5"],
}  # fmt: skip

_cache: dict[str, Path] = {}


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def clip(name: str) -> Path:
    """The path of a generated clip (made on first use)."""
    if name in _cache:
        return _cache[name]
    path = _DIR / name
    if name == "empty.mp4":
        path.write_bytes(b"")
    elif name == "text.mp4":
        path.write_text("This is a text file with a video's name.\n" * 20)
    elif name == "truncated.mp4":
        # moov at the front (faststart): it probes fine and breaks only while decoding.
        data = clip("plain_3s.mp4").read_bytes()
        path.write_bytes(data[: len(data) * 6 // 10])
    elif name == "audio_only.mp4":
        shutil.copy(clip("audio_only.m4a"), path)
    elif name == "rotated_phone.mp4":
        # A landscape-coded stream with a 90° display matrix, as phones record portrait.
        _ffmpeg("-i", str(clip("landscape.mp4")), "-c", "copy",
                "-metadata:s:v:0", "rotate=90", str(path))  # fmt: skip
    elif name == "padded_big.mp4":
        path.write_bytes(clip("landscape.mp4").read_bytes() + b"\0" * 400_000)
    else:
        _ffmpeg(*RECIPES[name], str(path))
    _cache[name] = path
    return path


def probe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def decoded_frames(path: Path) -> int:
    """How many frames a standard decoder gets out of `path` (fails on any decoding error)."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-xerror", "-i", str(path), "-map", "0:v:0", "-f", "framecrc",
         "-"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return sum(1 for line in out.stdout.splitlines() if line and not line.startswith("#"))


def pending_video(media_root: Path, name: str, **fields) -> Video:
    """A pending Video whose source is a copy of clip `name` under MEDIA_ROOT."""
    rel = f"videos/source/test/{name}"
    target = media_root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(clip(name), target)
    return VideoFactory(
        source=rel, status=Video.Status.PENDING, rendition="", poster="", duration_s=None,
        source_size=target.stat().st_size, **fields,
    )  # fmt: skip


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT
