"""Jobs nobody will finish: their worker died, or their message was lost. Run from beat."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .locks import job_running_alone
from .models import JobStatus
from .runner import job_fail, job_kind, job_kinds, job_send

logger = logging.getLogger(__name__)

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
    kind: str,
    *,
    max_attempts: int = STALLED_MAX_ATTEMPTS,
    resend_after: dt.timedelta = PENDING_RESEND_AFTER,
) -> dict[str, list[int]]:
    """Jobs of `kind` marked running whose worker is gone (killed, out of memory, its machine
    restarted): their advisory lock (job_running_alone), held for the whole run by the worker's
    database connection, is free. Each goes back to pending and is queued again, or, once
    started `max_attempts` times, fails with a message saying so. Without this such a job
    waits for the broker's redelivery (CELERY_VISIBILITY_TIMEOUT, an hour), or for ever when
    the message was lost. Jobs pending for longer than `resend_after` since they were last
    queued have their task sent again, which leaves them pending if the broker is out of
    reach (the first message may still be there). PostgreSQL only (SQLite runs jobs
    inline)."""
    outcome: dict[str, list[int]] = {"resent": [], "requeued": [], "failed": []}
    if connection.vendor != "postgresql":
        return outcome
    model = job_kind(kind).model
    now = timezone.now()
    cutoff = now - resend_after
    waiting = model.objects.filter(
        Q(queued_at__lt=cutoff) | Q(queued_at__isnull=True, created_at__lt=cutoff),
        status=JobStatus.PENDING,
    )
    for pk in list(waiting.values_list("pk", flat=True)):
        # queued_at is when it was last queued: the next resend is `resend_after` from now.
        if waiting.filter(pk=pk).update(queued_at=now, progress_stage=RESENT_STAGE):
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
                    job_fail(
                        kind,
                        job,
                        f"Its worker stopped {job.attempts} times before finishing (killed, "
                        "out of memory or restarted); see the worker log.",
                    )
                    outcome["failed"].append(pk)
                else:
                    model.objects.filter(pk=pk).update(
                        status=JobStatus.PENDING, progress_stage=RESTARTING_STAGE
                    )
                    outcome["requeued"].append(pk)
    # Queued once the locks are released: a worker taking the task at once must get the lock.
    for pk in outcome["resent"]:
        job_send(kind, pk, resend=True)
    for pk in outcome["requeued"]:
        job_send(kind, pk)
    if any(outcome.values()):
        logger.warning("%s jobs sent again, restarted or given up: %s", kind, outcome)
    return outcome


def jobs_recover_stalled() -> dict[str, dict[str, list[int]]]:
    """job_recover_stalled for every registered kind (beat's job_recover_task)."""
    return {spec.name: job_recover_stalled(spec.name) for spec in job_kinds()}
