"""What every batch import shares: its error and result, the batch's own fields, the
checks of the command-line arguments, undoing copied files, queueing after commit, and
the registered writer of a release's own labels."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from annotation_server.batches.models import Batch, Pair
from annotation_server.batches.processing import batch_refresh_processing_status
from annotation_server.catalog.importers import ImportIssue
from annotation_server.catalog.importers.storage import delete_sources
from annotation_server.catalog.models import Video
from annotation_server.catalog.queueing import videos_enqueue_transcode
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.planner import statistics_refresh


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
    external_created: int = 0
    notes: list[ImportIssue] = field(default_factory=list)  # worth telling, not refusing


def check_arguments(*, name: str, overlap: int) -> list[ImportIssue]:
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


@dataclass(frozen=True)
class BatchFields:
    name: str
    overlap: int
    priority: int
    owner: Any
    instructions: str


def batch_create(fields: BatchFields, *, new_media: list, reused_statuses: Iterable[str],
                 **kind_fields: Any) -> Batch:  # fmt: skip
    """The import's batch: ready at once when it only reuses media already done (ready or
    failed), processing until its media are otherwise."""
    all_done = not new_media and all(
        s in (Video.Status.READY, Video.Status.FAILED) for s in reused_statuses
    )
    return Batch.objects.create(
        name=fields.name,
        overlap=fields.overlap,
        priority=fields.priority,
        owner=fields.owner,
        instructions=fields.instructions,
        status=Batch.Status.READY if all_done else Batch.Status.PROCESSING,
        **kind_fields,
    )


@contextmanager
def import_writes(rows: Any) -> Iterator[None]:
    """The import's one transaction (with its row progress). A row another import wrote
    meanwhile (same prompt, media item or batch name) refuses the whole import, nothing
    written, with a message to run it again."""
    try:
        with rows, transaction.atomic():
            yield
    except IntegrityError as exc:
        raise ApplicationError(
            "Another import wrote some of the same prompts, media items or batch name "
            f"meanwhile; nothing of this import was written. Run it again. ({exc})",
            code="import_conflict",
        ) from exc


def undo_copies(names: list[str]) -> None:
    # A concurrent import may have committed rows that point at the same content address.
    still_used = set(Video.objects.filter(source__in=names).values_list("source", flat=True))
    delete_sources([n for n in names if n not in still_used])


# The writer of a classification import's external labels (the release's own verdicts).
# `annotations`, which owns ExternalAnnotation, registers it in its AppConfig.ready: this
# layer may not import that one. Called inside the import's transaction with
# (batch, taxonomy, source, [(pair pk, answer, details)]); returns the rows written.
ExternalLabelsWriter = Callable[[Batch, Any, str, list[tuple[int, dict, dict]]], int]
_external_labels_writers: list[ExternalLabelsWriter] = []


def external_labels_writer_register(writer: ExternalLabelsWriter) -> None:
    if writer not in _external_labels_writers:
        _external_labels_writers.append(writer)


def external_labels_check() -> None:
    """Refuse an import of a release's labels before anything is read when no writer is
    registered (the annotations app registers it at start-up)."""
    if not _external_labels_writers:
        raise ApplicationError(
            "No writer of external annotations is registered (the annotations app registers "
            "it at start-up); nothing was imported.",
            code="import_unavailable",
        )


def external_labels_store(
    batch: Batch, taxonomy: Any, source: str, labels: list[tuple[int, dict, dict]]
) -> int:
    """Write a release's labels through the registered writers (inside the import's
    transaction); the number of rows written."""
    return sum(writer(batch, taxonomy, source, labels) for writer in _external_labels_writers)


def process_after_commit(batch: Batch, videos: list, enqueue_transcode: bool) -> list[int]:
    """Once the import commits: queue its new media items for processing, or, when it only
    reused items still being processed for an earlier batch (they may have finished between
    our read and this commit), look at the batch's status again. The queued pks."""
    queued = [v.pk for v in videos] if enqueue_transcode else []
    batch_pk = batch.pk if batch.status == Batch.Status.PROCESSING else None
    if videos or batch_pk is not None:
        transaction.on_commit(lambda: _committed(bool(videos), queued, batch_pk))
    return queued


def _committed(new_items: bool, queued: list[int], processing_batch_pk: int | None) -> None:
    if new_items:
        # The batch-ready check each finishing item makes joins these tables: planned on the
        # statistics of before the import, it walks every pair of the batch (quadratic).
        statistics_refresh(Video, Pair)
    if queued:
        videos_enqueue_transcode(queued)
    elif processing_batch_pk is not None:
        batch_refresh_processing_status(batch_pk=processing_batch_pk)
