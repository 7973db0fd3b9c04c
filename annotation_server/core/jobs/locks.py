"""A job runs alone: one PostgreSQL session advisory lock per (job kind, job id)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


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
