"""Reads for task distribution: what a worker may work on, their assignments, their counts."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from annotation_server.accounts.models import ExternalIdentity
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch
from annotation_server.quality.models import AnnotatorReview

# What the API representation of an assignment reads (see assignments/apis.py).
DISPLAY_RELATED = ("batch", "pair__prompt", "pair__video_0", "pair__video_1")

# A worker holds at most this many open assignments: the current one and one prefetched.
MAX_OPEN_PER_ANNOTATOR = 2


def batch_list_for_annotator(*, annotator, name: str | None = None) -> list[Batch]:
    """Published batches `annotator` may work on, highest priority first.

    A batch with no groups is open to every annotator; otherwise the annotator must be in one
    of its groups. A batch where an admin rejected the annotator's work is closed to them, and
    a crowd worker who entered through a study link works on that study's batch only.
    """
    groups = Batch.groups.through.objects.filter(batch_id=OuterRef("pk"))
    rejected = AnnotatorReview.objects.filter(
        batch_id=OuterRef("pk"), annotator=annotator, status=AnnotatorReview.Status.REJECTED
    )
    entry = ExternalIdentity.objects.filter(user_id=annotator.pk, batch__isnull=False)
    qs = Batch.objects.filter(
        ~Exists(groups) | Exists(groups.filter(group__user=annotator)),
        ~Exists(rejected),
        ~Exists(entry) | Exists(entry.filter(batch_id=OuterRef("pk"))),
        status=Batch.Status.PUBLISHED,
    )
    if name is not None:
        qs = qs.filter(name=name)
    return list(qs.order_by("-priority", "id"))


def assignment_list_open(
    *, annotator, now: dt.datetime, batch_name: str | None = None
) -> list[Assignment]:
    """The annotator's live open assignments, oldest first (a reload resumes the first)."""
    qs = Assignment.objects.filter(
        annotator=annotator, status=Assignment.Status.OPEN, expires_at__gt=now
    )
    if batch_name is not None:
        qs = qs.filter(batch__name=batch_name)
    qs = qs.select_related(*DISPLAY_RELATED).order_by("claimed_at", "id")
    return list(qs[: MAX_OPEN_PER_ANNOTATOR + 1])


def assignment_for_display(*, assignment_id: UUID) -> Assignment:
    """One assignment with everything its API representation reads, in one query."""
    return Assignment.objects.select_related(*DISPLAY_RELATED).get(pk=assignment_id)


def assignment_get_own(*, annotator, assignment_id: UUID) -> Assignment | None:
    """The caller's own assignment, or None (someone else's looks exactly like a missing one)."""
    try:
        assignment = assignment_for_display(assignment_id=assignment_id)
    except Assignment.DoesNotExist:
        return None
    return assignment if assignment.annotator_id == annotator.pk else None


def annotator_counts(*, annotator) -> dict[str, int]:
    """Submitted annotations today (server time zone) and in total, and open assignments."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    mine: QuerySet = Annotation.objects.filter(annotator=annotator)
    return {
        "today": mine.filter(created_at__gte=start).count(),
        "total": mine.count(),
        "open": Assignment.objects.filter(
            annotator=annotator, status=Assignment.Status.OPEN, expires_at__gt=timezone.now()
        ).count(),
    }
