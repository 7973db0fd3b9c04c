"""How a running job reports where it is, and hears that it was cancelled."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, models

from .models import JobStatus

logger = logging.getLogger(__name__)

# progress(stage, done, total): what a long job reports as it goes.
Progress = Callable[[str, int, int], None]

# Only an unfinished job's row takes progress; a cancelled one stops its work instead.
_UNFINISHED = (JobStatus.PENDING, JobStatus.RUNNING)


class JobCancelled(Exception):
    """Raised from a job's progress report once an admin cancelled the job: the work stops
    where it is (its transactions roll back, its temporary files go) and the runner leaves the
    job cancelled."""


def job_row_progress(model: type[models.Model], job_pk: int) -> Progress:
    """A Progress writing to the job's row (progress_stage, progress_done, progress_total):
    at most one UPDATE a second, plus one per stage change and one at each stage's end. Each
    write also asks whether the job is still wanted: a row no longer pending or running (an
    admin cancelled it) raises JobCancelled. Reported from inside a transaction opened after
    this Progress was made (an import writing its rows), the UPDATE goes through a connection
    of its own on PostgreSQL, committed at once, or the admin would see nothing until the
    end."""
    last = {"at": 0.0, "stage": ""}
    # Made inside a transaction (a test's), the job's row may exist only in that transaction.
    made_in_transaction = connection.in_atomic_block

    def report(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage == last["stage"] and now - last["at"] < 1.0 and done < total:
            return
        last.update(at=now, stage=stage)
        values = {"progress_stage": stage[:64], "progress_done": done, "progress_total": total}
        aside = connection.in_atomic_block and not made_in_transaction
        if aside and connection.vendor == "postgresql":
            written = _update_aside(model, job_pk, values)
        else:
            written = model.objects.filter(pk=job_pk, status__in=_UNFINISHED).update(**values)
        if written == 0:
            raise JobCancelled(f"{model.__name__} {job_pk} is no longer wanted")

    return report


def _update_aside(model: type[models.Model], pk: int, values: dict) -> int | None:
    """UPDATE one unfinished job's row through a fresh connection, in autocommit: the number
    of rows written, or None when it could not be written. Best effort: progress is never
    worth failing or stalling the job for, so a row locked by the caller's own transaction
    gives up after a moment instead of waiting for it for ever."""
    aside = connections.create_connection(DEFAULT_DB_ALIAS)
    quote = aside.ops.quote_name
    table, key = quote(model._meta.db_table), quote(model._meta.pk.column)
    columns = ", ".join(f"{quote(name)} = %s" for name in values)
    try:
        with aside.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
            cursor.execute(
                f"UPDATE {table} SET {columns} WHERE {key} = %s AND {quote('status')} IN (%s, %s)",
                [*values.values(), pk, *_UNFINISHED],
            )
            return cursor.rowcount
    except DatabaseError as exc:
        logger.warning("progress of %s %s not written: %s", model.__name__, pk, exc)
        return None
    finally:
        aside.close()
