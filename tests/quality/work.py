"""Doing real work through the assignment services (claim, submit), for quality tests."""

from __future__ import annotations

from annotation_server.annotations.services import annotation_submit
from annotation_server.assignments.claim import assignment_claim_next
from annotation_server.taxonomy import SUB_DIMENSION_KEYS


def answers(side: str = "left", *, left_harms=(), right_harms=()) -> dict:
    """Worker answers in display terms: every preference for `side`."""
    return {
        "sub_preferences": {dim: side for dim in SUB_DIMENSION_KEYS},
        "helpfulness": side,
        "harmlessness": side,
        "harm_labels": {"left": list(left_harms), "right": list(right_harms)},
    }


def claim_and_submit(annotator, side: str = "left", batch_name: str | None = None):
    """Claim the next pair for `annotator` and submit `side` for everything; the annotation."""
    assignment = assignment_claim_next(annotator=annotator, batch_name=batch_name)
    assert assignment is not None, "nothing left to claim"
    annotation, _ = annotation_submit(
        annotator=annotator, assignment_id=assignment.pk, answers=answers(side)
    )
    return annotation
