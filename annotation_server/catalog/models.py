"""The catalog: prompts and their generated videos (source file, rendition, poster)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from annotation_server.core.models import TimeStampedModel
from annotation_server.taxonomy import PROMPT_TYPES


class PromptType(models.TextChoices):
    SAFETY_CRITICAL = "safety_critical", "Safety-critical"
    SAFETY_NEUTRAL = "safety_neutral", "Safety-neutral"


assert tuple(PromptType.values) == PROMPT_TYPES


class Prompt(TimeStampedModel):
    prompt_id = models.CharField(max_length=128, unique=True)
    text = models.TextField()
    prompt_type = models.CharField(max_length=32, choices=PromptType.choices)
    # A SafeSora HarmLabel (12 booleans) or null while nobody has labelled the prompt yet.
    prompt_labels = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(prompt_type__in=PromptType.values), name="prompt_type_valid"
            ),
            models.CheckConstraint(condition=~Q(prompt_id=""), name="prompt_id_not_empty"),
        ]

    def __str__(self) -> str:
        return self.prompt_id


def source_upload_to(instance: Video, filename: str) -> str:
    # Content-addressed: the same bytes are stored once, names never come from user input.
    return f"videos/source/{instance.sha256[:2]}/{instance.sha256}{_suffix(filename)}"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    suffix = filename[dot:].lower() if dot > 0 else ""
    return suffix if len(suffix) <= 8 and suffix[1:].isalnum() else ""


class Video(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    # Opaque id used in every URL: no sequential ids reach the browser.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    video_id = models.CharField(max_length=128, unique=True)
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="videos")
    video_text = models.TextField()
    generated_from = models.CharField(max_length=128, db_index=True)

    source = models.FileField(upload_to=source_upload_to, max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    source_size = models.BigIntegerField(default=0)

    rendition = models.FileField(max_length=255, blank=True)
    poster = models.FileField(max_length=255, blank=True)
    rendition_size = models.BigIntegerField(null=True, blank=True)

    probe = models.JSONField(default=dict, blank=True)  # ffprobe's JSON, trimmed
    duration_s = models.FloatField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    codec = models.CharField(max_length=64, blank=True)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    failure_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the transcode message was last handed to the broker; empty while a pending video
    # has none (broker down at import), which the periodic sweep looks for.
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "processing", "ready", "failed"]),
                name="video_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(failure_reason=""),
                name="video_failed_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="ready") | ~Q(rendition=""),
                name="video_ready_has_rendition",
            ),
            models.CheckConstraint(condition=~Q(video_id=""), name="video_id_not_empty"),
            # Lets pairs reference (video, prompt) together: see batches' migrations.
            models.UniqueConstraint(fields=["id", "prompt"], name="video_id_prompt_unique"),
        ]

    def __str__(self) -> str:
        return self.video_id
