"""Copying validated source files into media storage, content-addressed, undoable."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from django.core.files import File
from django.core.files.storage import default_storage
from tqdm import tqdm

from annotation_server.catalog.models import Video

from .records import Report, VideoRecord, reported


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
