"""Assignments: one annotator's claim on one pair, with its display order and expiry."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation_server.batches.models import Batch, Pair
from annotation_server.core.domains import DomainCharField, DomainPositiveSmallIntegerField


class Assignment(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SUBMITTED = "submitted", "Submitted"
        EXPIRED = "expired", "Expired"
        SKIPPED = "skipped", "Skipped"
        REPORTED = "reported", "Reported"
        # Taken back by an admin (e.g. the annotator's work in the batch was rejected).
        RELEASED = "released", "Released"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No single-column indexes on these three: the unique (pair, annotator) and the
    # (annotator, status) and (batch, status) indexes below lead with them, and every index
    # less is one write less on each claim and submit.
    pair = models.ForeignKey(
        Pair, on_delete=models.CASCADE, related_name="assignments", db_index=False
    )
    # A copy of pair.batch, kept for filtering. No database FK of its own: the pair's FK
    # already ties the row to an existing pair (and so batch), and the deferred check of a
    # second FK share-locked the batch row, which every claim of every worker shares, at
    # every commit. Deleting a batch still cascades here (Django collects by on_delete).
    batch = models.ForeignKey(
        Batch,
        on_delete=models.CASCADE,
        related_name="assignments",
        db_index=False,
        db_constraint=False,
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="assignments",
        db_index=False,
    )
    # The known statuses (and slots 0/1) are enforced by the columns' domains on PostgreSQL,
    # by column CHECKs elsewhere (core/domains.py).
    status = DomainCharField(
        domain="annot_assignment_status",
        max_length=16,
        choices=Status.choices,
        default=Status.OPEN,
    )
    # Which video the worker sees on the left; the browser only ever hears "left"/"right".
    left_is_video_0 = models.BooleanField()
    is_gold = models.BooleanField(default=False)
    claimed_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # 0 or 1 while open: a worker's current pair and the one prefetched. Unique per worker
    # among open assignments, so two claims of one account at the same moment cannot both
    # open a pair in the same slot (the later one fails and resumes the earlier one's).
    slot = DomainPositiveSmallIntegerField(domain="annot_slot", null=True, blank=True)

    class Meta:
        constraints = [
            # A worker never gets the same pair twice (skipped and expired ones included).
            models.UniqueConstraint(fields=["pair", "annotator"], name="assignment_once_per_pair"),
            models.CheckConstraint(
                condition=Q(status="open") | Q(finished_at__isnull=False),
                name="assignment_finished_when_closed",
            ),
            models.UniqueConstraint(
                fields=["annotator", "slot"],
                condition=Q(status="open"),
                name="assignment_open_slot_once",
            ),
        ]
        indexes = [
            models.Index(fields=["annotator", "status"], name="assignment_owner_status_idx"),
            models.Index(fields=["status", "expires_at"], name="assignment_expiry_idx"),
            models.Index(fields=["batch", "status"], name="assignment_batch_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.annotator_id}:{self.pair_id}:{self.status}"


class PairReport(models.Model):
    """A worker's skip or report of a pair, with the reason; reports reach the admin."""

    class Kind(models.TextChoices):
        SKIP = "skip", "Skipped"
        REPORT = "report", "Reported"

    class Reason(models.TextChoices):
        BROKEN_VIDEO = "broken_video", "A video does not play or is broken"
        WRONG_PROMPT = "wrong_prompt", "The videos do not match the prompt"
        DISTURBING = "disturbing", "Too disturbing for me to judge"
        UNSURE = "unsure", "I cannot judge this pair"
        OTHER = "other", "Other"

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="report")
    pair = models.ForeignKey(Pair, on_delete=models.CASCADE, related_name="reports")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pair_reports"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    note = models.TextField(blank=True, max_length=2000)
    resolved = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["skip", "report"]), name="report_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.pair_id} by {self.annotator_id}: {self.reason}"


class AnnotatorReview(models.Model):
    """An admin's decision on one annotator's work in one batch. A rejected annotator gets no
    more pairs of that batch (assignments.selectors), and their annotations there are
    excluded (quality.services)."""

    class Status(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="annotator_reviews")
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
        # The table keeps the name it was created with in the quality app.
        db_table = "quality_annotatorreview"
        constraints = [
            models.UniqueConstraint(fields=["batch", "annotator"], name="review_once_per_batch"),
            models.CheckConstraint(
                condition=Q(status__in=["approved", "rejected"]), name="review_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.annotator_id} in {self.batch_id}: {self.status}"
