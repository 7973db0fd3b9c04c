"""Reading VHD11K media straight from the release's zip files, one member at a time.

The zips are 2.3 GB (images) and 13.8 GB (videos): only the central directory is read up
front, and a member is streamed through a bounded copy when the import stores it. Hostile
archives are refused with a reason per member: absolute or `..` names, symlinks, repeated
names, and declared sizes or compression ratios no real image or video has.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .records import ImportIssue

COPY_CHUNK = 1024 * 1024
MAX_MEMBER_BYTES = 512 * 1024 * 1024  # as VIDEO_MAX_INPUT_BYTES: larger sources fail anyway
MAX_TOTAL_BYTES = 20 * 1024**3  # as IMPORT_MAX_UNZIPPED_BYTES
MAX_RATIO = 100  # JPEG, PNG and mp4 are compressed already: real members deflate ~1:1
RATIO_FLOOR = 1024 * 1024  # small members may compress well (a flat PNG) and harm no one
UTF8_FLAG = 0x800
IGNORED_PREFIXES = ("__MACOSX/",)  # macOS resource forks, not media


class MemberTooLarge(ValueError):
    """A member produced more bytes than allowed or declared; nothing usable was written."""


@dataclass
class ZipIndex:
    """The usable members of one zip, by bare file name, and what is wrong with the rest."""

    path: Path
    display: str
    by_name: dict[str, zipfile.ZipInfo] = field(default_factory=dict)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    issues: list[ImportIssue] = field(default_factory=list)

    def locate(self, file_name: str) -> tuple[zipfile.ZipInfo | None, str | None]:
        """(member, None) for the one member with this bare name, else (None, the reason)."""
        if file_name in self.ambiguous:
            names = ", ".join(self.ambiguous[file_name])
            return None, f"{file_name} is in {self.display} more than once ({names})"
        info = self.by_name.get(file_name)
        if info is None:
            return None, f"{file_name} is not in {self.display}"
        return info, None


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its creator meant it.

    Zip writers that do not set the UTF-8 flag still store UTF-8 bytes (the published
    video zip does, for names with non-ASCII keywords); Python decodes those as CP437.
    """
    name = info.filename
    if info.flag_bits & UTF8_FLAG:
        return name
    try:
        return name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name


def member_problem(
    info: zipfile.ZipInfo, *, max_member_bytes: int = MAX_MEMBER_BYTES
) -> str | None:
    """Why this member must not be read, or None when it is safe to stream."""
    name = info.filename
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symlink; symlinks are not allowed in the zip"
    if "\x00" in name:
        return "has a NUL character in its name"
    posix = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (posix.parts and ":" in posix.parts[0]):
        return "has an absolute name; members must be relative"
    if ".." in posix.parts:
        return "has '..' in its name, which would leave the release folder"
    if info.is_dir():
        return None
    if info.file_size > max_member_bytes:
        return (
            f"declares {info.file_size} bytes; a single image or video may have at most "
            f"{max_member_bytes}"
        )
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return (
            f"expands {info.file_size // max(info.compress_size, 1)}-fold "
            f"({info.compress_size} → {info.file_size} bytes): a zip bomb, not media"
        )
    return None


def index_zip(
    path: Path,
    *,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> ZipIndex:
    """Read the central directory of `path` and check every member (nothing is unpacked)."""
    index = ZipIndex(path=path, display=path.name)

    def issue(member: str, message: str) -> None:
        index.issues.append(ImportIssue(index.display, 0, member, message))

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        issue("", f"is not a readable zip file ({exc})")
        return index
    seen: set[str] = set()
    full_names: dict[str, list[str]] = {}
    declared = 0
    for info in members:
        name = member_name(info)
        problem = member_problem(info, max_member_bytes=max_member_bytes)
        if problem is not None:
            issue(name, problem)
            continue
        if name in seen:
            issue(name, "appears more than once in the zip; each member needs its own name")
            continue
        seen.add(name)
        if info.is_dir() or name.startswith(IGNORED_PREFIXES):
            continue
        bare = PurePosixPath(name.replace("\\", "/")).name
        if bare.startswith("._"):
            continue  # AppleDouble metadata beside a real file
        declared += info.file_size
        full_names.setdefault(bare, []).append(name)
        index.by_name.setdefault(bare, info)
    if declared > max_total_bytes:
        issue("", f"unpacks to {declared} bytes; the limit is {max_total_bytes}")
    index.ambiguous = {bare: names for bare, names in full_names.items() if len(names) > 1}
    return index


def copy_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    dest: BinaryIO,
    *,
    max_bytes: int = MAX_MEMBER_BYTES,
) -> tuple[str, int]:
    """Stream one member into `dest`; returns (sha256 hex, size).

    The copy stops at `max_bytes` or at the declared size, whichever is smaller, so a
    forged size header cannot make it write more; the zip's CRC is checked at the end
    (zipfile raises BadZipFile on a mismatch).
    """
    limit = min(max_bytes, info.file_size)
    digest = hashlib.sha256()
    size = 0
    with archive.open(info) as src:
        while chunk := src.read(COPY_CHUNK):
            size += len(chunk)
            if size > limit:
                raise MemberTooLarge(
                    f"{member_name(info)} yields more than {limit} bytes "
                    f"(declared {info.file_size}, allowed {max_bytes})"
                )
            digest.update(chunk)
            dest.write(chunk)
    return digest.hexdigest(), size


def copy_member_to_path(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, **limits
) -> tuple[str, int]:
    """`copy_member` into a new file at `target`; the partial file is removed on failure."""
    try:
        with open(target, "wb") as out:
            return copy_member(archive, info, out, **limits)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
