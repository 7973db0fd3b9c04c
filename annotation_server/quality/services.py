"""Acting on quality: reject or approve one annotator's work in one batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from annotation_server.accounts import roles
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.lifecycle import require_admin
from annotation_server.batches.models import Batch, Pair
from annotation_server.core.audit import audit_record
from annotation_server.core.exceptions import ApplicationError, ConflictError
from annotation_server.quality.models import AnnotatorReview

# Ids per `IN (...)` list: an annotator's work in a SafeSora-sized batch can be tens of
# thousands of rows, and one statement takes at most 65,535 parameters.
WRITE_CHUNK = 5000


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), WRITE_CHUNK):
        yield ids[start : start + WRITE_CHUNK]


def _check_target(*, batch: Batch, annotator) -> None:
    if roles.is_admin(annotator) and not roles.is_annotator(annotator):
        raise ApplicationError("Only annotators' work can be reviewed.")
    if not Assignment.objects.filter(batch=batch, annotator=annotator).exists():
        raise ApplicationError(f"{annotator.get_username()} has no work in batch {batch.name!r}.")


@transaction.atomic
def annotator_work_reject(
    *, batch: Batch, annotator, actor: Any | None, note: str = ""
) -> AnnotatorReview:
    """Reject all of `annotator`'s work in `batch` and put their pairs back in the queue.

    Their annotations are marked rejected (exports leave them out), their submitted and
    open assignments become "released", and each regular pair gets its slot back, so other
    annotators judge it again. Cannot be undone. Rejecting again catches work done since the
    last rejection; with nothing new it is refused.
    """
    require_admin(actor)
    _check_target(batch=batch, annotator=annotator)
    existing = (
        AnnotatorReview.objects.select_for_update().filter(batch=batch, annotator=annotator).first()
    )
    already = existing is not None and existing.status == AnnotatorReview.Status.REJECTED
    now = timezone.now()
    # Lock order as in the assignment services: assignment rows, then pair rows.
    assignments = list(
        Assignment.objects.select_for_update()
        .filter(
            batch=batch,
            annotator=annotator,
            status__in=[Assignment.Status.SUBMITTED, Assignment.Status.OPEN],
        )
        .order_by("pk")
        .values_list("pk", "pair_id", "status", "is_gold")
    )
    submitted_pairs = sorted(
        p for _, p, s, gold in assignments if s == Assignment.Status.SUBMITTED and not gold
    )
    open_pairs = sorted(
        p for _, p, s, gold in assignments if s == Assignment.Status.OPEN and not gold
    )
    if already and not assignments:
        raise ConflictError(
            f"{annotator.get_username()}'s work in {batch.name!r} was already rejected on "
            f"{existing.at:%Y-%m-%d %H:%M} UTC, and they have done nothing there since."
        )
    for ids in _chunks([a[0] for a in assignments]):
        Assignment.objects.filter(pk__in=ids).update(
            status=Assignment.Status.RELEASED, finished_at=now
        )
    rejected = Annotation.objects.filter(batch=batch, annotator=annotator, rejected=False).update(
        rejected=True
    )
    # One slot per pair (an annotator holds at most one assignment per pair); pair rows are
    # locked in id order like every other counter update (chunks in ascending order keep it).
    for ids in _chunks(sorted(submitted_pairs + open_pairs)):
        list(
            Pair.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Pair.objects.filter(pk__in=ids).update(taken=Greatest(F("taken") - 1, 0))
    review, _ = AnnotatorReview.objects.update_or_create(
        batch=batch,
        annotator=annotator,
        defaults={
            "status": AnnotatorReview.Status.REJECTED,
            "note": note[:2000],
            "by": actor,
            "at": now,
            "annotations_affected": rejected + (existing.annotations_affected if already else 0),
        },
    )
    audit_record(
        actor=actor,
        verb="annotator.reject",
        target=annotator,
        batch=batch,
        target_label=annotator.get_username(),
        details={
            "annotations_rejected": rejected,
            "pairs_requeued": len(submitted_pairs) + len(open_pairs),
            "note": note[:500],
        },
    )
    return review


@transaction.atomic
def annotator_work_approve(
    *, batch: Batch, annotator, actor: Any | None, note: str = ""
) -> AnnotatorReview:
    """Record that an admin checked and approved `annotator`'s work in `batch`.

    Changes no annotation. Refused after a rejection: rejected work was already re-queued.
    """
    require_admin(actor)
    _check_target(batch=batch, annotator=annotator)
    existing = (
        AnnotatorReview.objects.select_for_update().filter(batch=batch, annotator=annotator).first()
    )
    if existing and existing.status == AnnotatorReview.Status.REJECTED:
        raise ConflictError(
            f"{annotator.get_username()}'s work in {batch.name!r} was rejected on "
            f"{existing.at:%Y-%m-%d %H:%M} UTC and its pairs re-queued; it cannot be approved."
        )
    count = Annotation.objects.filter(batch=batch, annotator=annotator).count()
    review, _ = AnnotatorReview.objects.update_or_create(
        batch=batch,
        annotator=annotator,
        defaults={
            "status": AnnotatorReview.Status.APPROVED,
            "note": note[:2000],
            "by": actor,
            "at": timezone.now(),
            "annotations_affected": count,
        },
    )
    audit_record(
        actor=actor,
        verb="annotator.approve",
        target=annotator,
        batch=batch,
        target_label=annotator.get_username(),
        details={"annotations": count, "note": note[:500]},
    )
    return review
