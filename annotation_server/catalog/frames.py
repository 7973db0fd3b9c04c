"""A video's stored stills: the frames a machine annotator sends for it, made once and kept
in media storage, so a run reads a few small files instead of starting ffmpeg per video.

A set is one selection of one video, `frames/<video pk>/<selection>-<count>/`: `1.jpg` …
`<count>.jpg` and `times.json` (each still's time in seconds), written last, so a set
without it is unfinished. Transcoding makes the default set from the rendition's decode;
machines.media makes any other set the first time a run needs it. Every name is built from
an integer pk, a known selection and a count, through Django's default storage (local disk
or S3); on local disk a path that leaves MEDIA_ROOT (a symlinked folder) is never read or
written. A stored set that cannot be read whole reads as absent: the caller extracts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage

from .importers.paths import real_inside, resolve_inside
from .transcoding.commands import FRAME_MAX_SIDE, frame_scaled, uniform_times

__all__ = [
    "DEFAULT_COUNT",
    "DEFAULT_SELECTION",
    "FRAME_MAX_SIDE",
    "SCENE_CHANGE",
    "UNIFORM",
    "frame_scaled",
    "frame_set_dir",
    "frame_set_read",
    "frame_set_store",
    "uniform_times",
]

logger = logging.getLogger(__name__)

FRAMES_DIR = "frames"
UNIFORM, SCENE_CHANGE = "uniform", "scene_change"  # MachineAnnotator.FrameSelection's values
# The set transcoding makes: MachineAnnotator's default selection and frames per video.
DEFAULT_SELECTION, DEFAULT_COUNT = UNIFORM, 5
_MAX_COUNT = 1000  # frames_per_video is a small integer; a bigger count is a caller's bug
_TIMES = "times.json"


def frame_set_dir(video_pk: int, selection: str, count: int) -> str:
    """The set's folder, relative to MEDIA_ROOT; ValueError for anything but the known
    selections, a positive pk and a count in range (no name comes from user input)."""
    if selection not in (UNIFORM, SCENE_CHANGE):
        raise ValueError(f"unknown frame selection {selection!r}")
    if type(video_pk) is not int or video_pk <= 0 or type(count) is not int:
        raise ValueError(f"bad frame set ({video_pk!r}, {count!r})")
    if not 0 < count <= _MAX_COUNT:
        raise ValueError(f"frame count {count} out of range")
    return f"{FRAMES_DIR}/{video_pk}/{selection}-{count}"


def _local_root(storage: Storage) -> Path | None:
    try:
        storage.path(FRAMES_DIR)
    except NotImplementedError:  # object storage: names only, no paths to escape through
        return None
    return Path(storage.location)


def _read(storage: Storage, root: Path | None, name: str) -> bytes | None:
    if root is None:
        if not storage.exists(name):
            return None
        with storage.open(name, "rb") as handle:
            return handle.read()
    path, _ = resolve_inside(root, name)
    return path.read_bytes() if path is not None else None


def _is_jpeg(data: bytes | None) -> bool:
    # Start and end markers: a truncated or foreign file is not a still.
    return bool(data) and data.startswith(b"\xff\xd8") and data.rstrip(b"\0").endswith(b"\xff\xd9")


def frame_set_read(
    *, video_pk: int, selection: str, count: int, storage: Storage = default_storage
) -> list[tuple[float, bytes]] | None:
    """(time, JPEG) of each still of a stored set, in time order; None when the set is not
    stored whole (missing, unfinished, a file unreadable or not a JPEG)."""
    folder = frame_set_dir(video_pk, selection, count)
    try:
        root = _local_root(storage)
        listed = _read(storage, root, f"{folder}/{_TIMES}")
        if listed is None:
            return None
        times = [float(at) for at in json.loads(listed)["times"]]
        if len(times) != count:
            return None
        stills = [_read(storage, root, f"{folder}/{n}.jpg") for n in range(1, count + 1)]
    # A stored set is a cache: whatever keeps it from being read (a vanished file, a broken
    # times.json, a storage error) means the caller extracts the frames again.
    except Exception as error:  # noqa: BLE001
        logger.warning("stored frames %s unreadable: %s", folder, error)
        return None
    if not all(_is_jpeg(still) for still in stills):
        logger.warning("stored frames %s incomplete or not JPEG; extracting again", folder)
        return None
    return list(zip(times, stills, strict=True))


def _write(storage: Storage, root: Path | None, name: str, data: bytes) -> None:
    if root is not None and real_inside(root, name) is None:
        raise ValueError(f"{name} leaves MEDIA_ROOT")
    if storage.exists(name):
        storage.delete(name)  # storage never overwrites: it would pick another name
    saved = storage.save(name, ContentFile(data))
    if saved != name:  # another process stored the same still meanwhile; keep one
        storage.delete(saved)


def frame_set_store(
    *,
    video_pk: int,
    selection: str,
    frames: Sequence[tuple[float, bytes]],
    storage: Storage = default_storage,
) -> bool:
    """Store a set (replacing a stored one); True when it is stored. A failure is logged and
    leaves the set unfinished (no times.json), never half-valid: storing is an optimisation,
    the stills are extracted again next time."""
    folder = frame_set_dir(video_pk, selection, len(frames))
    try:
        root = _local_root(storage)
        if storage.exists(f"{folder}/{_TIMES}"):
            storage.delete(f"{folder}/{_TIMES}")
        for n, (_, jpeg) in enumerate(frames, 1):
            _write(storage, root, f"{folder}/{n}.jpg", jpeg)
        times = json.dumps({"times": [at for at, _ in frames]}).encode()
        _write(storage, root, f"{folder}/{_TIMES}", times)
    except Exception as error:  # noqa: BLE001  (see the docstring)
        logger.warning("could not store frames %s: %s", folder, error)
        return False
    return True
