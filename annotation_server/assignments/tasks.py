"""Periodic task distribution chores (scheduled by CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from annotation_server.assignments import expiry


@shared_task(name="annotation_server.assignments.tasks.assignment_expire_stale_task")
def assignment_expire_stale_task() -> int:
    """Expire open assignments past their deadline and free their slots; returns the count."""
    total = 0
    # Bounded batches so one run never holds many row locks at once.
    while (expired := expiry.assignment_expire_stale()) > 0:
        total += expired
    return total
