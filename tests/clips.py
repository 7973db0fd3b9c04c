"""Generated test clips: real H.264 MP4s from ffmpeg's lavfi sources (no files shipped)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def lavfi_clip(
    path: Path,
    *,
    pattern: str = "testsrc",
    size: str = "160x90",
    rate: int = 15,
    seconds: float = 1,
    tone_hz: int | None = None,
) -> Path:
    """Render `seconds` of the lavfi `pattern` (testsrc, smptebars, …) to an H.264 MP4 at
    `path`, with an AAC sine tone when `tone_hz` is given. Returns `path`."""
    command = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi"]
    command += ["-i", f"{pattern}=size={size}:rate={rate}:duration={seconds}"]
    if tone_hz is not None:
        command += ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:duration={seconds}"]
        command += ["-c:a", "aac", "-shortest"]
    command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(command, check=True)
    return path
