"""The video pipeline on object storage (STORAGE_BACKEND=s3), where files have no local path.

ffmpeg needs files, so the source — and any output an interrupted run already published — is
copied into a temporary folder, the same pipeline runs there, and each new output is uploaded
under its final name only once ffmpeg has finished it. An S3 upload becomes visible only when
it completes, so storage never holds a half-written rendition: the same temp-then-publish
guarantee the local pipeline gets from renaming. Only missing outputs are made.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from django.core.files import File
from django.core.files.storage import Storage

from annotation_server.catalog import transcoding
from annotation_server.catalog.transcoding.probe import check_size

try:  # the s3 extra; without it no remote storage can be configured anyway
    from botocore.exceptions import BotoCoreError, ClientError

    _REMOTE_ERRORS: tuple[type[BaseException], ...] = (BotoCoreError, ClientError)
except ImportError:  # pragma: no cover
    _REMOTE_ERRORS = ()

_COPY_CHUNK = 1 << 20


@contextmanager
def storage_trouble() -> Iterator[None]:
    """Network and service errors of the storage may pass: the task retries them."""
    try:
        yield
    except (*_REMOTE_ERRORS, ConnectionError, TimeoutError) as exc:
        raise transcoding.TranscodeTransient(f"media storage: {exc}") from exc


def download(storage: Storage, name: str, target: Path) -> None:
    """Copy a stored file to a local path, streaming (no whole file in memory)."""
    with storage.open(name, "rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, _COPY_CHUNK)


def publish(storage: Storage, path: Path, name: str) -> None:
    """Upload a finished local file under exactly `name`.

    Storage never overwrites (file_overwrite=False) and picks another name when `name` was
    taken meanwhile; then another run published the same output first and ours goes away.
    """
    with path.open("rb") as handle:
        saved = storage.save(name, File(handle, name=path.name))
    if saved != name:
        storage.delete(saved)


def transcode_staged(
    *,
    storage: Storage,
    source: str,
    rendition: str,
    poster: str,
    limits: transcoding.Limits,
    options: transcoding.EncodeOptions,
    frames_dir: Path | None = None,
    frame_count: int = 0,
) -> transcoding.TranscodeResult:
    """transcoding.transcode() for storage names instead of paths; same errors, same result.
    Stills go to the local `frames_dir` as there (the caller stores them)."""
    with storage_trouble():
        if not storage.exists(source):
            raise transcoding.TranscodeRejected("the uploaded file is missing from storage")
        # Refuse an oversized file before spending the download on it.
        check_size(storage.size(source), limits)
        with tempfile.TemporaryDirectory(prefix="transcode-") as folder:
            work = Path(folder)
            local = {
                source: work / f"source{PurePosixPath(source).suffix.lower()}",
                rendition: work / "rendition.mp4",
                poster: work / "poster.jpg",
            }
            download(storage, source, local[source])
            published = {name: storage.exists(name) for name in (rendition, poster)}
            for name, was_published in published.items():
                if was_published:  # the pipeline skips outputs that exist, and may need them
                    download(storage, name, local[name])
            result = transcoding.transcode(
                source=local[source],
                rendition=local[rendition],
                poster=local[poster],
                limits=limits,
                options=options,
                frames_dir=frames_dir,
                frame_count=frame_count,
            )
            # Rendition first: a run cut short after it makes only the poster next time.
            for name, was_published in published.items():
                if not was_published:
                    publish(storage, local[name], name)
            return result
