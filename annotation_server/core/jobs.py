"""What the admin's background jobs (exports, batch uploads) share: their states, and handing
a recorded job to the broker after commit."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import models

logger = logging.getLogger(__name__)


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


def job_queue(task, job_pk: int, *, what: str, fail: Callable[[str], None]) -> None:
    """After commit: hand the job to the broker, or fail it through `fail(reason)` with a
    message that says why (it would otherwise wait as pending for ever). Any failure to
    publish (refused connection, a full Redis refusing writes, ...) is reported on the job,
    never as a server error after the commit."""
    try:
        task.delay(job_pk)
    except Exception as exc:  # noqa: BLE001
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise  # no broker at all: the task ran here and its own error is the news
        logger.warning("%s %s could not be queued: %s", what, job_pk, exc)
        fail(f"Not started: the task broker (CELERY_BROKER_URL) was unreachable ({exc}).")
