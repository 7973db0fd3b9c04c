"""Copying validated source files into media storage, content-addressed, undoable; or
referencing them where they are, inside the storage's `imports/` folder."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

from django.core.files import File
from django.core.files.storage import default_storage
from tqdm import tqdm

from annotation_server.catalog.models import Video

from .paths import real_inside
from .records import ImportIssue, Report, VideoRecord, reported


def source_name(record: VideoRecord) -> str:
    """The storage name the Video.source field gives these bytes (sha256-addressed)."""
    field = Video._meta.get_field("source")
    # upload_to only reads `sha256`; a stand-in avoids building a model instance per file.
    return field.generate_filename(SimpleNamespace(sha256=record.sha256), record.path.name)


def copy_sources(
    records: list[VideoRecord], *, progress: bool = False, report: Report | None = None
) -> tuple[dict, list]:
    """Store each distinct file once; returns ({content name: stored name}, newly saved names).

    A file already in storage under its content address is the same bytes, so it is
    reused instead of copied; only the newly saved names are for `delete_sources` to undo.
    """
    wanted: dict[str, VideoRecord] = {}
    for record in records:
        wanted.setdefault(source_name(record), record)
    stored: dict[str, str] = {}
    created: list[str] = []

    def store(item: tuple[str, VideoRecord]) -> tuple[str, str, bool]:
        name, record = item
        if default_storage.exists(name):
            return name, name, False
        with open(record.path, "rb") as fh:
            return name, default_storage.save(name, File(fh, name=record.path.name)), True

    failure: BaseException | None = None
    # Threads overlap the many small file-system waits of copying thousands of files.
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(store, item) for item in wanted.items()]
        bar = tqdm(futures, desc="copying videos", unit="file", disable=None if progress else True)
        for future in reported(bar, "copying videos", len(futures), report):
            try:
                name, saved, new = future.result()
            except BaseException as exc:  # keep collecting: every saved copy must be undone
                failure = failure or exc
                continue
            stored[name] = saved
            if new:
                created.append(saved)
    if failure is not None:
        delete_sources(created)
        raise failure
    return stored, created


def delete_sources(names: list[str]) -> None:
    """Remove files this import saved, when its transaction did not commit."""
    for name in names:
        default_storage.delete(name)


# Where an admin puts (or mounts) a release whose files are read in place: a folder of the
# media storage, so the transcoder, the media views and the exports read them by storage
# name like any stored file, and the platform's own folders (videos/source/…) are never it.
IN_PLACE_DIR = "imports"


def in_place_sources(records: list[VideoRecord]) -> tuple[dict[str, str], list[ImportIssue]]:
    """({content name: storage name}, issues) for files referenced where they are: each
    (already resolved to its real path inside the input's folder) must lie inside
    MEDIA_ROOT/imports/ (a link or mount there is followed); nothing is copied."""
    try:
        root = os.path.realpath(default_storage.path(IN_PLACE_DIR))
    except NotImplementedError:  # object storage: nothing can be read in place
        return {}, [ImportIssue("--in-place", 0, "", IN_PLACE_STORAGE)]
    max_length = Video._meta.get_field("source").max_length
    stored: dict[str, str] = {}
    issues: list[ImportIssue] = []
    for record in records:
        name = source_name(record)
        if name in stored:
            continue  # the same bytes under another path: one of them serves
        real = str(record.path)
        if real_inside(root, real) is None:  # `real` is absolute: checked as it is
            issues.append(ImportIssue(record.file, record.line, f"{record.field}.path",
                                      IN_PLACE_OUTSIDE.format(root=root)))  # fmt: skip
            continue
        stored[name] = f"{IN_PLACE_DIR}/{Path(real).relative_to(root).as_posix()}"
        if len(stored[name]) > max_length:
            issues.append(ImportIssue(record.file, record.line, f"{record.field}.path",
                                      f"is longer than {max_length} characters inside "
                                      f"{IN_PLACE_DIR}/; shorten its folders"))  # fmt: skip
    return stored, issues


IN_PLACE_STORAGE = (
    "videos are read in place only from a media storage on the file system; "
    "import without --in-place to copy them"
)
IN_PLACE_OUTSIDE = (
    "--in-place reads each video where it is, so it must lie inside {root} "
    "(MEDIA_ROOT/imports/); put or mount the release there, or import without --in-place"
)
