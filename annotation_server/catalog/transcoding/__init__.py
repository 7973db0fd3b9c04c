"""The video pipeline's pure core: ffprobe parsing, ffmpeg arguments, error classification.

Nothing in this package imports Django; catalog.services feeds it paths and settings.
"""

from .commands import EncodeOptions
from .errors import TranscodeRejected, TranscodeTransient
from .probe import Limits, VideoInfo
from .runner import TranscodeResult, transcode

__all__ = [
    "EncodeOptions",
    "Limits",
    "TranscodeRejected",
    "TranscodeResult",
    "TranscodeTransient",
    "VideoInfo",
    "transcode",
]
