"""Celery tasks of the quality app (queue `default`)."""

from __future__ import annotations

from celery import shared_task

from annotation_server.quality.figures import batch_figures_refresh


# Acknowledged once it has run, so a refresh whose worker died is delivered again; a refresh
# is idempotent. Minutes are far beyond the seconds a SafeSora-sized batch takes
# (docs/benchmarks.md).
@shared_task(
    name="annotation_server.quality.tasks.batch_figures_refresh_task",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=300,
    time_limit=360,
)
def batch_figures_refresh_task(batch_id: int) -> int | None:
    """Recompute and store one batch's dashboard figures; the answers they cover."""
    figures = batch_figures_refresh(batch_id=batch_id)
    return figures.annotations if figures is not None else None
