"""Export jobs started from the admin: options, progress, summary and the packed result."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation_server.core.jobs import Job


class Export(Job):
    class Kind(models.TextChoices):
        PREFERENCE = "preference", "Preference pairs (SafeSora)"
        LABEL = "label", "Labelled videos (SafeSora-Label)"
        EVAL = "eval", "Prompts (SafeSora-Eval)"
        ALL = "all", "All three, one folder each"

    class VideoMode(models.TextChoices):
        NONE = "none", "No video files"
        COPY = "copy", "Copy renditions"
        LINK = "link", "Hard-link renditions (copy across devices)"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exports",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PREFERENCE)
    # Batch names; empty means every batch.
    batch_names = models.JSONField(default=list, blank=True)
    test_fraction = models.FloatField(default=0.1)
    seed = models.IntegerField(default=0)
    videos = models.CharField(max_length=8, choices=VideoMode.choices, default=VideoMode.NONE)
    tar_videos = models.BooleanField(default=False, help_text="Also pack videos.tar.gz.")
    min_annotations = models.PositiveSmallIntegerField(default=1)
    raw = models.BooleanField(default=False, help_text="Also write annotations.jsonl.")

    # Relative to settings.EXPORT_ROOT: the packed dataset (.tar.gz) once succeeded.
    result_file = models.CharField(max_length=255, blank=True)
    result_size = models.BigIntegerField(null=True, blank=True)

    class Meta(Job.Meta):
        constraints = [
            *Job.Meta.constraints,
            models.CheckConstraint(
                condition=Q(kind__in=["preference", "label", "eval", "all"]),
                name="export_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(test_fraction__gte=0) & Q(test_fraction__lte=1),
                name="export_test_fraction_range",
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | ~Q(result_file=""),
                name="export_succeeded_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.kind}, {self.status})"
