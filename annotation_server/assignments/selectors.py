"""Reads for task distribution: which batches a worker may work on, and their assignments."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple
from uuid import UUID

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from annotation_server.accounts.models import ExternalIdentity
from annotation_server.assignments.models import AnnotatorReview, Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.core.exceptions import NotFoundError

# What the API representation of an assignment reads (see assignments/serializers.py).
DISPLAY_RELATED = ("batch", "pair__prompt", "pair__video_0", "pair__video_1")


def batch_list_for_annotator(*, annotator, name: str | None = None) -> list[Batch]:
    """Published batches `annotator` may work on, highest priority first.

    This is the one statement of who may get new pairs of a batch: the batch is published, it
    has no groups or the annotator is in one of them, an admin did not reject the annotator's
    work there, and a crowd worker who entered through a study link works on that study's
    batch only.
    """
    memberships = Batch.groups.through.objects.filter(batch=OuterRef("pk"))
    study_bindings = ExternalIdentity.objects.filter(user=annotator, batch__isnull=False)
    batches = (
        Batch.objects.filter(status=Batch.Status.PUBLISHED)
        .filter(~Exists(memberships) | Exists(memberships.filter(group__user=annotator)))
        .exclude(
            Exists(
                AnnotatorReview.objects.filter(
                    batch=OuterRef("pk"),
                    annotator=annotator,
                    status=AnnotatorReview.Status.REJECTED,
                )
            )
        )
        .filter(~Exists(study_bindings) | Exists(study_bindings.filter(batch=OuterRef("pk"))))
        .order_by("-priority", "id")
    )
    if name is not None:
        batches = batches.filter(name=name)
    return list(batches)


def regular_candidates(*, batch: Batch, annotator) -> QuerySet[Pair]:
    """Regular pairs of `batch` with a free slot that `annotator` never had, best first.

    Ordered by (taken, id) over pair_claim_idx (batch, active, is_gold, taken, id): a scan
    stops at the first free row, so its cost depends on the annotator's own history and on
    concurrent claims, not on the batch's size.
    """
    had = Assignment.objects.filter(pair=OuterRef("pk"), annotator=annotator)
    return (
        Pair.objects.filter(batch=batch, active=True, is_gold=False, taken__lt=batch.overlap)
        .exclude(Exists(had))
        .order_by("taken", "id")
    )


def gold_candidates(*, batch: Batch, annotator) -> QuerySet[Pair]:
    """Gold pairs of `batch` that `annotator` never had, least used first."""
    had = Assignment.objects.filter(pair=OuterRef("pk"), annotator=annotator)
    kept = Q(annotations__rejected=False)
    return (
        Pair.objects.filter(batch=batch, active=True, is_gold=True)
        .exclude(Exists(had))
        .alias(used=Count("annotations", filter=kept))
        .order_by("used", "id")
    )


class OpenAssignment(NamedTuple):
    id: UUID
    batch_name: str
    slot: int | None
    live: bool  # False once past its expiry (not yet closed)


def assignment_list_open(*, annotator, now: dt.datetime) -> list[OpenAssignment]:
    """The annotator's open assignments (live and stale), oldest first."""
    rows = (
        Assignment.objects.filter(annotator=annotator, status=Assignment.Status.OPEN)
        .order_by("claimed_at", "id")
        .values_list("id", "batch__name", "slot", "expires_at")
    )
    return [OpenAssignment(pk, name, slot, expires_at > now) for pk, name, slot, expires_at in rows]


def assignment_for_display(*, assignment_id: UUID) -> Assignment:
    """One assignment with everything its API representation reads, in one query."""
    return Assignment.objects.select_related(*DISPLAY_RELATED).get(pk=assignment_id)


def assignment_get_own(*, annotator, assignment_id: UUID) -> Assignment | None:
    """The caller's own assignment, or None (someone else's looks exactly like a missing one)."""
    return (
        Assignment.objects.select_related(*DISPLAY_RELATED)
        .filter(pk=assignment_id, annotator=annotator)
        .first()
    )


def assignment_lock_own(*, annotator, assignment_id, related: tuple[str, ...] = ()) -> Assignment:
    """The annotator's own assignment, row-locked (inside a transaction); someone else's
    looks exactly like a missing one."""
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related(*related)
        .filter(pk=assignment_id, annotator=annotator)
        .first()
    )
    if assignment is None:
        raise NotFoundError("No such assignment of yours.", code="assignment_not_found")
    return assignment
