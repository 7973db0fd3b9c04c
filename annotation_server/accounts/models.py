"""External identities: crowd-platform workers (Prolific, MTurk-style) bound to local accounts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ExternalIdentity(models.Model):
    """One crowd worker id on one platform ↔ one password-less annotator account."""

    class Provider(models.TextChoices):
        PROLIFIC = "prolific", "Prolific"
        EXTERNAL = "external", "External id (MTurk-style)"

    provider = models.CharField(max_length=16, choices=Provider.choices)
    external_id = models.CharField(max_length=64)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identity"
    )
    # The batch whose link the worker first arrived through; later visits update it.
    batch = models.ForeignKey(
        "batches.Batch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    study_id = models.CharField(max_length=64, blank=True)
    session_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_entry_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], name="external_identity_unique"
            ),
            models.CheckConstraint(
                condition=Q(provider__in=["prolific", "external"]),
                name="external_identity_provider_valid",
            ),
            models.CheckConstraint(
                condition=~Q(external_id=""), name="external_identity_id_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.external_id}"
