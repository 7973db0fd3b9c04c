"""Unpacking an uploaded zip of videos safely: no traversal, no symlinks, no zip bombs."""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .records import ImportIssue, Report, reported

COPY_CHUNK = 1024 * 1024
UNPACKING = "unpacking the zip"  # the progress stage (report)


def extract_zip(
    source: str | Path | BinaryIO,
    dest: Path,
    *,
    max_bytes: int,
    display: str = "videos.zip",
    report: Report | None = None,
) -> list[ImportIssue]:
    """Extract `source` into `dest`; on any problem extract nothing and return the problems.

    Member names must be relative and stay inside `dest`; symlink members are refused; the
    declared total size must stay under `max_bytes`, and so must the bytes actually written
    (a forged size header cannot get past the running count). `report(stage, done, total)`
    hears of every member unpacked (the admin's import jobs).
    """

    def issue(message: str, member: str = "") -> ImportIssue:
        return ImportIssue(display, 0, member, message)

    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        return [issue(f"is not a readable zip file ({exc})")]
    with archive:
        members = archive.infolist()
        problems = [p for m in members if (p := _member_problem(m)) is not None]
        issues = [issue(message, member) for member, message in problems]
        declared = sum(m.file_size for m in members)
        if declared > max_bytes:
            issues.append(
                issue(
                    f"unpacks to {declared} bytes; the limit is {max_bytes} "
                    "(IMPORT_MAX_UNZIPPED_BYTES)"
                )
            )
        if issues:
            return issues
        try:
            members = reported(members, UNPACKING, len(members), report)
            return _extract(archive, members, dest.resolve(), max_bytes, issue)
        except (OSError, zipfile.BadZipFile) as exc:
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True, exist_ok=True)
            return [issue(f"could not be unpacked ({exc})")]


def _extract(archive, members, real_dest: Path, max_bytes: int, issue) -> list[ImportIssue]:
    written = 0
    for member in members:
        target = real_dest / PurePosixPath(member.filename)
        if member.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(member) as src, open(target, "wb") as out:
            while chunk := src.read(COPY_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    shutil.rmtree(real_dest, ignore_errors=True)
                    real_dest.mkdir(parents=True, exist_ok=True)
                    return [
                        issue(f"unpacks to more than {max_bytes} bytes (IMPORT_MAX_UNZIPPED_BYTES)")
                    ]
                out.write(chunk)
    return []


def _member_problem(member: zipfile.ZipInfo) -> tuple[str, str] | None:
    name = member.filename
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        return name, "symlinks are not allowed in the zip"
    if "\\" in name or "\x00" in name:
        return name, "names with backslashes or NUL characters are not allowed"
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        return name, "absolute names are not allowed in the zip"
    if ".." in path.parts:
        return name, "names with '..' would leave the upload folder"
    return None
