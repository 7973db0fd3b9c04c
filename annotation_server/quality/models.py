"""Quality's models.

An admin's decision on an annotator's work (AnnotatorReview) lives in assignments, because who
may claim reads it; it is re-exported here for quality's readers. `BatchFigures` holds the
dashboard's computed figures of a batch with the answers they were computed from.
"""

from __future__ import annotations

from django.db import models

from annotation_server.assignments.models import AnnotatorReview
from annotation_server.batches.models import Batch

__all__ = ["AnnotatorReview", "BatchFigures"]


class BatchFigures(models.Model):
    """The dashboard figures of one batch (annotator table, agreement, generator comparison)
    as JSON, and the version of its answers they describe: how many annotations, the newest
    one's id and how many were rejected. A page compares that version with the batch's own
    (one aggregate query) to say how fresh the figures are."""

    batch = models.OneToOneField(Batch, on_delete=models.CASCADE, related_name="figures")
    annotations = models.PositiveIntegerField()
    last_annotation_id = models.BigIntegerField(null=True, blank=True)
    rejected = models.PositiveIntegerField()
    data = models.JSONField()
    computed_at = models.DateTimeField()
    # Set when a page asked the worker for fresh figures; cleared by the refresh.
    refresh_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "batch figures"

    def __str__(self) -> str:
        return f"figures of batch {self.batch_id} at {self.computed_at:%Y-%m-%d %H:%M}"
