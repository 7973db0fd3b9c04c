"""Batches of pairs: what is published to annotators, with overlap, priority and settings."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Greatest, Least

from annotation_server.catalog.models import Prompt, Video
from annotation_server.core.models import TimeStampedModel


class Batch(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PROCESSING = "processing", "Processing videos"
        READY = "ready", "Ready"
        PUBLISHED = "published", "Published"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        ARCHIVED = "archived", "Archived"

    # Legal lifecycle moves; services check them, the admin and commands go through services.
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        "draft": ("processing", "ready", "archived"),
        "processing": ("ready", "archived"),
        "ready": ("published", "archived"),
        "published": ("paused", "completed"),
        "paused": ("published", "completed", "archived"),
        "completed": ("archived", "published"),
        "archived": (),
    }

    name = models.CharField(max_length=128, unique=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    overlap = models.PositiveSmallIntegerField(
        default=3, help_text="How many annotators judge each pair (K)."
    )
    priority = models.IntegerField(default=0, help_text="Higher is served first.")
    instructions = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="owned_batches",
    )
    assignment_expiry_minutes = models.PositiveIntegerField(default=30)
    gold_rate = models.FloatField(
        default=0.0, help_text="Share of a worker's stream drawn from gold pairs (0–1)."
    )
    must_watch = models.BooleanField(
        default=True, help_text="Answers unlock only after both videos were watched once."
    )
    blur_videos = models.BooleanField(
        default=False, help_text="Blur videos until the worker reveals them."
    )
    label_prompts = models.BooleanField(
        default=False,
        help_text="Ask workers to label the prompt's own harms where the prompt has no labels.",
    )
    groups = models.ManyToManyField(
        Group, blank=True, related_name="batches",
        help_text="Annotator groups that may work on this batch; empty means all annotators.",
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "batches"
        constraints = [
            models.CheckConstraint(condition=Q(overlap__gte=1), name="batch_overlap_at_least_1"),
            models.CheckConstraint(
                condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=1), name="batch_gold_rate_range"
            ),
            models.CheckConstraint(
                condition=Q(assignment_expiry_minutes__gte=1), name="batch_expiry_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "processing", "ready", "published", "paused",
                                        "completed", "archived"]),
                name="batch_status_valid",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="batch_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class Pair(models.Model):
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="pairs")
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="pairs")
    video_0 = models.ForeignKey(Video, on_delete=models.PROTECT, related_name="+")
    video_1 = models.ForeignKey(Video, on_delete=models.PROTECT, related_name="+")
    pair_id = models.CharField(max_length=300)
    # False when one of its videos failed: the pair is not handed out.
    active = models.BooleanField(default=True)
    is_gold = models.BooleanField(default=False)
    # Expected answers for gold pairs, in video_0/video_1 terms; never serialised to workers.
    gold_answer = models.JSONField(null=True, blank=True)
    # Denormalised count of open + submitted regular assignments, kept under the row lock
    # by the claim service so "fewest annotations first" needs no aggregate.
    taken = models.PositiveIntegerField(default=0)
    submitted = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(video_0=F("video_1")), name="pair_videos_distinct"
            ),
            models.UniqueConstraint(fields=["batch", "pair_id"], name="pair_id_unique_in_batch"),
            models.UniqueConstraint(
                "batch", Least("video_0", "video_1"), Greatest("video_0", "video_1"),
                name="pair_unordered_unique_in_batch",
            ),
            models.CheckConstraint(
                condition=Q(is_gold=False) | Q(gold_answer__isnull=False),
                name="pair_gold_has_answer",
            ),
        ]
        indexes = [
            models.Index(fields=["batch", "active", "is_gold", "taken", "id"],
                         name="pair_claim_idx"),
        ]

    def __str__(self) -> str:
        return self.pair_id
