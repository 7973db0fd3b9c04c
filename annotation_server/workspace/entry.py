"""Crowd-platform entry: Prolific / MTurk-style workers arrive by link, work, and are sent back.

A worker is identified only by the platform's id (no password): the first visit creates an
annotator account bound to that id, later visits log the same account in again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation_server.accounts import roles
from annotation_server.accounts.models import ExternalIdentity
from annotation_server.assignments.expiry import assignment_release_open
from annotation_server.assignments.models import Assignment
from annotation_server.batches.lifecycle import batch_completion_url
from annotation_server.batches.models import Batch
from annotation_server.core.audit import audit_record
from annotation_server.core.exceptions import ApplicationError, ConflictError, NotFoundError

# Prolific ids are 24 hex characters, MTurk worker ids 12–14 upper-case alphanumerics; accept
# any short token of safe characters so other platforms work too.
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def entry_batch_get(*, token: str) -> Batch:
    """The batch behind an entry link, or NotFoundError when the link is unknown or disabled."""
    batch = Batch.objects.filter(entry_token=token, entry_enabled=True).first() if token else None
    if batch is None:
        raise NotFoundError(
            "This study link is not valid or has been switched off. Please "
            "return to the study page and contact the researcher."
        )
    return batch


def _clean(value: str, what: str, required: bool) -> str:
    value = (value or "").strip()
    if not value:
        if required:
            raise ApplicationError(
                f"The link is missing the {what}. Please open the study "
                "again from the platform's page.",
                code="missing_id",
            )
        return ""
    if not _EXTERNAL_ID.match(value):
        raise ApplicationError(
            f"The {what} in the link is not valid (letters, digits, '-' and '_' only, at most 64).",
            code="invalid_id",
        )
    return value


@transaction.atomic
def external_worker_enter(
    *, token: str, provider: str, external_id: str, study_id: str = "", session_id: str = ""
):
    """Create or find the annotator bound to (`provider`, `external_id`) for this batch's link.

    Returns (user, batch). Refused with a readable message when the link is unknown, the id
    is malformed, or the batch is not taking work right now.
    """
    if provider not in ExternalIdentity.Provider.values:
        raise ApplicationError(f"Unknown platform {provider!r}.")
    batch = entry_batch_get(token=token)
    external_id = _clean(external_id, "worker id", required=True)
    study_id = _clean(study_id, "study id", required=False)
    session_id = _clean(session_id, "session id", required=False)
    if batch.status != Batch.Status.PUBLISHED:
        raise ConflictError(
            "This study is not taking answers right now. Please try again "
            "later or return it on the platform.",
            code="batch_not_open",
        )
    identity = (
        ExternalIdentity.objects.select_for_update()
        .select_related("user")
        .filter(provider=provider, external_id=external_id)
        .first()
    )
    if identity is None:
        identity = _identity_create(provider=provider, external_id=external_id, batch=batch)
        audit_record(
            actor=identity.user,
            verb="worker.enter",
            target=identity.user,
            batch=batch,
            details={"provider": provider, "first_visit": True},
        )
    user = identity.user
    if not user.is_active:
        raise ApplicationError("This worker account has been deactivated.", code="inactive")
    # The platform id alone opens the account: never let it open one with more rights.
    if user.is_staff or user.is_superuser or roles.is_reviewer(user):
        raise ApplicationError(
            "This account cannot sign in through a study link.", code="privileged_account"
        )
    identity.batch = batch
    identity.study_id = study_id or identity.study_id
    identity.session_id = session_id or identity.session_id
    identity.save(update_fields=["batch", "study_id", "session_id", "last_entry_at"])
    # A batch restricted to groups lets its own entry workers in.
    user.groups.add(*batch.groups.all())
    return user, batch


def _identity_create(*, provider: str, external_id: str, batch: Batch) -> ExternalIdentity:
    User = get_user_model()
    base = f"{provider}-{external_id}"[:140]
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    try:
        # A savepoint: when the same worker opens the link twice at once, the loser's unique
        # violation (username or identity) rolls back only this block.
        with transaction.atomic():
            user = User(username=username)
            user.set_unusable_password()  # the platform's id is the only way in
            user.save()
            user.groups.add(roles.role_groups()[roles.ANNOTATOR])
            return ExternalIdentity.objects.create(
                provider=provider, external_id=external_id, user=user, batch=batch
            )
    except IntegrityError:
        return ExternalIdentity.objects.select_related("user").get(
            provider=provider, external_id=external_id
        )


@dataclass(frozen=True)
class EntryStatus:
    batch: str
    submitted: int
    required: int
    complete: bool
    completion_url: str | None


def entry_status(*, user) -> EntryStatus | None:
    """Progress of an entry worker towards their batch's quota (None for other accounts)."""
    identity = (
        ExternalIdentity.objects.select_related("batch").filter(user_id=user.pk).first()
        if user.is_authenticated
        else None
    )
    if identity is None or identity.batch is None:
        return None
    batch = identity.batch
    required = batch.entry_pairs_required or 0
    submitted = Assignment.objects.filter(
        annotator_id=user.pk, batch=batch, status=Assignment.Status.SUBMITTED
    ).count()
    complete = required > 0 and submitted >= required
    return EntryStatus(
        batch=batch.name,
        submitted=submitted,
        required=required,
        complete=complete,
        completion_url=batch_completion_url(batch) if complete else None,
    )


def external_worker_complete(*, user) -> str:
    """Record that the worker finished and return where to send them (the platform's URL)."""
    status = entry_status(user=user)
    if status is None:
        raise NotFoundError("This account did not come through a study link.")
    if not status.complete:
        raise ConflictError(
            f"Please submit {status.required - status.submitted} more pair(s) before "
            "finishing the study.",
            code="not_complete",
        )
    identity = ExternalIdentity.objects.select_related("batch").get(user_id=user.pk)
    # The pair the app prefetched for after the last required one goes back to the pool now;
    # it would otherwise hold a slot of the study's batch until it expires.
    assignment_release_open(annotator=user)
    if identity.completed_at is None:
        identity.completed_at = timezone.now()
        identity.save(update_fields=["completed_at"])
        audit_record(
            actor=user,
            verb="worker.complete",
            target=user,
            batch=identity.batch,
            details={"submitted": status.submitted},
        )
    return status.completion_url or ""
