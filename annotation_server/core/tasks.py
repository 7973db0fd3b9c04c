"""Celery tasks of the job runner (queue `default`): one for running a job of any kind, one
for beat's recovery sweep over every kind."""

from __future__ import annotations

from celery import shared_task

from annotation_server.core.jobs import job_execute, jobs_recover_stalled

# Acknowledged only once it has run, so a job whose worker dies is delivered again (and
# job_running_alone keeps a redelivery from running beside a live run). Six hours is far
# beyond any import or export measured (docs/benchmarks.md).
JOB_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": 6 * 3600,
    "time_limit": 6 * 3600 + 300,
}


@shared_task(name="annotation_server.core.tasks.job_run_task", **JOB_TASK_OPTIONS)
def job_run_task(kind: str, job_id: int) -> str | None:
    """Run one recorded job; its row holds progress, outcome or the error."""
    job = job_execute(kind, job_id)
    return job.status if job is not None else None


@shared_task(name="annotation_server.core.tasks.job_recover_task")
def job_recover_task() -> dict:
    """Beat: start again (or fail) jobs whose worker died, send again lost ones."""
    return jobs_recover_stalled()
