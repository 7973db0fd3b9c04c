"""Admin uploads imported in the background: stage the upload, queue it, import it on a worker
(a job of the core runner, core.jobs).

A VHD11K release arrives as its annotation file (`harmful_image_<N>_ann.csv|json`) and its
zip; the job puts the two side by side under the release's own names and imports that folder
as the command line does, straight from the zip (no unpacking).

A large zip of videos takes minutes to unpack, hash and copy; inside the web request that
would hold a web thread, meet the proxy's and gunicorn's timeouts, and leave the admin
staring at a spinning page (or a 502 with the outcome unknown). Here the request only saves
the uploaded files into a fresh staging folder and records a `BatchImport` row; a Celery
worker (queue `default`) unpacks the zip safely (catalog/importers/archive.py), runs the same
`batch_import` as the command line, and the runner writes the outcome to the row, which the
admin page shows (it reloads itself until the job has finished).

All or nothing as before: a refused import lists every problem and writes nothing; the
staging folder goes when the job ends either way. A worker that dies mid-job leaves the row
running and the staging folder in place; the runner's recovery sweep queues it again, and
the next run starts again from the staged files.
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction

from annotation_server.batches.counted_sources import batch_source_count, batch_sources
from annotation_server.batches.models import Batch, BatchImport
from annotation_server.batches.services import BatchImportError, batch_import
from annotation_server.catalog.importers.archive import COPY_CHUNK, UNPACKING, extract_zip
from annotation_server.catalog.importers.vhd11k import release_zip_name
from annotation_server.catalog.queueing import unqueued_message, videos_waiting_for_queue
from annotation_server.core.audit import audit_record
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.jobs import JobFailed, JobKind, Progress, job_enqueue

KIND = "batch_import"

# Inside a job's staging folder: the uploaded zip and manifest as received (the manifest in
# a folder of its own, so no manifest name can take the zip's place), and, while the job
# runs, the zip's content with a copy of the manifest at its root, where the manifest's
# relative paths point.
UPLOADED_ZIP = "videos.zip"
MANIFEST_DIR = "manifest"
UNPACKED = "unpacked"
RELEASE = "release"


def safe_upload_name(upload_name: str, default: str) -> str:
    """Only the base name, reduced to harmless characters: it names the file in messages and
    on disk inside the staging folder (never a path from the upload)."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", Path(upload_name).name).lstrip(".")
    return base[:200] or default


def staging_folder(job: BatchImport) -> Path:
    """The job's staging folder; its name is 32 hex digits made by `batch_import_start`."""
    if not re.fullmatch(r"[0-9a-f]{32}", job.staging):
        raise ValueError(f"not a staging folder name: {job.staging!r}")
    return Path(settings.IMPORT_STAGING_ROOT) / job.staging


def batch_import_start(
    *,
    owner,
    name: str,
    overlap: int,
    priority: int,
    instructions: str,
    manifest: BinaryIO,
    manifest_name: str,
    videos: BinaryIO | None,
    videos_name: str = "",
    answers_count: bool = False,
) -> BatchImport:
    """Stage an upload and queue its import (after commit). A name already taken is refused
    at once (ApplicationError); everything else is checked by the job. `answers_count`: the
    answers the upload carries count as the new batch's (import_batch --answers-count)."""
    if Batch.objects.filter(name=name).exists():
        raise ApplicationError(
            f"A batch named {name!r} already exists; choose another name.", code="name_taken"
        )
    staging = uuid.uuid4().hex
    folder = Path(settings.IMPORT_STAGING_ROOT) / staging
    manifest_name = safe_upload_name(manifest_name, "manifest.jsonl")
    try:
        (folder / MANIFEST_DIR).mkdir(parents=True)
        _save(manifest, folder / MANIFEST_DIR / manifest_name)
        if videos is not None:
            _save(videos, folder / UPLOADED_ZIP)
        with transaction.atomic():
            job = BatchImport.objects.create(
                owner=owner,
                name=name,
                overlap=overlap,
                priority=priority,
                instructions=instructions,
                answers_count=answers_count,
                manifest_name=manifest_name,
                videos_name=safe_upload_name(videos_name, UPLOADED_ZIP) if videos else "",
                staging=staging,
            )
            audit_record(
                actor=owner,
                verb="batch.import_start",
                target=job,
                details={
                    "name": name,
                    "manifest": manifest_name,
                    "videos": job.videos_name,
                    "answers_count": answers_count,
                },  # fmt: skip
            )
            job_enqueue(KIND, job.pk)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return job


def _save(upload: BinaryIO, path: Path) -> None:
    temporary = getattr(upload, "temporary_file_path", None)
    if temporary is not None:
        # Django streamed a large upload to a temporary file: move it (a rename on the same
        # file system) instead of copying gigabytes inside the request. Django's close()
        # then finds it gone, which it allows.
        shutil.move(temporary(), path)
        return
    chunks = getattr(upload, "chunks", None)
    with open(path, "wb") as out:
        if chunks is not None:  # a Django UploadedFile held in memory
            for chunk in chunks():
                out.write(chunk)
        else:
            shutil.copyfileobj(upload, out, COPY_CHUNK)


