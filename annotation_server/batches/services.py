"""Batch services: importing a batch (prompts, videos, pairs) from a manifest or SafeSora config."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from tqdm import tqdm

from annotation_server.batches import pairing
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.importers import ImportIssue, ImportPlan, VideoRecord, load_import
from annotation_server.catalog.importers.records import Report
from annotation_server.catalog.importers.storage import copy_sources, delete_sources, source_name
from annotation_server.catalog.models import Prompt, Video
from annotation_server.catalog.services import (
    batch_refresh_processing_status,
    videos_enqueue_transcode,
)
from annotation_server.core.exceptions import ApplicationError

BULK_SIZE = 1000  # rows per INSERT/UPDATE statement
LOOKUP_SIZE = 5000  # ids per `IN (…)` lookup of existing rows


class BatchImportError(ApplicationError):
    """The input was refused; nothing was written. `issues` lists every problem found."""

    def __init__(self, issues: list[ImportIssue]):
        # Sorted by file and line so a person can walk the input top to bottom.
        self.issues = sorted(issues, key=lambda issue: (issue.file, issue.line))
        lines = [str(issue) for issue in self.issues]
        super().__init__(
            f"The import was refused with {len(issues)} problem(s); nothing was written.",
            code="import_invalid",
            errors={"issues": lines},
        )


@dataclass
class BatchImportResult:
    batch: Batch
    prompts_created: int = 0
    prompts_reused: int = 0
    videos_created: int = 0
    videos_reused: int = 0
    pairs_created: int = 0
    files_copied: int = 0
    transcodes_queued: list[int] = field(default_factory=list)


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
) -> BatchImportResult:
    """Create batch `name` from a JSONL manifest or SafeSora config (or a folder of configs).

    Everything is read, hashed and checked first, against the input and the database
    (prompts and videos of earlier imports are reused when identical). Any problem raises
    BatchImportError listing all of them, with the database and media storage unchanged.
    Then files are copied into media storage and one transaction writes the batch with
    batched inserts; transcoding of the new videos is queued after commit unless
    `enqueue_transcode` is False (benchmarks, tests). `progress` draws bars on the terminal
    (the command line); `report(stage, done, total)` hears of every file hashed and copied
    (the admin's import jobs).
    """
    issues = _check_arguments(name=name, overlap=overlap)
    plan = load_import(Path(path), progress=progress, report=report)
    issues += plan.issues
    existing = _Existing.load(plan, issues)
    if issues:
        raise BatchImportError(issues)

    new_videos = [v for v in plan.videos if v.video_id not in existing.videos]
    stored, created_files = copy_sources(new_videos, progress=progress, report=report)
    try:
        fields = _BatchFields(name, overlap, priority, owner, instructions)
        result = _write(
            plan,
            existing,
            new_videos,
            stored,
            fields,
            enqueue_transcode=enqueue_transcode,
            rows=_RowProgress(progress=progress, report=report),
        )
    except BaseException:
        _undo_copies(created_files)
        raise
    result.files_copied = len(created_files)
    return result


def _check_arguments(*, name: str, overlap: int) -> list[ImportIssue]:
    issues = []
    if not name or not name.strip():
        issues.append(ImportIssue("--name", 0, "", "the batch needs a name"))
    elif len(name) > Batch._meta.get_field("name").max_length:
        issues.append(ImportIssue("--name", 0, "", "the batch name is longer than 128 characters"))
    elif Batch.objects.filter(name=name).exists():
        issues.append(
            ImportIssue(
                "--name", 0, "", f"a batch named {name!r} already exists; choose another name"
            )
        )
    if overlap < 1:
        issues.append(ImportIssue("--overlap", 0, "", "must be at least 1"))
    return issues


@dataclass
class _Existing:
    """Rows of earlier imports that this input names, checked to agree with it."""

    prompts: dict[str, dict]
    videos: dict[str, dict]
    label_updates: list[tuple[int, dict]]

    @classmethod
    def load(cls, plan: ImportPlan, issues: list[ImportIssue]) -> _Existing:
        prompts = _lookup(
            Prompt,
            "prompt_id",
            [p.prompt_id for p in plan.prompts],
            ("id", "prompt_id", "text", "prompt_type", "prompt_labels"),
        )
        videos = _lookup(
            Video,
            "video_id",
            [v.video_id for v in plan.videos],
            (
                "id",
                "video_id",
                "prompt__prompt_id",
                "video_text",
                "generated_from",
                "sha256",
                "status",
            ),
        )
        updates = _compare_prompts(plan, prompts, issues)
        _compare_videos(plan, videos, issues)
        return cls(prompts, videos, updates)


def _report_conflicts(
    issues: list[ImportIssue],
    record,
    *,
    entity: str,
    ident: str,
    field: str | None,
    checks: tuple[tuple[str, Any, Any], ...],
) -> None:
    """An id already in the database must describe the same thing.

    With `field` None each differing attribute is its own issue on that attribute; with a
    `field` every issue would land on it, so only the first difference is reported.
    """
    for name, ours, theirs in checks:
        if ours != theirs:
            issues.append(
                ImportIssue(
                    record.file,
                    record.line,
                    field or name,
                    f"{entity} {ident!r} already exists with another {name}; "
                    f"give this {entity} another {entity}_id",
                )
            )
            if field is not None:
                return


def _compare_prompts(
    plan: ImportPlan, rows: dict[str, dict], issues: list[ImportIssue]
) -> list[tuple[int, dict]]:
    """Existing prompts must match; returns (pk, labels) for those that gain labels."""
    updates = []
    for record in plan.prompts:
        row = rows.get(record.prompt_id)
        if row is None:
            continue
        _report_conflicts(
            issues,
            record,
            entity="prompt",
            ident=record.prompt_id,
            field=None,
            checks=(
                ("prompt_text", record.text, row["text"]),
                ("prompt_type", record.prompt_type, row["prompt_type"]),
            ),
        )
        if record.prompt_labels is not None:
            if row["prompt_labels"] is None:
                updates.append((row["id"], record.prompt_labels))
            elif row["prompt_labels"] != record.prompt_labels:
                issues.append(
                    ImportIssue(
                        record.file,
                        record.line,
                        "prompt_labels",
                        f"prompt {record.prompt_id!r} already exists with other labels",
                    )
                )
    return updates


def _compare_videos(plan: ImportPlan, rows: dict[str, dict], issues: list[ImportIssue]) -> None:
    for record in plan.videos:
        row = rows.get(record.video_id)
        if row is None:
            continue
        _report_conflicts(
            issues,
            record,
            entity="video",
            ident=record.video_id,
            field=f"{record.field}.video_id",
            checks=(
                ("prompt_id", record.prompt_id, row["prompt__prompt_id"]),
                ("video_text", record.video_text, row["video_text"]),
                ("generated_from", record.generated_from, row["generated_from"]),
                ("file content", record.sha256, row["sha256"]),
            ),
        )


def _lookup(model: Any, key: str, ids: list[str], fields: tuple[str, ...]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for start in range(0, len(ids), LOOKUP_SIZE):
        chunk = ids[start : start + LOOKUP_SIZE]
        for row in model.objects.filter(**{f"{key}__in": chunk}).values(*fields):
            found[row[key]] = row
    return found


@dataclass(frozen=True)
class _BatchFields:
    name: str
    overlap: int
    priority: int
    owner: Any
    instructions: str


def _write(
    plan: ImportPlan,
    existing: _Existing,
    new_videos: list[VideoRecord],
    stored: dict[str, str],
    fields: _BatchFields,
    *,
    enqueue_transcode: bool,
    rows: _RowProgress,
) -> BatchImportResult:
    new_prompts = [p for p in plan.prompts if p.prompt_id not in existing.prompts]
    pair_specs = _pair_specs(plan)
    try:
        with rows, transaction.atomic():
            rows.start(len(new_prompts) + len(new_videos) + len(pair_specs))
            prompt_pks = _insert_prompts(new_prompts, existing, rows)
            videos = _insert_videos(new_videos, stored, prompt_pks, rows)
            video_pks = {v: row["id"] for v, row in existing.videos.items()}
            video_pks.update({v.video_id: v.pk for v in videos})
            # Reused videos that already finished (ready or failed) need no transcoding.
            statuses = [row["status"] for row in existing.videos.values()]
            all_done = not videos and all(
                s in (Video.Status.READY, Video.Status.FAILED) for s in statuses
            )
            batch = Batch.objects.create(
                name=fields.name,
                overlap=fields.overlap,
                priority=fields.priority,
                owner=fields.owner,
                instructions=fields.instructions,
                status=Batch.Status.READY if all_done else Batch.Status.PROCESSING,
            )
            failed = {
                row["id"]
                for row in existing.videos.values()
                if row["status"] == Video.Status.FAILED
            }
            pairs = _pair_rows(pair_specs, batch, prompt_pks, video_pks, failed)
            _bulk_create(Pair, pairs, rows)
            queued = [v.pk for v in videos] if enqueue_transcode else []
            if queued:
                transaction.on_commit(lambda: videos_enqueue_transcode(queued))
            elif batch.status == Batch.Status.PROCESSING:
                # Only reused videos, still being transcoded for an earlier batch: they may
                # have finished between our read and this commit, so look again afterwards.
                batch_pk = batch.pk
                transaction.on_commit(lambda: batch_refresh_processing_status(batch_pk=batch_pk))
    except IntegrityError as exc:
        raise ApplicationError(
            "Another import wrote some of the same prompts, videos or batch name meanwhile; "
            f"nothing of this import was written. Run it again. ({exc})",
            code="import_conflict",
        ) from exc
    return BatchImportResult(
        batch=batch,
        prompts_created=len(new_prompts),
        prompts_reused=len(existing.prompts),
        videos_created=len(videos),
        videos_reused=len(existing.videos),
        pairs_created=len(pairs),
        transcodes_queued=queued,
    )


class _RowProgress:
    """The "writing rows" stage, advanced per INSERT statement: a bar on the terminal (the
    command line) and/or the job's report (its row is written through a connection of its
    own, so the admin sees the count while the import's transaction is still open)."""

    STAGE = "writing rows"

    def __init__(self, *, progress: bool, report: Report | None):
        self.bar = tqdm(desc=self.STAGE, unit="row", disable=None if progress else True)
        self.report = report
        self.done = self.total = 0  # a disabled bar counts nothing

    def start(self, total: int) -> None:
        self.done, self.total = 0, total
        self.bar.reset(total=total)
        if self.report is not None:
            self.report(self.STAGE, 0, total)

    def advance(self, rows: int) -> None:
        self.done += rows
        self.bar.update(rows)
        if self.report is not None:
            self.report(self.STAGE, self.done, self.total)

    def __enter__(self) -> _RowProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def _insert_prompts(records: list, existing: _Existing, rows: _RowProgress) -> dict[str, int]:
    prompt_pks = {p: row["id"] for p, row in existing.prompts.items()}
    new_prompts = [
        Prompt(
            prompt_id=p.prompt_id,
            text=p.text,
            prompt_type=p.prompt_type,
            prompt_labels=p.prompt_labels,
        )
        for p in records
    ]
    for prompt in _bulk_create(Prompt, new_prompts, rows):
        prompt_pks[prompt.prompt_id] = prompt.pk
    if existing.label_updates:
        Prompt.objects.bulk_update(
            [Prompt(pk=pk, prompt_labels=labels) for pk, labels in existing.label_updates],
            ["prompt_labels"],
            batch_size=BULK_SIZE,
        )
    return prompt_pks


def _insert_videos(
    records: list[VideoRecord],
    stored: dict[str, str],
    prompt_pks: dict[str, int],
    rows: _RowProgress,
) -> list[Video]:
    now = timezone.now()
    return _bulk_create(
        Video,
        [
            Video(
                video_id=v.video_id,
                prompt_id=prompt_pks[v.prompt_id],
                video_text=v.video_text,
                generated_from=v.generated_from,
                source=stored[source_name(v)],
                sha256=v.sha256,
                source_size=v.size,
                status=Video.Status.PENDING,
                status_changed_at=now,
            )
            for v in records
        ],
        rows,
    )


def _pair_specs(plan: ImportPlan) -> list[tuple[str, str, str, str]]:
    """(prompt_id, pair_id, video_0, video_1) of every pair the batch gets."""
    if plan.pairs is not None:
        return [(p.prompt_id, p.pair_id, p.video_0, p.video_1) for p in plan.pairs]
    return pairing.all_pairs_by_prompt((v.prompt_id, v.video_id) for v in plan.videos)


def _pair_rows(
    specs: list[tuple[str, str, str, str]],
    batch: Batch,
    prompt_pks: dict[str, int],
    video_pks: dict[str, int],
    failed: set[int],
) -> list[Pair]:
    # A pair with a video that already failed transcoding is never handed out.
    return [
        Pair(
            batch=batch,
            prompt_id=prompt_pks[prompt_id],
            pair_id=pair_id,
            video_0_id=video_pks[v0],
            video_1_id=video_pks[v1],
            active=not ({video_pks[v0], video_pks[v1]} & failed),
        )
        for prompt_id, pair_id, v0, v1 in specs
    ]


def _undo_copies(names: list[str]) -> None:
    # A concurrent import may have committed rows that point at the same content address.
    still_used = set(Video.objects.filter(source__in=names).values_list("source", flat=True))
    delete_sources([n for n in names if n not in still_used])


def _bulk_create(model: Any, objs: list, rows: _RowProgress) -> list:
    """INSERT `objs` BULK_SIZE rows per statement, advancing the progress per statement."""
    created = []
    for start in range(0, len(objs), BULK_SIZE):
        chunk = objs[start : start + BULK_SIZE]
        created += model.objects.bulk_create(chunk)
        rows.advance(len(chunk))
    return created
