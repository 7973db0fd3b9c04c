"""Batch services: importing a batch (prompts, videos, pairs) from a manifest or SafeSora
config, or a classification batch (one item per unit) from a VHD11K release folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from annotation_server.batches.import_checks import ExistingRows, rows_lookup
from annotation_server.batches.import_common import (
    BatchFields,
    BatchImportError,
    BatchImportResult,
    batch_create,
    check_arguments,
    external_labels_check,
    external_labels_store,
    external_labels_writer_register,
    import_writes,
    process_after_commit,
    undo_copies,
)
from annotation_server.batches.import_rows import (
    RowProgress,
    bulk_create_in_batches,
    external_label,
    media_items_insert,
    pair_rows,
    pair_specs,
    prompts_insert,
    single_item_rows,
    videos_insert,
)
from annotation_server.batches.label_import import safesora_label_import
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.importers import ImportIssue, ImportPlan, VideoRecord, load_import
from annotation_server.catalog.importers.records import Report, collector_paused
from annotation_server.catalog.importers.storage import copy_sources, in_place_sources
from annotation_server.catalog.importers.vhd11k import is_release, read_release
from annotation_server.catalog.importers.vhd11k_storage import members_store
from annotation_server.catalog.models import Video
from annotation_server.catalog.taxonomy_data import taxonomy_latest

# Re-exported: callers import the import's error, result and writer registry from here.
__all__ = [
    "BatchImportError",
    "BatchImportResult",
    "batch_import",
    "classification_import",
    "external_labels_writer_register",
]


# Names a source of external annotations (ExternalAnnotation.source holds at most 64).
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,63}")
SOURCE_RULE = (
    "a source name is lower-case letters, digits, '_', '.', ':' or '-' (at most 64), "
    "e.g. safesora-release"
)


def batch_import(
    *,
    path: Path,
    name: str,
    overlap: int = 3,
    priority: int = 0,
    owner: Any = None,
    instructions: str = "",
    enqueue_transcode: bool = True,
    progress: bool = False,
    report: Report | None = None,
    kind: str | None = None,
    answers_source: str = "safesora-release",
    in_place: bool = False,
) -> BatchImportResult:
    """Create batch `name` from a JSONL manifest or SafeSora config (or a folder of configs).

    A VHD11K release folder makes a classification batch (`classification_import`), and
    so does a SafeSora-Label config given with `kind` "classification"
    (`label_import.safesora_label_import`); `kind` None tells pairwise and VHD11K apart by
    the input, a given `kind` must match it.

    Everything is read, hashed and checked first, against the input and the database
    (prompts and videos of earlier imports are reused when identical). Any problem raises
    BatchImportError listing all of them, with the database and media storage unchanged.
    Then files are copied into media storage and one transaction writes the batch with
    batched inserts; transcoding of the new videos is queued after commit unless
    `enqueue_transcode` is False (benchmarks, tests). `progress` draws bars on the terminal
    (the command line); `report(stage, done, total)` hears of every file hashed and copied
    (the admin's import jobs). `in_place` copies nothing: each video is referenced where it
    is, which must be inside the media storage's `imports/` folder (storage.in_place_sources).
    """
    path = Path(path)
    if is_release(path) or kind == Batch.Kind.CLASSIFICATION:
        if kind == Batch.Kind.PAIRWISE:
            raise BatchImportError(
                [
                    ImportIssue(
                        path.name, 0, "", "is a VHD11K release: it makes a classification batch"
                    )
                ]
            )
        if in_place:
            raise BatchImportError(
                [ImportIssue("--in-place", 0, "", "applies to manifests and SafeSora configs")]
            )
        fields = BatchFields(name, overlap, priority, owner, instructions)
        if not is_release(path):
            return safesora_label_import(
                path=path,
                fields=fields,
                enqueue_transcode=enqueue_transcode,
                progress=progress,
                report=report,
            )
        return classification_import(
            path=path,
            fields=fields,
            enqueue_transcode=enqueue_transcode,
            progress=progress,
            report=report,
        )
    issues = check_arguments(name=name, overlap=overlap)
    if not SOURCE_NAME.fullmatch(answers_source or ""):
        issues.append(ImportIssue("--answers-source", 0, "", SOURCE_RULE))
    plan = load_import(path, progress=progress, report=report)
    issues += plan.issues
    existing = ExistingRows.load(plan, issues)
    if issues:
        raise BatchImportError(issues)
    if plan.answers:
        external_labels_check()

    new_videos = [v for v in plan.videos if v.video_id not in existing.videos]
    if in_place:
        stored, issues = in_place_sources(new_videos)
        if issues:
            raise BatchImportError(issues)
    # Every record stays alive until its rows are written: the collector would only rescan it.
    with collector_paused():
        if in_place:
            created_files: list[str] = []
        else:
            stored, created_files = copy_sources(new_videos, progress=progress, report=report)
        try:
            fields = BatchFields(name, overlap, priority, owner, instructions)
            result = _write(
                plan,
                existing,
                new_videos,
                stored,
                fields,
                enqueue_transcode=enqueue_transcode,
                rows=RowProgress(progress=progress, report=report),
                answers_source=answers_source,
            )
        except BaseException:
            undo_copies(created_files)
            raise
    result.files_copied = len(created_files)
    return result


def _write(
    plan: ImportPlan,
    existing: ExistingRows,
    new_videos: list[VideoRecord],
    stored: dict[str, str],
    fields: BatchFields,
    *,
    enqueue_transcode: bool,
    rows: RowProgress,
    answers_source: str,
) -> BatchImportResult:
    new_prompts = [p for p in plan.prompts if p.prompt_id not in existing.prompts]
    specs = pair_specs(plan)
    with import_writes(rows):
        rows.start(len(new_prompts) + len(new_videos) + len(specs))
        prompt_pks = prompts_insert(new_prompts, existing, rows)
        videos = videos_insert(new_videos, stored, prompt_pks, rows)
        video_pks = {v: row["id"] for v, row in existing.videos.items()}
        video_pks.update({v.video_id: v.pk for v in videos})
        # Reused videos that already finished (ready or failed) need no transcoding.
        statuses = [row["status"] for row in existing.videos.values()]
        batch = batch_create(fields, new_media=videos, reused_statuses=statuses)
        failed = {
            row["id"] for row in existing.videos.values() if row["status"] == Video.Status.FAILED
        }
        pairs = pair_rows(specs, batch, prompt_pks, video_pks, failed)
        bulk_create_in_batches(Pair, pairs, rows)
        answers = _answers_store(plan, batch, pairs, answers_source)
        queued = process_after_commit(batch, videos, enqueue_transcode)
    return BatchImportResult(
        batch=batch,
        prompts_created=len(new_prompts),
        prompts_reused=len(existing.prompts),
        videos_created=len(videos),
        videos_reused=len(existing.videos),
        pairs_created=len(pairs),
        transcodes_queued=queued,
        external_created=answers,
    )


def _answers_store(plan: ImportPlan, batch: Batch, pairs: list[Pair], source: str) -> int:
    """The judgements the preference records carried, as external annotations of `source`
    (one per record: its `source_annotator` names the record's file and place)."""
    if not plan.answers:
        return 0
    pks = {pair.pair_id: pair.pk for pair in pairs}
    labels = [(pks[a.pair_id], a.answer, a.details) for a in plan.answers if a.pair_id in pks]
    return external_labels_store(batch, taxonomy_latest("safesora"), source, labels)


def classification_import(
    *,
    path: Path,
    fields: BatchFields,
    enqueue_transcode: bool = True,
    progress: bool = False,
    report: Report | None = None,
) -> BatchImportResult:
    """Create a classification batch from a VHD11K release folder, read from its zips.

    Every row and zip member is checked first; any problem raises BatchImportError with
    nothing written. Each member is then streamed once into media storage (hashed on the
    way; an item id already in the catalog is reused when it is the same bytes), and one
    transaction writes the items (images and videos, pending), one unit per item and the
    release's label of each as an external annotation (source "vhd11k"). Processing of the
    new items is queued after commit unless `enqueue_transcode` is False.
    """
    issues = check_arguments(name=fields.name, overlap=fields.overlap)
    if not is_release(path):
        issues.append(
            ImportIssue(
                path.name,
                0,
                "",
                "a classification batch is read from a VHD11K release folder "
                "(harmful_image_<N>_ann.csv|json beside harmful_images_<N>.zip, and/or the "
                "video ones)",
            )
        )
        raise BatchImportError(issues)
    external_labels_check()
    release = read_release(path)
    issues += release.issues
    existing = rows_lookup(
        Video,
        "video_id",
        [i.item_id for i in release.items],
        ("id", "video_id", "sha256", "media_type", "status"),
    )
    if issues:
        raise BatchImportError(issues)
    taxonomy = taxonomy_latest("vhd11k")
    new_ids = {i.item_id for i in release.items if i.item_id not in existing}
    stored, created = members_store(release.items, store=new_ids, progress=progress, report=report)
    try:
        conflicts = [
            ImportIssue(
                item.file,
                item.line,
                "",
                f"{item.item_id} is already in the catalog "
                f"as another {row['media_type']} file; rename it or remove the other",
            )
            for item in release.items
            if (row := existing.get(item.item_id)) is not None
            and (row["sha256"], row["media_type"]) != (stored[item.item_id].sha256, item.media_type)
        ]
        if conflicts:
            raise BatchImportError(conflicts)
        result = _write_classification(
            release,
            existing,
            stored,
            taxonomy,
            fields,
            enqueue_transcode=enqueue_transcode,
            rows=RowProgress(progress=progress, report=report),
        )
    except BaseException:
        undo_copies(created)
        raise
    result.files_copied = len(created)
    result.notes = release.notes
    return result


def _write_classification(release, existing, stored, taxonomy, fields, *, enqueue_transcode, rows):
    new_items = [i for i in release.items if i.item_id not in existing]
    with import_writes(rows):
        rows.start(len(new_items) + 2 * len(release.items))
        videos = media_items_insert(new_items, stored, rows)
        video_pks = {v: row["id"] for v, row in existing.items()}
        video_pks.update({v.video_id: v.pk for v in videos})
        statuses = [row["status"] for row in existing.values()]
        batch = batch_create(
            fields, new_media=videos, reused_statuses=statuses,
            kind=Batch.Kind.CLASSIFICATION, taxonomy=taxonomy,
        )  # fmt: skip
        failed = {r["id"] for r in existing.values() if r["status"] == Video.Status.FAILED}
        pairs = bulk_create_in_batches(
            Pair, single_item_rows(release.items, batch, video_pks, failed), rows
        )
        labels = [
            (pair.pk, *external_label(item))
            for pair, item in zip(pairs, release.items, strict=True)
        ]
        written = external_labels_store(batch, taxonomy, "vhd11k", labels)
        rows.advance(len(labels))
        queued = process_after_commit(batch, videos, enqueue_transcode)
    return BatchImportResult(
        batch=batch,
        videos_created=len(videos),
        videos_reused=len(existing),
        pairs_created=len(pairs),
        transcodes_queued=queued,
        external_created=written,
    )
