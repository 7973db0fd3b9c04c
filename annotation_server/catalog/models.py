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


class Taxonomy(models.Model):
    """A named, versioned set of harm categories that classification batches ask about.

    A version never changes once answers may point at it: editing a taxonomy makes a new
    version (catalog/taxonomy_data.py), and answers keep the version they were given with.
    `categories` is the ordered list of {key, label_en, label_zh, description_en,
    description_zh}; its order is the order workers see."""

    name = models.CharField(max_length=64)
    version = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200, blank=True)
    source = models.TextField(blank=True, help_text="Where the categories come from.")
    categories = models.JSONField()
    built_in = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "taxonomies"
        ordering = ("name", "-version")
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="taxonomy_version_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="taxonomy_version_positive"),
            models.CheckConstraint(
                condition=Q(name__regex=r"^[a-z0-9][a-z0-9_.-]{0,63}$"), name="taxonomy_name_slug"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(category["key"] for category in self.categories)


class MediaType(models.TextChoices):
    VIDEO = "video", "Video"
    IMAGE = "image", "Image"


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
    """A media item of the catalog: a generated video (pairwise and classification batches)
    or an image (classification batches), with its source file, web rendition and poster or
    thumbnail. The name stays from the pairwise platform; `media_type` tells them apart."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    # Opaque id used in every URL: no sequential ids reach the browser.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    video_id = models.CharField(max_length=128, unique=True)
    media_type = models.CharField(max_length=8, choices=MediaType.choices, default=MediaType.VIDEO)
    # Empty for items that come without a prompt (VHD11K's web images and videos).
    prompt = models.ForeignKey(
        Prompt, null=True, blank=True, on_delete=models.PROTECT, related_name="videos"
    )
    video_text = models.TextField(blank=True)
    generated_from = models.CharField(max_length=128, db_index=True, blank=True)

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
            models.CheckConstraint(
                condition=Q(media_type__in=MediaType.values), name="video_media_type_valid"
            ),
            # Lets pairs reference (video, prompt) together: see batches' migrations.
            models.UniqueConstraint(fields=["id", "prompt"], name="video_id_prompt_unique"),
        ]

    def __str__(self) -> str:
        return self.video_id
