"""Celery tasks of the exports app."""

from __future__ import annotations

from celery import shared_task

from annotation_server.core.jobs import JOB_TASK_OPTIONS

from . import services


@shared_task(name="annotation_server.exports.tasks.export_run_task", **JOB_TASK_OPTIONS)
def export_run_task(export_id: int) -> str:
    """Run one recorded Export job; its row holds progress, summary or the error."""
    return services.export_execute(export_id=export_id).status


@shared_task(name="annotation_server.exports.tasks.export_recover_task")
def export_recover_task() -> dict:
    """Beat: start again (or fail) exports whose worker died mid-run."""
    return services.export_recover_stalled()
