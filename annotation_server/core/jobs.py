"""What the admin's background jobs (exports, batch uploads) share: their states, and handing
a recorded job to the broker after commit."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, models

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


def job_lock_key(kind: str, job_pk: int) -> tuple[int, int]:
    """The advisory lock key of one job: (a number for its kind, its primary key)."""
    return zlib.crc32(kind.encode()) & 0x7FFFFFFF, job_pk


@contextmanager
def job_running_alone(kind: str, job_pk: int) -> Iterator[bool]:
    """Whether this process may run the job: on PostgreSQL, a session advisory lock held while
    the `with` block runs, True if this process got it. The broker hands a task that stayed
    unacknowledged past CELERY_VISIBILITY_TIMEOUT to another worker, also while the first
    still runs it (a long import or export); that second run must leave it alone. The lock
    goes with its connection, so a dead worker's lock goes with it. Elsewhere (SQLite: one
    process, tasks run inline) always True."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = job_lock_key(kind, job_pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        alone = cursor.fetchone()[0]
    try:
        yield alone
    finally:
        if alone:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
