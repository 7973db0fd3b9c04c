"""What can go wrong while transcoding, split by what to do about it.

A *rejected* file is the file's fault: retrying changes nothing, so the video fails at once
with a reason a person understands. A *transient* error is the machine's fault (full disk,
no memory): the task retries it with backoff.
"""

from __future__ import annotations

import re


class TranscodeRejected(Exception):
    """The input cannot become a rendition; `reason` is shown to admins as is."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TranscodeTransient(Exception):
    """A temporary problem of the machine, not of the file: worth another try later."""


# stderr fragments that point at the machine rather than the input file.
_TRANSIENT_PATTERNS = (
    "no space left on device",
    "cannot allocate memory",
    "resource temporarily unavailable",
    "too many open files",
    "input/output error",
)


def is_transient_failure(stderr: str) -> bool:
    """True when ffmpeg's stderr says the machine, not the file, made it fail."""
    text = stderr.lower()
    return any(pattern in text for pattern in _TRANSIENT_PATTERNS)


def probe_failure_reason(stderr: str) -> str:
    """The reason for a file that ffprobe could not open at all."""
    text = stderr.lower()
    if "moov atom not found" in text:
        return "not a video file, or an incomplete one (the MP4 index is missing)"
    return "not a video file"


def last_error_line(stderr: str, limit: int = 200) -> str:
    """The last non-empty stderr line, without ffmpeg's `[codec @ 0x…]` prefix."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "no message"
    return re.sub(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*", "", lines[-1])[:limit]
