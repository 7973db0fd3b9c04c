"""Celery tasks of the batches app (queue `default`)."""

from __future__ import annotations

from celery import shared_task

from annotation_server.batches import import_jobs
from annotation_server.core.jobs import JOB_TASK_OPTIONS


@shared_task(name="annotation_server.batches.tasks.batch_import_task", **JOB_TASK_OPTIONS)
def batch_import_task(job_id: int) -> str:
    """Run one recorded admin upload import; its row holds the batch or the problems."""
    return import_jobs.batch_import_execute(job_id=job_id).status


@shared_task(name="annotation_server.batches.tasks.batch_import_recover_task")
def batch_import_recover_task() -> dict:
    """Beat: start again (or fail) import jobs whose worker died mid-run."""
    return import_jobs.batch_import_recover_stalled()
