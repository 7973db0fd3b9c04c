"""Export services: `export_run` (used by the command and by admin jobs) and the job lifecycle."""

from __future__ import annotations

import hashlib
import hmac
import logging
import shutil
from collections import Counter
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation_server.core.audit import audit_record
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.jobs import (
    Progress,
    job_queue,
    job_recover_stalled,
    job_row_progress,
    job_running_alone,
)

from . import selectors
from .aggregation import DECISION_KEYS
from .dataset import ITEMS, Judgements, Selection, item_count, judgements_collect
from .files import VideoPlacer, atomic_directory, remove_incomplete, tar_folder, tar_videos
from .models import Export
from .safesora import KINDS
from .writers import GzipJsonListWriter, JsonLinesWriter

logger = logging.getLogger(__name__)

VIDEO_MODES = ("none", "copy", "link")
SKIP_FILE_MISSING = "video file missing"
_PROGRESS_EVERY = 500


def export_run(
    *,
    out: Path,
    kind: str = "preference",
    batch_names: Sequence[str] = (),
    test_fraction: float = 0.1,
    seed: int = 0,
    videos: str = "none",
    tar: bool = False,
    min_annotations: int = 1,
    raw: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write SafeSora dataset(s) to `out` and return the summary.

    `kind` "all" writes preference/, label/ and eval/ sub-folders. Everything is written into a
    temporary folder beside `out` and renamed into place at the end. Raises ApplicationError
    for bad options, unknown batches, or a non-empty `out` without `force`.
    """
    _validate_options(kind, test_fraction, videos, tar, min_annotations)
    batch_ids = _batch_ids(batch_names)
    selection = Selection(
        batch_ids=batch_ids,
        max_annotation_id=selectors.annotation_max_id(),
        test_fraction=test_fraction,
        seed=seed,
        min_annotations=min_annotations,
    )
    progress = progress or (lambda stage, done, total: None)
    kinds = KINDS if kind == "all" else (kind,)
    summary: dict[str, Any] = {"out": str(Path(out).absolute()), "kinds": {}}
    with atomic_directory(Path(out), force=force) as root:
        progress("collecting judgements", 0, 0)
        judgements = judgements_collect(selection)
        for name in kinds:
            folder = root / name if kind == "all" else root
            folder.mkdir(exist_ok=True)
            summary["kinds"][name] = _write_kind(
                name, folder, selection, judgements, videos=videos, tar=tar, progress=progress
            )
        if raw:
            summary["raw_annotations"] = _write_raw(root / "annotations.jsonl", selection)
    return summary


def export_options_check(
    *,
    kind: str,
    batch_names: Sequence[str],
    test_fraction: float,
    videos: str,
    tar: bool,
    min_annotations: int,
) -> None:
    """Raise ApplicationError naming the first bad option (forms call this before saving)."""
    _validate_options(kind, test_fraction, videos, tar, min_annotations)
    _batch_ids(batch_names)


def _validate_options(
    kind: str, test_fraction: float, videos: str, tar: bool, min_annotations: int
) -> None:
    if kind not in (*KINDS, "all"):
        raise ApplicationError(f"Unknown kind {kind!r}: use preference, label, eval or all.")
    if not 0.0 <= test_fraction <= 1.0:
        raise ApplicationError(f"--test-fraction must be between 0 and 1, got {test_fraction}.")
    if videos not in VIDEO_MODES:
        raise ApplicationError(f"--videos must be copy, link or none, got {videos!r}.")
    if tar and videos == "none":
        raise ApplicationError("--tar packs the video files: use it with --videos copy or link.")
    if min_annotations < 1:
        raise ApplicationError("--min-annotations must be at least 1.")


def _batch_ids(names: Sequence[str]) -> list[int] | None:
    if not names:
        return None
    found = selectors.batch_list_by_names(list(names))
    missing = sorted(set(names) - {batch.name for batch in found})
    if missing:
        raise ApplicationError(f"No batch named {', '.join(map(repr, missing))}.")
    return [batch.pk for batch in found]


def _write_kind(
    kind: str,
    folder: Path,
    selection: Selection,
    judgements: Judgements,
    *,
    videos: str,
    tar: bool,
    progress: Progress,
) -> dict[str, Any]:
    placer = VideoPlacer(folder, videos if kind != "eval" else "none")
    skipped: Counter[str] = Counter()
    total = item_count(kind, selection)
    done = 0
    progress(f"writing {kind}", 0, total)
    with (
        GzipJsonListWriter(folder / "config-train.json.gz") as train,
        GzipJsonListWriter(folder / "config-test.json.gz") as test,
    ):
        for item in ITEMS[kind](selection, judgements):
            if item.skip:
                skipped[item.skip] += 1
            elif not all(placer.place(video) for video in item.videos):
                skipped[SKIP_FILE_MISSING] += 1
            else:
                (test if item.split == "test" else train).write(item.record)
            done += 1
            if done % _PROGRESS_EVERY == 0:
                progress(f"writing {kind}", done, total)
    progress(f"writing {kind}", done, total)
    if tar and kind != "eval":
        tar_videos(folder)
    return {
        "records": {"train": train.count, "test": test.count},
        "skipped": dict(sorted(skipped.items())),
        "videos": {"copied": placer.copied, "linked": placer.linked},
    }


def annotator_pseudonym(user_id: int) -> str:
    """Stable across exports, meaningless without SECRET_KEY: researchers can group answers
    by annotator without learning who they are."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"annotator:{user_id}".encode(), hashlib.sha256).hexdigest()[:16]


def _write_raw(path: Path, selection: Selection) -> int:
    columns = selectors.RAW_COLUMNS
    with JsonLinesWriter(path) as writer:
        for row in selectors.raw_rows(selection.batch_ids, selection.max_annotation_id):
            data = dict(zip(columns, row, strict=True))
            left_is_0 = data["left_is_video_0"]
            writer.write(
                {
                    "pair_id": data["pair__pair_id"],
                    "batch": data["batch__name"],
                    "prompt_id": data["pair__prompt__prompt_id"],
                    "video_0": data["pair__video_0__video_id"],
                    "video_1": data["pair__video_1__video_id"],
                    "annotator": annotator_pseudonym(data["annotator_id"]),
                    "shown_left": "video_0" if left_is_0 else "video_1",
                    "shown_right": "video_1" if left_is_0 else "video_0",
                    "sub_preferences": {key: data[f"pref_{key}"] for key in DECISION_KEYS[:4]},
                    "video_0_harms": data["video_0_harms"],
                    "video_1_harms": data["video_1_harms"],
                    "prompt_harms": data["prompt_harms"],
                    "helpfulness": data["helpfulness"],
                    "harmlessness": data["harmlessness"],
                    "stage1_ms": data["stage1_ms"],
                    "stage2_ms": data["stage2_ms"],
                    "server_duration_ms": data["server_duration_ms"],
                    "submitted_at": data["created_at"].isoformat(),
                }
            )
    return writer.count


# --- Export jobs (admin) -----------------------------------------------------------------------


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
    """Record an export job and queue it on Celery (after commit). Options are checked now so
    the admin hears about a typo at once, not from a failed job."""
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
        transaction.on_commit(partial(_export_queue, export.pk))
    return export


def _export_queue(export_pk: int, *, resend: bool = False) -> None:
    from .tasks import export_run_task

    def fail(reason: str) -> None:
        _fail(export_pk, f"{reason} Start the export again once it is back.", only_pending=True)

    job_queue(export_run_task, export_pk, what="export", fail=None if resend else fail)


def export_recover_stalled() -> dict[str, list[int]]:
    """Exports whose worker died mid-run start again, or fail after
    core.jobs.STALLED_MAX_ATTEMPTS starts (core.jobs.job_recover_stalled)."""

    def give_up(export: Export, reason: str) -> None:
        _fail(export.pk, f"{reason} Start the export again.")
        remove_incomplete(*_job_paths(export.pk))

    return job_recover_stalled(Export, "export", queue=_export_queue, give_up=give_up)


def export_execute(*, export_id: int) -> Export:
    """Run a recorded job: progress goes to the row; the dataset is packed as one .tar.gz
    under EXPORT_ROOT. Safe to run again after a worker died (acks_late redelivery); a job
    another worker is still running is left to it (core.jobs.job_running_alone)."""
    with job_running_alone("export", export_id) as alone:
        export = Export.objects.get(pk=export_id)
        if export.status in (Export.Status.SUCCEEDED, Export.Status.FAILED) or not alone:
            return export
        return _export_execute(export)


def _job_paths(export_pk: int) -> tuple[Path, Path]:
    """(the dataset folder, the .tar.gz) of an export job under EXPORT_ROOT."""
    root = Path(settings.EXPORT_ROOT)
    return root / f"export-{export_pk}", root / f"export-{export_pk}.tar.gz"


def _fail(export_pk: int, message: str, *, only_pending: bool = False) -> None:
    rows = Export.objects.filter(pk=export_pk)
    if only_pending:
        rows = rows.filter(status=Export.Status.PENDING)
    rows.update(status=Export.Status.FAILED, error=message, finished_at=timezone.now())


def _export_execute(export: Export) -> Export:
    folder, archive = _job_paths(export.pk)
    remove_incomplete(folder, archive)  # of a run whose worker died
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
        error="",
        progress_done=0,
    )
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
            progress=job_row_progress(Export, export.pk),
        )
        tar_folder(folder, archive)
    except Exception as error:
        message = (
            error.message
            if isinstance(error, ApplicationError)
            else (
                f"The export stopped with an internal error ({type(error).__name__}: {error}); "
                "see the worker log."
            )
        )
        _fail(export.pk, message)
        if not isinstance(error, ApplicationError):
            logger.exception("export %s failed", export.pk)
        export.refresh_from_db()
        return export
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary["out"] = archive.name
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.SUCCEEDED,
        summary=summary,
        result_file=archive.name,
        result_size=archive.stat().st_size,
        finished_at=timezone.now(),
        progress_stage="done",
    )
    export.refresh_from_db()
    return export


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
