"""Files of an export: the atomic output folder, placing renditions, packing tarballs."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage

from annotation_server.core.exceptions import ApplicationError

from .dataset import VideoFile

# What an export writes at the top of its folder. `--force` replaces a folder only when it
# holds nothing else, so a mistyped --out (a home folder, /etc, the project) is never deleted.
DATASET_ENTRIES = frozenset(
    {
        "config-train.json.gz",
        "config-test.json.gz",
        "videos",
        "videos.tar.gz",
        "annotations.jsonl",
        "machine_annotations.jsonl",
        "preference",
        "label",
        "eval",
        # --format hf: the dataset card and the Parquet shards
        "README.md",
        "data",
    }
)


# --kind vhd11k: the release's annotation files and zips, named by their row counts.
_VHD11K_ENTRY = re.compile(r"^harmful_(image|video)(_\d+_ann\.csv|s_\d+\.zip)$")


def _is_previous_export(folder: Path) -> bool:
    """True when every entry of `folder` (and of its kind sub-folders) is a dataset entry."""
    for entry in folder.iterdir():
        known = entry.name in DATASET_ENTRIES or _VHD11K_ENTRY.match(entry.name)
        if not known or entry.is_symlink():
            return False
        if entry.name in ("preference", "label", "eval") and not (
            entry.is_dir() and _is_previous_export(entry)
        ):
            return False
    return True


def _check_replaceable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ApplicationError(f"{out} exists and is not a folder; choose another --out.")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if out.is_symlink() or not _is_previous_export(out):
        raise ApplicationError(
            f"{out} is not empty and holds files that are not part of a SafeSora export; "
            "--force only replaces an earlier export's folder. Choose a new or empty --out."
        )


# How atomic_directory and tar_folder name what they write before it is complete.
_PARTIAL, _OLD = ".partial", ".old"


def remove_incomplete(out: Path, archive: Path) -> None:
    """What a run killed mid-way left of `out` (atomic_directory's hidden partial and
    replaced folders, `out` itself) and of `archive` (tar_folder's partial file). Only for
    callers that know no other run is writing them."""
    hidden = [p for kind in (_PARTIAL, _OLD) for p in out.parent.glob(f".{out.name}{kind}-*")]
    for path in [out, *hidden]:
        shutil.rmtree(path, ignore_errors=True)
    archive.with_name(archive.name + _PARTIAL).unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(out: Path, *, force: bool) -> Iterator[Path]:
    """Yields a temporary folder beside `out`; renames it to `out` only when the block
    finishes, so an interrupted export never leaves a dataset that looks complete.

    A non-empty `out` is refused unless `force` is given, and even then only an earlier
    export's folder (nothing but dataset entries in it) is ever replaced.
    """
    out = out.expanduser().absolute()
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ApplicationError(
            f"{out} already exists and is not empty; choose another --out or pass --force "
            "to replace an earlier export there."
        )
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    temp = out.parent / f".{out.name}{_PARTIAL}-{token}"
    temp.mkdir()
    try:
        yield temp
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    old = out.parent / f".{out.name}{_OLD}-{token}"
    if out.exists():
        # Checked again: the folder may have changed while the export ran.
        _check_replaceable(out)
        out.rename(old)
    temp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


class VideoPlacer:
    """Puts each rendition once at <root>/videos/<prompt_id>/<video_id>.mp4."""

    def __init__(self, root: Path, mode: str) -> None:
        self.root = root
        self.mode = mode  # "copy" | "link" | "none"
        self.placed: set[int] = set()
        self.copied = 0
        self.linked = 0

    def place(self, video: VideoFile) -> bool:
        """False when the rendition file is missing (the caller skips the record)."""
        if self.mode == "none" or video.pk in self.placed:
            return True
        target = self.root / "videos" / video.prompt_id / f"{video.video_id}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            source = _local_path(video.rendition)
            if source is None:
                with default_storage.open(video.rendition, "rb") as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                self.copied += 1
            elif self.mode == "link" and _try_link(source, target):
                self.linked += 1
            else:
                shutil.copyfile(source, target)
                self.copied += 1
        except (FileNotFoundError, SuspiciousFileOperation):
            return False
        self.placed.add(video.pk)
        return True


def rendition_bytes(name: str) -> bytes | None:
    """The rendition's bytes (from MEDIA_ROOT or the bucket), or None when the file is missing."""
    try:
        with default_storage.open(name, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, SuspiciousFileOperation):
        return None


def _local_path(name: str) -> Path | None:
    try:
        # FileSystemStorage.path refuses names that leave MEDIA_ROOT.
        return Path(default_storage.path(name))
    except NotImplementedError:
        return None  # remote storage: stream it


def _try_link(source: Path, target: Path) -> bool:
    try:
        os.link(source, target)
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            raise
        return False  # another device or a filesystem without hard links: copy instead
    return True


def tar_videos(root: Path) -> Path:
    """Packs <root>/videos into <root>/videos.tar.gz (members named videos/...)."""
    target = root / "videos.tar.gz"
    with tarfile.open(target, "w:gz") as tar:
        videos = root / "videos"
        if videos.is_dir():
            tar.add(videos, arcname="videos")
    return target


def tar_folder(folder: Path, target: Path) -> Path:
    """Packs a finished export folder into one .tar.gz for download."""
    partial = target.with_name(target.name + _PARTIAL)
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    partial.rename(target)
    return target
