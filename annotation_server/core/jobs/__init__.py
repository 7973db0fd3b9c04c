"""Background jobs of every kind (admin uploads, exports, ...): one model for their state
(models.Job), one runner (runner.py: queue, run, fail, cancel), one recovery sweep
(recovery.py), one way to report progress (progress.py). A kind of job is its model and its
work function, registered with `job_kind_register`."""

from .locks import job_lock_key, job_running_alone
from .models import Job, JobStatus, job_progress_text
from .progress import JobCancelled, Progress, job_row_progress
from .recovery import (
    PENDING_RESEND_AFTER,
    RESENT_STAGE,
    RESTARTING_STAGE,
    STALLED_MAX_ATTEMPTS,
    job_recover_stalled,
    jobs_recover_stalled,
)
from .runner import (
    JobFailed,
    JobKind,
    job_cancel,
    job_enqueue,
    job_execute,
    job_kind,
    job_kind_register,
    job_send,
)

__all__ = [
    "PENDING_RESEND_AFTER",
    "RESENT_STAGE",
    "RESTARTING_STAGE",
    "STALLED_MAX_ATTEMPTS",
    "Job",
    "JobCancelled",
    "JobFailed",
    "JobKind",
    "JobStatus",
    "Progress",
    "job_cancel",
    "job_enqueue",
    "job_execute",
    "job_kind",
    "job_kind_register",
    "job_lock_key",
    "job_progress_text",
    "job_recover_stalled",
    "job_row_progress",
    "job_running_alone",
    "job_send",
    "jobs_recover_stalled",
]
