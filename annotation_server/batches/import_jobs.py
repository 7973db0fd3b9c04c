"""Admin uploads imported in the background: stage the upload, queue it, run it on a worker.

A large zip of videos takes minutes to unpack, hash and copy; inside the web request that
would hold a web thread, meet the proxy's and gunicorn's timeouts, and leave the admin
staring at a spinning page (or a 502 with the outcome unknown). Here the request only saves
the uploaded files into a fresh staging folder and records a `BatchImport` row; a Celery
worker (queue `default`) unpacks the zip safely (catalog/importers/archive.py), runs the same
`batch_import` as the command line, and writes the outcome to the row, which the admin page
shows (it reloads itself until the job has finished).

All or nothing as before: a refused import lists every problem and writes nothing; the
staging folder goes when the job ends either way. A worker that dies mid-job leaves the row
running and the staging folder in place; the task is acknowledged late, so the broker hands
it to another worker, which starts again from the staged files.
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from functools import partial
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation_server.batches.models import Batch, BatchImport
from annotation_server.batches.services import BatchImportError, batch_import
from annotation_server.catalog.importers.archive import COPY_CHUNK, UNPACKING, extract_zip
from annotation_server.catalog.services import unqueued_message, videos_waiting_for_queue
from annotation_server.core.audit import audit_record
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.jobs import (
    job_queue,
    job_recover_stalled,
    job_row_progress,
    job_running_alone,
)

logger = logging.getLogger(__name__)

# Inside a job's staging folder: the uploaded zip and manifest as received (the manifest in
# a folder of its own, so no manifest name can take the zip's place), and, while the job
# runs, the zip's content with a copy of the manifest at its root, where the manifest's
# relative paths point.
UPLOADED_ZIP = "videos.zip"
MANIFEST_DIR = "manifest"
UNPACKED = "unpacked"


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
) -> BatchImport:
    """Stage an upload and queue its import (after commit). A name already taken is refused
    at once (ApplicationError); everything else is checked by the job."""
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
                manifest_name=manifest_name,
                videos_name=safe_upload_name(videos_name, UPLOADED_ZIP) if videos else "",
                staging=staging,
            )
            audit_record(
                actor=owner,
                verb="batch.import_start",
                target=job,
                details={"name": name, "manifest": manifest_name, "videos": job.videos_name},
            )
            transaction.on_commit(partial(_queue, job.pk))
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


def _queue(job_pk: int, *, resend: bool = False) -> None:
    from .tasks import batch_import_task

    def fail(reason: str) -> None:
        job = BatchImport.objects.get(pk=job_pk)
        _finish(job, BatchImport.Status.FAILED, problems=[f"{reason} Upload the files again."])
        shutil.rmtree(staging_folder(job), ignore_errors=True)  # no job will ever read it

    job_queue(batch_import_task, job_pk, what="batch import", fail=None if resend else fail)


def batch_import_execute(*, job_id: int) -> BatchImport:
    """Run a recorded import job (the Celery task's body). Safe to run again after a worker
    died: a finished job is left alone, an interrupted one starts again from its staging. A
    job another worker is still running (the broker redelivers tasks unacknowledged after
    CELERY_VISIBILITY_TIMEOUT, also long-running ones) is left to that worker."""
    with job_running_alone("batch_import", job_id) as alone:
        job = BatchImport.objects.get(pk=job_id)
        if job.finished or not alone:
            return job
        return _execute(job)


def batch_import_recover_stalled() -> dict[str, list[int]]:
    """Import jobs whose worker died mid-run start again from their staged upload, or fail
    (staging removed) after STALLED_MAX_ATTEMPTS starts (core.jobs.job_recover_stalled)."""

    def give_up(job: BatchImport, reason: str) -> None:
        _finish(job, BatchImport.Status.FAILED, problems=[f"{reason} Upload the files again."])
        shutil.rmtree(staging_folder(job), ignore_errors=True)

    return job_recover_stalled(BatchImport, "batch_import", queue=_queue, give_up=give_up)


def _execute(job: BatchImport) -> BatchImport:
    folder = staging_folder(job)
    if not (folder / MANIFEST_DIR / job.manifest_name).is_file():
        return _finish(
            job,
            BatchImport.Status.FAILED,
            problems=["The staged upload is gone (staging folder removed?); upload it again."],
        )
    BatchImport.objects.filter(pk=job.pk).update(
        status=BatchImport.Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
        progress_stage=UNPACKING,
        progress_done=0,
        progress_total=0,
    )
    try:
        result = _import_staged(job, folder)
    except BatchImportError as exc:
        return _finish(job, BatchImport.Status.FAILED, problems=exc.errors["issues"])
    except ApplicationError as exc:
        return _finish(job, BatchImport.Status.FAILED, problems=[exc.message])
    except Exception as exc:
        logger.exception("batch import %s failed", job.pk)
        return _finish(
            job,
            BatchImport.Status.FAILED,
            problems=[
                f"The import stopped with an internal error ({type(exc).__name__}: {exc}); "
                "nothing was imported. See the worker log, then upload the files again."
            ],
        )
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
    waiting = videos_waiting_for_queue(video_pks=result.transcodes_queued)
    if waiting:
        summary["warning"] = unqueued_message(waiting)
    return _finish(job, BatchImport.Status.SUCCEEDED, batch=result.batch, summary=summary)


def _import_staged(job: BatchImport, folder: Path):
    unpacked = folder / UNPACKED
    shutil.rmtree(unpacked, ignore_errors=True)  # left by an interrupted run: start again
    unpacked.mkdir()
    report = job_row_progress(BatchImport, job.pk)
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
    # Beside the videos, as before the jobs (a zip member of the same name gives way).
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


def _finish(job: BatchImport, status: str, **fields) -> BatchImport:
    BatchImport.objects.filter(pk=job.pk).update(
        status=status, progress_stage="done", finished_at=timezone.now(), **fields
    )
    job.refresh_from_db()
    return job
