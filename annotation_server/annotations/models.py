"""Annotations: one answer per assignment, and answers that came with imported data.

A pairwise answer is a SafeSora two-stage judgement in video_0/video_1 terms; a
classification answer is a verdict on one item in the batch's taxonomy version. Both are
rows of `Annotation`, so ownership, idempotent submits, gold scoring, rejection, progress
and exports read one table; the fields of the other kind stay empty.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Taxonomy
from annotation_server.core.domains import (
    DomainCharField,
    DomainFloatField,
    DomainPositiveBigIntegerField,
    DomainPositiveIntegerField,
    DomainPositiveSmallIntegerField,
)


class Choice(models.TextChoices):
    VIDEO_0 = "video_0", "video_0"
    VIDEO_1 = "video_1", "video_1"


def _choice() -> DomainCharField:
    # video_0 or video_1, enforced by the column's domain (PostgreSQL) or a column CHECK;
    # empty in classification answers.
    return DomainCharField(
        domain="annot_video_choice", max_length=8, choices=Choice.choices, null=True
    )


class Annotation(models.Model):
    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="annotation"
    )
    # pair, batch and annotator are copies of the assignment's, for filtering and exports:
    # the assignment's FK (and its own FKs) already tie the row to existing ones, so these
    # three have no database FK of their own (three deferred checks and row locks less per
    # submit). Deletes still cascade (Django collects by on_delete).
    # Indexed by the (pair, rejected) and (batch, annotator) indexes below, which lead with them.
    pair = models.ForeignKey(
        Pair,
        on_delete=models.CASCADE,
        related_name="annotations",
        db_index=False,
        db_constraint=False,
    )
    batch = models.ForeignKey(
        Batch,
        on_delete=models.CASCADE,
        related_name="annotations",
        db_index=False,
        db_constraint=False,
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="annotations",
        db_constraint=False,
    )
    # Stage 1: the four helpfulness sub-preferences (export keys without the pref_ prefix).
    pref_instruction_following = _choice()
    pref_correctness = _choice()
    pref_information = _choice()
    pref_aesthetics = _choice()
    # Stage 1: harm keys (taxonomy.HARM_KEYS) present in each text-video pair; [] means "none".
    video_0_harms = models.JSONField(null=True, blank=True)
    video_1_harms = models.JSONField(null=True, blank=True)
    # Harm keys of the prompt itself, when the batch asked for them; null when not asked.
    prompt_harms = models.JSONField(null=True, blank=True)
    # Stage 2.
    helpfulness = _choice()
    harmlessness = _choice()
    # --- Classification: the verdict on one item, in the taxonomy version it was asked in ---
    # No index: only deleting a taxonomy version looks answers up by it, and an index less
    # is one write less on every submit.
    taxonomy = models.ForeignKey(
        Taxonomy, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    harmful = models.BooleanField(null=True, blank=True)  # null when not asked
    # Category keys of `taxonomy` the worker saw in the item, in taxonomy order; [] = none.
    categories = models.JSONField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True, default="")
    confidence = DomainPositiveSmallIntegerField(domain="annot_confidence", null=True, blank=True)
    # Display order the worker saw, copied from the assignment.
    left_is_video_0 = models.BooleanField()
    # Time on task: what the client measured, and what the server saw (claim → submit).
    stage1_ms = DomainPositiveIntegerField(domain="annot_nonneg_int", null=True, blank=True)
    stage2_ms = DomainPositiveIntegerField(domain="annot_nonneg_int", null=True, blank=True)
    server_duration_ms = DomainPositiveBigIntegerField(domain="annot_nonneg_bigint")
    is_gold = models.BooleanField(default=False)
    # Share of gold fields answered right (0 to 1).
    gold_score = DomainFloatField(domain="annot_unit_interval", null=True, blank=True)
    # Set when an admin rejects this annotator's work in the batch: excluded from exports.
    rejected = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["batch", "annotator"], name="annotation_batch_owner_idx"),
            models.Index(fields=["pair", "rejected"], name="annotation_pair_idx"),
        ]

    def __str__(self) -> str:
        return f"annotation {self.pk} on {self.pair_id}"


class ExternalAnnotation(models.Model):
    """An answer that came with imported data (a released dataset's labels, another tool's
    export), kept apart from our workers' answers: it counts for nothing in assignment and
    is compared against on the dashboard.

    `answer` holds it in our terms (classification: {"harmful", "categories"}; pairwise: the
    SafeSora fields in video_0/video_1 terms); `details` keeps every other field of the
    source record as given (VHD11K: the judge's free-text harmfulType, the debaters'
    arguments per round, the critic)."""

    pair = models.ForeignKey(Pair, on_delete=models.CASCADE, related_name="external_annotations")
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+", db_index=False)
    source = models.CharField(max_length=64, help_text="Where it came from, e.g. vhd11k.")
    # Who gave it within the source (an annotator id of the release); empty when unknown.
    source_annotator = models.CharField(max_length=128, blank=True, default="")
    taxonomy = models.ForeignKey(
        Taxonomy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answer = models.JSONField()
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pair", "source", "source_annotator"], name="external_once_per_source"
            ),
            models.CheckConstraint(condition=~models.Q(source=""), name="external_has_source"),
        ]
        indexes = [models.Index(fields=["batch", "source"], name="external_batch_source_idx")]

    def __str__(self) -> str:
        return f"{self.source} on {self.pair_id}"
