"""Reading any supported import input into one checked ImportPlan (no database involved)."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from pathlib import Path

from tqdm import tqdm

from .checks import merge_and_check
from .manifest import read_manifest
from .records import ImportIssue, ImportPlan, Report, VideoRecord, reported
from .safesora import read_config

CHUNK = 1024 * 1024
HASH_BATCH = 64
SUFFIXES = "a .jsonl manifest, a SafeSora config (.json or .json.gz) or a folder of configs"


def input_files(path: Path) -> tuple[list[Path], list[ImportIssue]]:
    """The files an input path stands for: itself, or a dataset folder's config-*.json[.gz]."""
    if not path.exists():
        return [], [ImportIssue(str(path), 0, "", "no such file or folder")]
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file()
            and p.name.startswith("config-")
            and (p.name.endswith(".json") or p.name.endswith(".json.gz"))
        )
        if not files:
            return [], [
                ImportIssue(
                    str(path), 0, "", f"the folder has no config-*.json(.gz) files; give {SUFFIXES}"
                )
            ]
        return files, []
    if not path.is_file():
        return [], [ImportIssue(str(path), 0, "", "not a regular file")]
    if _kind(path) is None:
        return [], [ImportIssue(path.name, 0, "", f"unknown input type; give {SUFFIXES}")]
    return [path], []


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".jsonl"):
        return "manifest"
    if name.endswith(".json") or name.endswith(".json.gz"):
        return "config"
    return None


def load_import(path: Path, *, progress: bool = False, report: Report | None = None) -> ImportPlan:
    """Read, hash and check everything `path` describes; `plan.issues` lists every problem.
    `progress` draws a bar on the terminal; `report(stage, done, total)` hears of each file."""
    files, issues = input_files(path)
    plan = ImportPlan(issues=issues)
    for file in files:
        reader = read_manifest if _kind(file) == "manifest" else read_config
        plan.extend(reader(file))
    plan.issues += hash_videos(plan.videos, progress=progress, report=report)
    return merge_and_check(plan, need_two_videos=True)


def hash_videos(
    videos: list[VideoRecord], *, progress: bool = False, report: Report | None = None
) -> list[ImportIssue]:
    """Fill in sha256 and size of every video file, each distinct file read once."""
    unique = sorted({v.path for v in videos if v.path is not None})
    # Threads: hashlib releases the GIL on large buffers, and reads overlap disk waits. A
    # task hashes HASH_BATCH files: one task per file cost more than hashing a small file.
    batches = [unique[i : i + HASH_BATCH] for i in range(0, len(unique), HASH_BATCH)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        hashed = tqdm(
            chain.from_iterable(pool.map(_sha256_batch, batches)),
            total=len(unique),
            desc="hashing videos",
            unit="file",
            disable=None if progress else True,
        )
        results = dict(
            zip(unique, reported(hashed, "hashing videos", len(unique), report), strict=True)
        )
    issues = []
    for video in videos:
        if video.path is None:
            continue
        result = results[video.path]
        if isinstance(result, OSError):
            issues.append(
                ImportIssue(
                    video.file,
                    video.line,
                    f"{video.field}.path",
                    f"cannot read {video.path.name}: {result.strerror}",
                )
            )
        else:
            video.sha256, video.size = result
    return issues


def _sha256_batch(paths: list[Path]) -> list[tuple[str, int] | OSError]:
    return [_sha256(path) for path in paths]


def _sha256(path: Path) -> tuple[str, int] | OSError:
    try:
        return _sha256_of(path)
    except OSError as exc:
        return exc


def _sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
