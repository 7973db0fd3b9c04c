"""Resolving user-given file paths so that none leaves the folder it is relative to."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath


def real_inside(root: str | os.PathLike, relative: str | os.PathLike) -> Path | None:
    """The real path of `root / relative` (symlinks followed) when it lies inside `root`'s
    real path (or is it), else None: the one check every "stays in its folder" rule ends on."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(real_root / relative))
    return real if real == real_root or real_root in real.parents else None


def resolve_inside(root: Path, relative: str) -> tuple[Path | None, str | None]:
    """(path, None) for a regular file under `root`, else (None, a reason a person can act on).

    Refuses absolute paths, `..` parts, and symlinks whose target is outside `root`; the
    check runs on the real path so a symlinked folder cannot smuggle a file out either.
    """
    if not relative or not relative.strip():
        return None, "must not be empty"
    if "\x00" in relative:
        return None, "must not contain NUL characters"
    posix = PurePosixPath(relative)
    if posix.is_absolute() or PureWindowsPath(relative).is_absolute() or relative.startswith("~"):
        return None, f"must be relative to the manifest's folder, not absolute: {relative}"
    if ".." in posix.parts or ".." in PureWindowsPath(relative).parts:
        return None, f"must not leave the manifest's folder ('..'): {relative}"
    real = real_inside(root, posix)
    if real is None:
        return None, f"leaves the manifest's folder through a symlink: {relative}"
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return None, f"file not found: {relative}"
    except OSError as exc:
        return None, f"cannot read {relative}: {exc.strerror}"
    if not stat.S_ISREG(mode):
        return None, f"not a regular file: {relative}"
    if not os.access(real, os.R_OK):
        return None, f"file is not readable: {relative}"
    return real, None
