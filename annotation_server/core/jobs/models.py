"""The one model of a background job's state: what every kind of job (imports, exports, ...)
records on its row, whatever its own options and outcome."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from annotation_server.core.models import TimeStampedModel


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(TimeStampedModel):
    """A job's state, written only by the runner (core.jobs.runner): its status, where it is
    (stage, done of total), how often a worker started it, when it was last handed to the
    broker, when it started and finished, and why it failed. A kind of job adds its options
    and its outcome fields to this."""

    Status = JobStatus

    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True
    )
    progress_stage = models.CharField(max_length=64, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times a worker started this job."
    )
    # When its task was last sent to the broker: the recovery sweep sends it again when a
    # pending job has waited too long since (its message may have been lost).
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="%(app_label)s_%(class)s_status"
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(error=""),
                name="%(app_label)s_%(class)s_failed_says_why",
            ),
        ]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status == JobStatus.SUCCEEDED else 0
        return min(100, round(100 * self.progress_done / self.progress_total))


def job_progress_text(job: Job) -> str:
    """ "42% – 21/50 (copying videos)" for the admin pages."""
    stage = f" ({job.progress_stage})" if job.progress_stage else ""
    return f"{job.percent}% – {job.progress_done}/{job.progress_total}{stage}"