def batch_import_work(job: BatchImport, report: Progress) -> dict:
    """The job's work: unpack the staged upload, import it, remove the staging folder. A
    refused import fails the job with every problem (JobFailed); nothing is imported."""
    folder = staging_folder(job)
    if not (folder / MANIFEST_DIR / job.manifest_name).is_file():
        raise JobFailed("The staged upload is gone (staging folder removed?); upload it again.")
    try:
        # One transaction with the counting: a source refused there (a machine's, say)
        # leaves nothing imported, as any other refusal.
        with transaction.atomic():
            result = _import_staged(job, folder, report)
            counted = _count(job, result.batch) if job.answers_count else []
    except BatchImportError as exc:
        issues = exc.errors["issues"]
        raise JobFailed(
            f"The import was refused with {len(issues)} problem(s); nothing was imported.",
            problems=issues,
        ) from exc
    except ApplicationError as exc:
        raise JobFailed(f"{exc.message} Nothing was imported.") from exc
    finally:
        # The import copied what it keeps into media storage; the staged upload goes.
        shutil.rmtree(folder, ignore_errors=True)
    summary = {
        "pairs": result.pairs_created,
        "prompts_created": result.prompts_created,
        "prompts_reused": result.prompts_reused,
        "videos_created": result.videos_created,
        "videos_reused": result.videos_reused,
        "files_copied": result.files_copied,
    }
    if counted:
        summary["counted"] = counted
    warnings = []
    if job.answers_count and not counted:
        warnings.append("The upload carried no answers; none count.")
    waiting = videos_waiting_for_queue(video_pks=result.transcodes_queued)
    if waiting:
        warnings.append(unqueued_message(waiting))
    if warnings:
        summary["warning"] = " ".join(warnings)
    return {"batch": result.batch, "summary": summary}


def _count(job: BatchImport, batch: Batch) -> list[str]:
    """Count every source of answers the import kept, as import_batch --answers-count does;
    one line per source. The batch is not published yet: no claim sees it uncredited."""
    unit = "item" if batch.kind == Batch.Kind.CLASSIFICATION else "pair"
    lines = []
    for source in batch_sources(batch):
        counted = batch_source_count(batch=batch, source=source, actor=job.owner)
        lines.append(
            f"Answers of {source!r} count: {counted['credited_pairs']} {unit}(s) credited "
            f"with {counted['credited_judgements']} judgement(s)."
        )
    return lines


def _import_staged(job: BatchImport, folder: Path, report: Progress):
    zip_name = release_zip_name(job.manifest_name)
    if zip_name is not None:
        return _import_release(job, folder, zip_name, report)
    unpacked = folder / UNPACKED
    shutil.rmtree(unpacked, ignore_errors=True)  # left by an interrupted run: start again
    unpacked.mkdir()
    zip_path = folder / UPLOADED_ZIP
    if zip_path.is_file():
        issues = extract_zip(
            zip_path,
            unpacked,
            display=job.videos_name or UPLOADED_ZIP,
            max_bytes=settings.IMPORT_MAX_UNZIPPED_BYTES,
            report=report,
        )
        if issues:
            raise BatchImportError(issues)
    # Beside the videos, where the manifest's relative paths point (a zip member of the same
    # name gives way).
    manifest = unpacked / job.manifest_name
    if manifest.is_dir():
        shutil.rmtree(manifest)
    shutil.copyfile(folder / MANIFEST_DIR / job.manifest_name, manifest)
    return batch_import(
        path=manifest,
        name=job.name,
        overlap=job.overlap,
        priority=job.priority,
        instructions=job.instructions,
        owner=job.owner,
        report=report,
    )


def _import_release(job: BatchImport, folder: Path, zip_name: str, report: Progress):
    """A VHD11K annotation file and its zip, linked side by side under the release's names
    (hard links: the staged files stay where a rerun finds them)."""
    release = folder / RELEASE
    shutil.rmtree(release, ignore_errors=True)  # left by an interrupted run: start again
    release.mkdir()
    (release / job.manifest_name).hardlink_to(folder / MANIFEST_DIR / job.manifest_name)
    if (folder / UPLOADED_ZIP).is_file():
        (release / zip_name).hardlink_to(folder / UPLOADED_ZIP)
    return batch_import(
        path=release,
        name=job.name,
        overlap=job.overlap,
        priority=job.priority,
        instructions=job.instructions,
        owner=job.owner,
        report=report,
    )


def _discard(job: BatchImport) -> None:
    shutil.rmtree(staging_folder(job), ignore_errors=True)  # no run will ever read it


BATCH_IMPORT_JOB = JobKind(
    name=KIND,
    model=BatchImport,
    work=batch_import_work,
    label="import",
    again="Upload the files again.",
    discard=_discard,
    first_stage=UNPACKING,
)
