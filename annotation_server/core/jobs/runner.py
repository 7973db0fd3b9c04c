"""The one runner of background jobs: queue, run, fail, cancel.

A kind of job is a `JobKind`: its model (a `Job`), its work function and what is left to
clear away when a job will never run again. The app that owns the kind registers it in its
`AppConfig.ready` (`job_kind_register`); from there the runner does the rest for every kind
alike: it queues the job after commit (`job_enqueue`) as one message to the `job_run_task`
(core/tasks.py), runs it alone and records its start, progress, outcome or failure
(`job_execute`), cancels it (`job_cancel`), and recovers it when its worker died or its
message was lost (core/jobs/recovery.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation_server.core.exceptions import ApplicationError

from .locks import job_running_alone
from .models import Job, JobStatus
from .progress import JobCancelled, Progress, job_row_progress
from .publish import broker_unreachable, task_publish

logger = logging.getLogger(__name__)

JOB_RUN_TASK = "annotation_server.core.tasks.job_run_task"

# The work of one job: given the job's row and its Progress, do the work and return the
# outcome fields to write on the row (summary, result, ...). Raise JobFailed or
# ApplicationError with a message a person can act on; anything else is an internal error.
Work = Callable[[Job, Progress], Mapping[str, Any]]


class JobFailed(Exception):
    """The job cannot succeed: `message` goes to its row's error, `fields` to its other
    outcome columns (an import's list of problems)."""

    def __init__(self, message: str, **fields: Any):
        super().__init__(message)
        self.message = message
        self.fields = fields


@dataclass(frozen=True)
class JobKind:
    name: str  # the task argument and the advisory lock's namespace
    model: type[Job]
    work: Work
    # Named in messages: "The <label> stopped with an internal error ...".
    label: str
    # Appended to every failure the admin can act on by starting it again.
    again: str = ""
    # What a job that will never run again leaves behind (staged uploads, partial files):
    # called once it failed, was given up or cancelled.
    discard: Callable[[Job], None] | None = None
    first_stage: str = "starting"


_KINDS: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> None:
    """Make a kind known to the runner (an app's `AppConfig.ready`)."""
    _KINDS[kind.name] = kind


def job_kind(name: str) -> JobKind:
    return _KINDS[name]


def job_kinds() -> list[JobKind]:
    return list(_KINDS.values())


def job_enqueue(kind: str, job_pk: int) -> None:
    """Queue the job once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(job_send, kind, job_pk))


def job_send(kind: str, job_pk: int, *, resend: bool = False) -> None:
    """Hand the job to the broker and note when (`queued_at`). A new job the broker refuses
    fails at once with a message that says why (it would otherwise wait as pending for ever);
    a resend (`resend=True`, whose first message may still be queued) leaves the job as it is
    and only logs the failure."""
    spec = job_kind(kind)
    spec.model.objects.filter(pk=job_pk).update(queued_at=timezone.now())
    error = task_publish(JOB_RUN_TASK, (kind, job_pk))
    if error is None:
        return
    logger.warning("%s %s could not be queued: %s", kind, job_pk, error)
    if not resend:
        _fail(spec, job_pk, broker_unreachable(error), only=(JobStatus.PENDING,))


def job_execute(kind: str, job_pk: int) -> Job | None:
    """Run a recorded job (the task's body) and return its row, or None when it is gone.
    Safe to run again: a finished job is left alone, an interrupted one starts again. A job
    another worker is still running (the broker redelivers tasks unacknowledged after
    CELERY_VISIBILITY_TIMEOUT, also long-running ones) is left to that worker."""
    spec = job_kind(kind)
    rows = spec.model.objects.filter(pk=job_pk)
    with job_running_alone(kind, job_pk) as alone:
        job = rows.first()
        if job is None or job.finished or not alone:
            return job
        started = rows.filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING)).update(
            status=JobStatus.RUNNING,
            attempts=F("attempts") + 1,
            started_at=timezone.now(),
            error="",
            progress_stage=spec.first_stage,
            progress_done=0,
            progress_total=0,
        )
        if started:
            job.refresh_from_db()
            _run(spec, job)
        return rows.first()


def _run(spec: JobKind, job: Job) -> None:
    try:
        outcome = spec.work(job, job_row_progress(spec.model, job.pk))
    except JobCancelled:
        logger.info("%s %s stopped: cancelled", spec.name, job.pk)
        _discard(spec, job)
    except JobFailed as exc:
        _fail(spec, job.pk, exc.message, **exc.fields)
    except ApplicationError as exc:
        _fail(spec, job.pk, exc.message)
    except Exception as exc:
        logger.exception("%s %s failed", spec.name, job.pk)
        _fail(
            spec,
            job.pk,
            f"The {spec.label} stopped with an internal error ({type(exc).__name__}: {exc}); "
            "see the worker log.",
        )
    else:
        # A cancel that came too late to stop the work does not hide what it did.
        spec.model.objects.filter(
            pk=job.pk, status__in=(JobStatus.RUNNING, JobStatus.CANCELLED)
        ).update(
            status=JobStatus.SUCCEEDED,
            progress_stage="done",
            finished_at=timezone.now(),
            **outcome,
        )


def _fail(
    spec: JobKind,
    job_pk: int,
    message: str,
    *,
    only: tuple[str, ...] = (JobStatus.PENDING, JobStatus.RUNNING),
    **fields: Any,
) -> None:
    """Fail an unfinished job (a cancelled one stays cancelled) and discard what it left."""
    error = f"{message} {spec.again}".strip()
    failed = spec.model.objects.filter(pk=job_pk, status__in=only).update(
        status=JobStatus.FAILED, error=error, finished_at=timezone.now(), **fields
    )
    job = spec.model.objects.filter(pk=job_pk).first()
    if job is not None and (failed or job.status == JobStatus.CANCELLED):
        _discard(spec, job)


def job_fail(kind: str, job: Job, message: str) -> None:
    """Fail a job for a reason found outside its run (the recovery sweep's)."""
    _fail(job_kind(kind), job.pk, message)


def _discard(spec: JobKind, job: Job) -> None:
    if spec.discard is not None:
        spec.discard(job)


def job_cancel(kind: str, job_pk: int, *, by: str = "") -> bool:
    """Cancel a pending or running job; False when it had already finished. A pending job's
    message, when it arrives, finds it finished; a running job stops at its next progress
    report (JobCancelled), at most a second or so later, and its work's own clean-up runs.
    What it leaves is discarded here when no worker is running it."""
    spec = job_kind(kind)
    cancelled = spec.model.objects.filter(
        pk=job_pk, status__in=(JobStatus.PENDING, JobStatus.RUNNING)
    ).update(
        status=JobStatus.CANCELLED,
        progress_stage=f"cancelled by {by}"[:64] if by else "cancelled",
        finished_at=timezone.now(),
    )
    if not cancelled:
        return False
    with job_running_alone(kind, job_pk) as alone:
        if alone:
            _discard(spec, spec.model.objects.get(pk=job_pk))
    return True
