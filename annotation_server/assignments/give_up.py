"""Skip or report a pair: the worker gives the assignment back, with a reason."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from annotation_server.assignments import expiry
from annotation_server.assignments.models import Assignment, PairReport
from annotation_server.assignments.selectors import assignment_lock_own
from annotation_server.core.exceptions import ApplicationError, ConflictError


@transaction.atomic
def assignment_give_up(
    *,
    annotator,
    assignment_id,
    kind: str,
    reason: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> Assignment:
    """Skip or report (`kind`) one of the annotator's assignments, with a reason.

    The slot goes back to the pool and the annotator never gets this pair again. Reports
    appear in the admin. Repeating the same skip or report is harmless.
    """
    if kind not in PairReport.Kind.values:
        raise ApplicationError(f"kind must be one of {', '.join(PairReport.Kind.values)}.")
    if reason not in PairReport.Reason.values:
        raise ApplicationError(
            f"Unknown reason {reason!r}; use one of {', '.join(PairReport.Reason.values)}.",
            errors={"reason": [f"must be one of {', '.join(PairReport.Reason.values)}"]},
        )
    now = now or timezone.now()
    assignment = assignment_lock_own(annotator=annotator, assignment_id=assignment_id)
    target = (
        Assignment.Status.SKIPPED if kind == PairReport.Kind.SKIP else Assignment.Status.REPORTED
    )
    if assignment.status == target:
        return assignment
    if assignment.status not in (Assignment.Status.OPEN, Assignment.Status.EXPIRED):
        raise ConflictError(
            f"This assignment is already {assignment.get_status_display().lower()}; "
            f"it can no longer be {'skipped' if kind == PairReport.Kind.SKIP else 'reported'}.",
            code="assignment_closed",
        )
    if assignment.status == Assignment.Status.OPEN and not assignment.is_gold:
        expiry.release_slots({assignment.pair_id: 1})
    assignment.status = target
    assignment.finished_at = now
    assignment.save(update_fields=["status", "finished_at"])
    PairReport.objects.create(
        assignment=assignment,
        pair_id=assignment.pair_id,
        annotator=annotator,
        kind=kind,
        reason=reason,
        note=note[:2000],
    )
    return assignment
