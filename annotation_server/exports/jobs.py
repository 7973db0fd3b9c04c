"""Export jobs started from the admin: record one, its work for the job runner (core.jobs),
its packed result."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from annotation_server.core.audit import audit_record
from annotation_server.core.jobs import JobKind, Progress, job_enqueue

from .files import remove_incomplete, tar_folder
from .models import Export
from .services import export_options_check, export_run

KIND = "export"


def export_start(
    *,
    owner,
    kind: str,
    batch_names: Sequence[str] = (),
    test_fraction: float = 0.1,
    seed: int = 0,
    videos: str = "none",
    tar_videos: bool = False,
    min_annotations: int = 1,
    raw: bool = False,
) -> Export:
    """Record an export job and queue it (after commit). Options are checked now so the
    admin hears about a typo at once, not from a failed job."""
    export_options_check(
        kind=kind,
        batch_names=batch_names,
        test_fraction=test_fraction,
        videos=videos,
        tar=tar_videos,
        min_annotations=min_annotations,
    )
    with transaction.atomic():
        export = Export.objects.create(
            owner=owner,
            kind=kind,
            batch_names=list(batch_names),
            test_fraction=test_fraction,
            seed=seed,
            videos=videos,
            tar_videos=tar_videos,
            min_annotations=min_annotations,
            raw=raw,
        )
        audit_record(
            actor=owner,
            verb="export.start",
            target=export,
            details={"kind": kind, "batches": list(batch_names), "videos": videos, "raw": raw},
        )
        job_enqueue(KIND, export.pk)
    return export


def _job_paths(export_pk: int) -> tuple[Path, Path]:
    """(the dataset folder, the .tar.gz) of an export job under EXPORT_ROOT."""
    root = Path(settings.EXPORT_ROOT)
    return root / f"export-{export_pk}", root / f"export-{export_pk}.tar.gz"


def export_work(export: Export, progress: Progress) -> dict[str, Any]:
    """The job's work: the dataset, packed as one .tar.gz under EXPORT_ROOT."""
    folder, archive = _job_paths(export.pk)
    remove_incomplete(folder, archive)  # of a run whose worker died
    try:
        summary = export_run(
            out=folder,
            kind=export.kind,
            batch_names=export.batch_names,
            test_fraction=export.test_fraction,
            seed=export.seed,
            videos=export.videos,
            tar=export.tar_videos,
            min_annotations=export.min_annotations,
            raw=export.raw,
            force=True,
            progress=progress,
        )
        tar_folder(folder, archive)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary["out"] = archive.name
    return {
        "summary": summary,
        "result_file": archive.name,
        "result_size": archive.stat().st_size,
    }


def _discard(export: Export) -> None:
    remove_incomplete(*_job_paths(export.pk))


EXPORT_JOB = JobKind(
    name=KIND,
    model=Export,
    work=export_work,
    label="export",
    again="Start the export again.",
    discard=_discard,
)


def export_result_path(export: Export) -> Path | None:
    """The finished archive on disk, or None; never a path outside EXPORT_ROOT."""
    if export.status != Export.Status.SUCCEEDED or not export.result_file:
        return None
    root = Path(settings.EXPORT_ROOT).resolve()
    path = (root / export.result_file).resolve()
    if path.parent != root or not path.is_file():
        return None
    return path


def export_delete(*, export: Export) -> None:
    """Delete a job row and its archive (the archive holds every answer: don't leave it)."""
    path = export_result_path(export)
    export.delete()
    if path is not None:
        path.unlink(missing_ok=True)
