"""Quality decisions: an admin's approval or rejection of one annotator's work in one batch."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AnnotatorReview(models.Model):
    class Status(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    batch = models.ForeignKey(
        "batches.Batch", on_delete=models.CASCADE, related_name="annotator_reviews"
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="work_reviews"
    )
    status = models.CharField(max_length=16, choices=Status.choices)
    note = models.TextField(blank=True, max_length=2000)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField()
    # How many annotations the decision covered (rejections: how many were excluded).
    annotations_affected = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "annotator"], name="review_once_per_batch"),
            models.CheckConstraint(
                condition=Q(status__in=["approved", "rejected"]), name="review_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.annotator_id} in {self.batch_id}: {self.status}"
