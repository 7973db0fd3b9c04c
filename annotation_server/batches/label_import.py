"""A classification batch from a SafeSora-Label dataset: one unit per labelled video, on
the SafeSora taxonomy, with the release's labels kept as external annotations."""

from __future__ import annotations

from pathlib import Path

from annotation_server.batches.import_checks import ExistingRows
from annotation_server.batches.import_common import (
    BatchFields,
    BatchImportError,
    BatchImportResult,
    batch_create,
    check_arguments,
    external_labels_check,
    external_labels_store,
    import_writes,
    process_after_commit,
    undo_copies,
)
from annotation_server.batches.import_rows import (
    RowProgress,
    bulk_create_in_batches,
    prompts_insert,
    videos_insert,
)
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.importers.records import Report
from annotation_server.catalog.importers.safesora_label import SOURCE, read_label_release
from annotation_server.catalog.importers.storage import copy_sources
from annotation_server.catalog.models import Video
from annotation_server.catalog.taxonomy_data import taxonomy_latest

TAXONOMY = "safesora"


def safesora_label_import(
    *,
    path: Path,
    fields: BatchFields,
    enqueue_transcode: bool = True,
    progress: bool = False,
    report: Report | None = None,
) -> BatchImportResult:
    """Create a classification batch from SafeSora-Label configs (a config or a dataset
    folder): one unit per video (`pair_id` = its video_id, with its prompt), the batch asking
    the SafeSora taxonomy, and each record's labels as an external annotation of source
    "safesora-label" (`details` keeps the whole record). Checked first, like every import:
    any problem raises BatchImportError with nothing written."""
    external_labels_check()
    issues = check_arguments(name=fields.name, overlap=fields.overlap)
    release = read_label_release(Path(path), progress=progress, report=report)
    plan = release.plan
    issues += plan.issues
    existing = ExistingRows.load(plan, issues)
    if issues:
        raise BatchImportError(issues)
    taxonomy = taxonomy_latest(TAXONOMY)
    new_videos = [v for v in plan.videos if v.video_id not in existing.videos]
    stored, created = copy_sources(new_videos, progress=progress, report=report)
    try:
        result = _write(
            release, existing, new_videos, stored, taxonomy, fields, enqueue_transcode,
            RowProgress(progress=progress, report=report),
        )  # fmt: skip
    except BaseException:
        undo_copies(created)
        raise
    result.files_copied = len(created)
    return result


def _write(release, existing, new_videos, stored, taxonomy, fields, enqueue_transcode, rows):
    plan = release.plan
    new_prompts = [p for p in plan.prompts if p.prompt_id not in existing.prompts]
    with import_writes(rows):
        rows.start(len(new_prompts) + len(new_videos) + 2 * len(plan.videos))
        prompt_pks = prompts_insert(new_prompts, existing, rows)
        videos = videos_insert(new_videos, stored, prompt_pks, rows)
        video_pks = {v: row["id"] for v, row in existing.videos.items()}
        video_pks.update({v.video_id: v.pk for v in videos})
        statuses = [row["status"] for row in existing.videos.values()]
        batch = batch_create(
            fields, new_media=videos, reused_statuses=statuses,
            kind=Batch.Kind.CLASSIFICATION, taxonomy=taxonomy,
        )  # fmt: skip
        failed = {
            row["id"] for row in existing.videos.values() if row["status"] == Video.Status.FAILED
        }
        units = [
            Pair(
                batch=batch,
                prompt_id=prompt_pks[v.prompt_id],
                pair_id=v.video_id,
                video_0_id=video_pks[v.video_id],
                video_1=None,
                active=video_pks[v.video_id] not in failed,
            )
            for v in plan.videos
        ]
        pairs = bulk_create_in_batches(Pair, units, rows)
        labels = [
            (pair.pk, *release.labels[pair.pair_id])
            for pair in pairs
            if pair.pair_id in release.labels
        ]
        written = external_labels_store(batch, taxonomy, SOURCE, labels)
        rows.advance(len(labels))
        queued = process_after_commit(batch, videos, enqueue_transcode)
    return BatchImportResult(
        batch=batch,
        prompts_created=len(new_prompts),
        prompts_reused=len(existing.prompts),
        videos_created=len(videos),
        videos_reused=len(existing.videos),
        pairs_created=len(pairs),
        transcodes_queued=queued,
        external_created=written,
    )
