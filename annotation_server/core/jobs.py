"""What the admin's background jobs (exports, batch uploads) share: their states, and handing
a recorded job to the broker after commit."""

from __future__ import annotations

import datetime as dt
import logging
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# progress(stage, done, total): what a long job reports as it goes.
Progress = Callable[[str, int, int], None]


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class JobProgress(models.Model):
    """Where a running job is: its stage and how far through it (job_row_progress), and how
    many times a worker started it (job_recover_stalled)."""

    progress_stage = models.CharField(max_length=64, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times a worker started this job."
    )

    class Meta:
        abstract = True

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status == JobStatus.SUCCEEDED else 0
        return min(100, round(100 * self.progress_done / self.progress_total))


def job_progress_text(job: JobProgress) -> str:
    """ "42% – 21/50 (copying videos)" for the admin pages."""
    stage = f" ({job.progress_stage})" if job.progress_stage else ""
    return f"{job.percent}% – {job.progress_done}/{job.progress_total}{stage}"


# Celery options of a job's task: acknowledged only once it has run, so a job whose worker
# dies is delivered again (and job_running_alone keeps a redelivery from running beside a
# live run). Six hours is far beyond any import or export measured (docs/benchmarks.md).
JOB_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": 6 * 3600,
    "time_limit": 6 * 3600 + 300,
}


def job_queue(task, job_pk: int, *, what: str, fail: Callable[[str], None] | None) -> None:
    """After commit: hand the job to the broker, or fail it through `fail(reason)` with a
    message that says why (it would otherwise wait as pending for ever). Any failure to
    publish (refused connection, a full Redis refusing writes, ...) is reported on the job,
    never as a server error after the commit. With `fail` None (a resend, whose first
    message may still be queued) the job is left as it is and the failure only logged."""
    try:
        task.delay(job_pk)
    except Exception as exc:  # noqa: BLE001
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise  # no broker at all: the task ran here and its own error is the news
        logger.warning("%s %s could not be queued: %s", what, job_pk, exc)
        if fail is not None:
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


def job_row_progress(model: type[models.Model], job_pk: int) -> Progress:
    """A Progress writing to the job's row (progress_stage, progress_done, progress_total):
    at most one UPDATE a second, plus one per stage change and one at each stage's end.
    Reported from inside a transaction opened after this Progress was made (an import writing
    its rows), the UPDATE goes through a connection of its own on PostgreSQL, committed at
    once, or the admin would see nothing until the end."""
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
            _update_aside(model, job_pk, values)
        else:
            model.objects.filter(pk=job_pk).update(**values)

    return report


def _update_aside(model: type[models.Model], pk: int, values: dict) -> None:
    """UPDATE one row through a fresh connection, in autocommit. Best effort: progress is
    never worth failing or stalling the job for, so a row locked by the caller's own
    transaction gives up after a moment instead of waiting for it for ever."""
    aside = connections.create_connection(DEFAULT_DB_ALIAS)
    quote = aside.ops.quote_name
    table, key = quote(model._meta.db_table), quote(model._meta.pk.column)
    columns = ", ".join(f"{quote(name)} = %s" for name in values)
    try:
        with aside.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
            cursor.execute(
                f"UPDATE {table} SET {columns} WHERE {key} = %s",
                [*values.values(), pk],
            )
    except DatabaseError as exc:
        logger.warning("progress of %s %s not written: %s", model.__name__, pk, exc)
    finally:
        aside.close()


# A job whose worker died this many times is failed instead of started again: it may be what
# kills its worker (memory, a time limit), and the admin must see that, not a loop.
STALLED_MAX_ATTEMPTS = 3
RESTARTING_STAGE = "restarting: its worker stopped"
# A job still pending this long after it was queued (or last queued again) has its task sent
# once more: its message may have been lost (a broker restarted without its data). A message
# that was only waiting behind other jobs then arrives twice, which is harmless: the second
# delivery finds the job running (job_running_alone) or finished, and leaves it.
PENDING_RESEND_AFTER = dt.timedelta(minutes=15)
RESENT_STAGE = "queued again: no worker had taken it"


def job_recover_stalled(
    model: type[models.Model],
    kind: str,
    *,
    queue: Callable[..., None],
    give_up: Callable[[models.Model, str], None],
    max_attempts: int = STALLED_MAX_ATTEMPTS,
    resend_after: dt.timedelta = PENDING_RESEND_AFTER,
) -> dict[str, list[int]]:
    """Jobs marked running whose worker is gone (killed, out of memory, its machine
    restarted): their advisory lock (job_running_alone), held for the whole run by the worker's
    database connection, is free. Each goes back to pending and is queued again (`queue(pk)`),
    or, once started `max_attempts` times, fails with `give_up(job, reason)`. Without this such
    a job waits for the broker's redelivery (CELERY_VISIBILITY_TIMEOUT, an hour), or for ever
    when the message was lost. Jobs pending for longer than `resend_after` since they were last
    queued have their task sent again (PENDING_RESEND_AFTER) by `queue(pk, resend=True)`, which
    must leave the job pending if the broker is out of reach (the first message may still be
    there). Run from beat; PostgreSQL only (SQLite runs jobs inline)."""
    outcome: dict[str, list[int]] = {"resent": [], "requeued": [], "failed": []}
    if connection.vendor != "postgresql":
        return outcome
    now = timezone.now()
    waiting = model.objects.filter(status=JobStatus.PENDING, updated_at__lt=now - resend_after)
    for pk in list(waiting.values_list("pk", flat=True)):
        # updated_at is when it was last queued: the next resend is `resend_after` from now.
        if waiting.filter(pk=pk).update(updated_at=now, progress_stage=RESENT_STAGE):
            outcome["resent"].append(pk)
    running = model.objects.filter(status=JobStatus.RUNNING).values_list("pk", flat=True)
    for pk in list(running):
        with job_running_alone(kind, pk) as alone:
            if not alone:
                continue  # its worker is still at it
            with transaction.atomic():
                job = model.objects.select_for_update().filter(pk=pk).first()
                if job is None or job.status != JobStatus.RUNNING:
                    continue  # finished meanwhile
                if job.attempts >= max_attempts:
                    give_up(
                        job,
                        f"Its worker stopped {job.attempts} times before finishing (killed, "
                        "out of memory or restarted); see the worker log.",
                    )
                    outcome["failed"].append(pk)
                else:
                    model.objects.filter(pk=pk).update(
                        status=JobStatus.PENDING, progress_stage=RESTARTING_STAGE, updated_at=now
                    )
                    outcome["requeued"].append(pk)
    # Queued once the locks are released: a worker taking the task at once must get the lock.
    for pk in outcome["resent"]:
        queue(pk, resend=True)
    for pk in outcome["requeued"]:
        queue(pk)
    if any(outcome.values()):
        logger.warning("%s jobs sent again, restarted or given up: %s", kind, outcome)
    return outcome
