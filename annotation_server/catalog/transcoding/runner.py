"""Runs the pipeline on files: probe → rendition (with full decode check) → poster.

No Django here: paths and options in, a TranscodeResult out, or TranscodeRejected /
TranscodeTransient. Outputs are written beside their final name and renamed into place only
when ffmpeg exits 0, so a half-written file is never mistaken for a finished one.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import commands, probe
from .errors import (
    TranscodeRejected,
    TranscodeTransient,
    is_transient_failure,
    last_error_line,
    probe_failure_reason,
)

_TRANSIENT_ERRNOS = {errno.ENOSPC, errno.ENOMEM, errno.EMFILE, errno.EAGAIN, errno.EIO}


@dataclass(frozen=True)
class TranscodeResult:
    source: probe.VideoInfo
    probe: dict  # trimmed ffprobe JSON of the source
    rendition_size: int
    rendition_width: int
    rendition_height: int
    made_rendition: bool  # False when a finished rendition was already in place
    made_poster: bool
    # (time, path) of each still made with the rendition; empty when none was asked for or
    # any is missing (the caller then has no stored stills, and machine runs extract them).
    frames: tuple[tuple[float, Path], ...] = ()


def _run(args: Sequence[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(list(args), capture_output=True, text=True, errors="replace")
    except OSError as exc:
        if exc.errno in _TRANSIENT_ERRNOS:
            raise TranscodeTransient(f"could not start {args[0]}: {exc}") from exc
        raise


def probe_file(path: Path) -> dict:
    """ffprobe's JSON for `path`; TranscodeRejected when it is not a media file at all."""
    result = _run(commands.probe_args(path))
    if result.returncode != 0:
        if is_transient_failure(result.stderr):
            raise TranscodeTransient(last_error_line(result.stderr))
        raise TranscodeRejected(probe_failure_reason(result.stderr))
    try:
        return json.loads(result.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise TranscodeRejected("not a video file") from exc


@contextmanager
def _exclusive(rendition: Path) -> Iterator[None]:
    """Only one process works on a video's files at a time; the kernel drops the lock of a
    killed process, so a crashed worker never blocks the next one."""
    rendition.parent.mkdir(parents=True, exist_ok=True)
    with rendition.with_name(f".{rendition.stem}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise TranscodeTransient("another worker is transcoding this video right now") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(target: Path) -> None:
    # Temp files of a worker killed mid-write; nobody else writes them while we hold the lock.
    for leftover in target.parent.glob(f".{target.stem}.*.part{target.suffix}"):
        leftover.unlink(missing_ok=True)


def _temp_beside(target: Path) -> Path:
    return target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.part{target.suffix}")


def _produce(targets: Sequence[Path], build_args, on_failure) -> None:
    """Run ffmpeg into temp files beside `targets`; rename them into place on success.

    The first target is required; later ones are moved only when ffmpeg wrote something.
    """
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(target)
    temps = [_temp_beside(target) for target in targets]
    try:
        result = _run(build_args(*temps))
        if result.returncode != 0 or not temps[0].exists() or temps[0].stat().st_size == 0:
            if is_transient_failure(result.stderr):
                raise TranscodeTransient(last_error_line(result.stderr))
            on_failure(result)
        for temp, target in zip(temps, targets, strict=True):
            if temp.exists() and temp.stat().st_size > 0:
                os.replace(temp, target)
    except OSError as exc:
        if exc.errno in _TRANSIENT_ERRNOS:
            raise TranscodeTransient(str(exc)) from exc
        raise
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)


def _explain_rendition_failure(source: Path, info: probe.VideoInfo):
    def explain(result: subprocess.CompletedProcess) -> None:
        check = _run(commands.decode_check_args(source, info.video_index))
        if check.returncode != 0:
            at = commands.framecrc_end_time(check.stdout)
            raise TranscodeRejected(f"decoding error at {at:.1f} s")
        raise TranscodeRejected(
            f"could not make the H.264 rendition: {last_error_line(result.stderr)}"
        )

    return explain


def _poster_failed(result: subprocess.CompletedProcess) -> None:
    raise TranscodeRejected(f"could not extract a poster frame: {last_error_line(result.stderr)}")


def transcode(
    *,
    source: Path,
    rendition: Path,
    poster: Path,
    limits: probe.Limits,
    options: commands.EncodeOptions,
    frames_dir: Path | None = None,
    frame_count: int = 0,
) -> TranscodeResult:
    """Validate `source`, then make whichever of rendition and poster is missing, and, with
    a new rendition, `frame_count` uniform stills into `frames_dir` (1.jpg, 2.jpg, …)."""
    try:
        size = source.stat().st_size
    except FileNotFoundError as exc:
        raise TranscodeRejected("the uploaded file is missing from storage") from exc
    probe.check_size(size, limits)
    data = probe_file(source)
    info = probe.parse_probe(data)
    probe.check_limits(info, limits)
    stills = []
    if frames_dir is not None and frame_count > 0 and info.duration_s:
        times = commands.uniform_times(info.duration_s, frame_count)
        stills = [(at, frames_dir / f"{n}.jpg") for n, at in enumerate(times, 1)]
    with _exclusive(rendition):
        return _make_outputs(source, rendition, poster, data, info, limits, options, stills)


def _make_outputs(
    source: Path,
    rendition: Path,
    poster: Path,
    data: dict,
    info: probe.VideoInfo,
    limits: probe.Limits,
    options: commands.EncodeOptions,
    stills: list[tuple[float, Path]],
) -> TranscodeResult:
    made_rendition, made_poster = not rendition.exists(), not poster.exists()
    seek = commands.poster_seek(info.duration_s)
    stop_after = None if info.duration_s is not None else limits.max_duration_s + 1
    if made_rendition:
        # One pass makes them all: poster and stills are more outputs of the same decode.
        targets = [rendition, *([poster] if made_poster else []), *(path for _, path in stills)]

        def build(temp: Path, *others: Path) -> list:
            poster_temp = others[0] if made_poster else None
            still_temps = others[1:] if made_poster else others
            return commands.rendition_args(
                source,
                temp,
                info,
                options,
                poster=poster_temp,
                poster_seek_s=seek,
                stop_after_s=stop_after,
                frames=[(at, t) for (at, _), t in zip(stills, still_temps, strict=True)],
            )

        _produce(targets, build, _explain_rendition_failure(source, info))
    else:
        stills = []
    duration = info.duration_s
    if duration is None:
        # Some streams carry no duration header: the rendition tells the real length.
        duration = probe.parse_probe(probe_file(rendition)).duration_s
        try:
            probe.check_duration(duration, limits)
        except TranscodeRejected:
            rendition.unlink(missing_ok=True)
            poster.unlink(missing_ok=True)
            raise
    if not poster.exists():
        # Poster missing on its own, or the seek point had no frame: take one from the rendition.
        seek = 0.0 if made_rendition else commands.poster_seek(duration)
        _produce([poster], lambda temp: commands.poster_args(rendition, temp, seek), _poster_failed)
    width, height = commands.rendition_dimensions(info.width, info.height, options.max_size)
    return TranscodeResult(
        source=info,
        probe=probe.trim_probe(data),
        rendition_size=rendition.stat().st_size,
        rendition_width=width,
        rendition_height=height,
        made_rendition=made_rendition,
        made_poster=made_poster,
        frames=tuple(stills) if stills and all(_made(path) for _, path in stills) else (),
    )


def _made(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0
