"""Reads of annotations for the worker: how much they did."""

from __future__ import annotations

from django.utils import timezone

from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment


def annotator_counts(*, annotator) -> dict[str, int]:
    """Submitted annotations today (server time zone) and in total, and open assignments."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    mine = Annotation.objects.filter(annotator=annotator)
    return {
        "today": mine.filter(created_at__gte=start).count(),
        "total": mine.count(),
        "open": Assignment.objects.filter(
            annotator=annotator, status=Assignment.Status.OPEN, expires_at__gt=timezone.now()
        ).count(),
    }
