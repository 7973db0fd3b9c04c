"""Storing VHD11K members straight from their zips, content-addressed, in one pass each.

Each member is streamed once: into a temporary file while its sha256 is computed, then
handed to media storage under its content address (on the file system that is a rename,
not a second copy). Members already in storage under that address are dropped, not copied.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from types import SimpleNamespace

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import TemporaryUploadedFile
from tqdm import tqdm

from annotation_server.catalog.models import Video

from .records import Report
from .vhd11k import VHD11KItem
from .vhd11k_zip import MAX_MEMBER_BYTES, copy_member

STAGE = "copying media from the zips"


@dataclass
class StoredMember:
    sha256: str
    size: int
    name: str  # the storage name of the bytes


def members_store(
    items: list[VHD11KItem],
    *,
    store: set[str],
    max_bytes: int = MAX_MEMBER_BYTES,
    progress: bool = False,
    report: Report | None = None,
) -> tuple[dict[str, StoredMember], list[str]]:
    """Hash every item's member, storing those whose item id is in `store`.

    Returns ({item id: stored member}, names this call saved) — the saved names are for
    `delete_sources` when the import does not commit. Items of ids not in `store` (reused
    from an earlier import) are hashed only, so the caller can check they are the same bytes.
    """
    field = Video._meta.get_field("source")
    done: dict[str, StoredMember] = {}
    created: list[str] = []
    by_zip: dict = {}
    for item in items:
        by_zip.setdefault(item.zip_path, []).append(item)
    bar = tqdm(total=len(items), desc=STAGE, unit="file", disable=None if progress else True)
    if report is not None:
        report(STAGE, 0, len(items))
    try:
        for zip_path, group in by_zip.items():
            with zipfile.ZipFile(zip_path) as archive:
                infos = {item.member: archive.getinfo(item.member) for item in group}
                # In archive order, so the zip is read front to back.
                group.sort(key=lambda item: infos[item.member].header_offset)
                for item in group:
                    info = infos[item.member]
                    with TemporaryUploadedFile(item.item_id, "", info.file_size, None) as tmp:
                        sha256, size = copy_member(archive, info, tmp, max_bytes=max_bytes)
                        tmp.flush()
                        tmp.seek(0)
                        name = field.generate_filename(SimpleNamespace(sha256=sha256), item.item_id)
                        if item.item_id in store and not default_storage.exists(name):
                            name = default_storage.save(name, tmp)
                            created.append(name)
                    done[item.item_id] = StoredMember(sha256, size, name)
                    bar.update(1)
                    if report is not None:
                        report(STAGE, len(done), len(items))
    except BaseException:
        for name in created:
            default_storage.delete(name)
        raise
    finally:
        bar.close()
    return done, created
