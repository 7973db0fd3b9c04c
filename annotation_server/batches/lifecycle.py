"""Batch lifecycle services: publish, pause, resume, complete, archive; settings; entry links.

Every change is checked against `Batch.TRANSITIONS`, made under the batch's row lock and
recorded in the audit log. `actor` is the acting user (must be an admin) or None for shell
commands, which are trusted.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from annotation_server.accounts import roles
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Video
from annotation_server.core.audit import audit_record
from annotation_server.core.exceptions import ApplicationError, ConflictError, ForbiddenError

# What an admin may change while a batch runs, and how each value is checked.
EDITABLE_SETTINGS: dict[str, type] = {
    "priority": int,
    "overlap": int,
    "assignment_expiry_minutes": int,
    "gold_rate": float,
    "must_watch": bool,
    "blur_videos": bool,
    "label_prompts": bool,
    "instructions": str,
}


def require_admin(actor: Any | None) -> None:
    """Refuse anyone but an admin (None means a trusted shell command)."""
    if actor is not None and not roles.is_admin(actor):
        raise ForbiddenError("Only admins can change batches or act on annotators' work.")


def _lock(batch: Batch) -> Batch:
    return Batch.objects.select_for_update().get(pk=batch.pk)


def _move(
    *,
    batch: Batch,
    to: str,
    actor: Any | None,
    verb: str,
    allowed_from: tuple[str, ...],
    details: dict | None = None,
) -> Batch:
    require_admin(actor)
    with transaction.atomic():
        locked = _lock(batch)
        if locked.status not in allowed_from or to not in Batch.TRANSITIONS[locked.status]:
            raise ConflictError(
                f"Batch {locked.name!r} is {locked.get_status_display().lower()}; it cannot be "
                f"{verb}ed from there. {_next_steps(locked)}",
                code="invalid_transition",
            )
        previous = locked.status
        locked.status = to
        fields = ["status", "updated_at"]
        if to == Batch.Status.PUBLISHED and locked.published_at is None:
            locked.published_at = timezone.now()
            fields.append("published_at")
        locked.save(update_fields=fields)
        audit_record(
            actor=actor,
            verb=f"batch.{verb}",
            target=locked,
            batch=locked,
            details={"from": previous, "to": to, **(details or {})},
        )
    batch.refresh_from_db()
    return batch


def _next_steps(batch: Batch) -> str:
    moves = Batch.TRANSITIONS[batch.status]
    if not moves:
        return "Archived batches are final."
    return "From here it can go to: " + ", ".join(moves) + "."


def _check_publishable(batch: Batch) -> dict:
    pairs = Pair.objects.filter(batch=batch, active=True)
    regular = pairs.filter(is_gold=False).count()
    if regular == 0:
        raise ApplicationError(
            f"Batch {batch.name!r} has no active regular pairs to publish; import pairs or fix "
            "failed videos first.",
            code="batch_empty",
        )
    video_ids = set(pairs.values_list("video_0_id", flat=True)) | set(
        pairs.values_list("video_1_id", flat=True)
    )
    waiting = Video.objects.filter(
        pk__in=video_ids, status__in=[Video.Status.PENDING, Video.Status.PROCESSING]
    ).count()
    if waiting:
        raise ConflictError(
            f"{waiting} video(s) of batch {batch.name!r} are still being transcoded; publish "
            "once the batch status shows them ready.",
            code="videos_not_ready",
        )
    return {"regular_pairs": regular}


def batch_publish(*, batch: Batch, actor: Any | None) -> Batch:
    """Open the batch to annotators (from ready, or re-open a completed one).

    A draft or processing batch whose videos have all finished transcoding is published
    directly. Refused while videos are still transcoding or when no active pair exists.
    """
    details = _check_publishable(batch)
    if batch.status in (Batch.Status.DRAFT, Batch.Status.PROCESSING):
        # Transcoding is over (checked above): the batch is ready in all but name.
        require_admin(actor)
        Batch.objects.filter(pk=batch.pk, status=batch.status).update(status=Batch.Status.READY)
        batch.refresh_from_db()
    return _move(
        batch=batch,
        to=Batch.Status.PUBLISHED,
        actor=actor,
        verb="publish",
        allowed_from=(Batch.Status.READY, Batch.Status.COMPLETED),
        details=details,
    )


def batch_pause(*, batch: Batch, actor: Any | None) -> Batch:
    """Stop handing out new pairs; open assignments may still be submitted."""
    return _move(
        batch=batch,
        to=Batch.Status.PAUSED,
        actor=actor,
        verb="pause",
        allowed_from=(Batch.Status.PUBLISHED,),
    )


def batch_resume(*, batch: Batch, actor: Any | None) -> Batch:
    """Hand out pairs of a paused batch again."""
    return _move(
        batch=batch,
        to=Batch.Status.PUBLISHED,
        actor=actor,
        verb="resume",
        allowed_from=(Batch.Status.PAUSED,),
    )


def batch_complete(*, batch: Batch, actor: Any | None) -> Batch:
    """Close the batch for new work (it can be re-opened with publish, or archived)."""
    return _move(
        batch=batch,
        to=Batch.Status.COMPLETED,
        actor=actor,
        verb="complete",
        allowed_from=(Batch.Status.PUBLISHED, Batch.Status.PAUSED),
    )


def batch_archive(*, batch: Batch, actor: Any | None) -> Batch:
    """Retire the batch for good; it stays readable and exportable."""
    return _move(
        batch=batch,
        to=Batch.Status.ARCHIVED,
        actor=actor,
        verb="archive",
        allowed_from=tuple(
            s for s, moves in Batch.TRANSITIONS.items() if Batch.Status.ARCHIVED in moves
        ),
    )


LIFECYCLE_ACTIONS = {
    "publish": batch_publish,
    "pause": batch_pause,
    "resume": batch_resume,
    "complete": batch_complete,
    "archive": batch_archive,
}


def _coerce(name: str, value: Any) -> Any:
    kind = EDITABLE_SETTINGS[name]
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ApplicationError(f"{name} must be true or false, not {value!r}.")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ApplicationError(f"{name} must be a {kind.__name__}, not {value!r}.") from None


def _validate_settings(values: dict[str, Any]) -> None:
    if "overlap" in values and not 1 <= values["overlap"] <= 50:
        raise ApplicationError("overlap must be between 1 and 50 annotators per pair.")
    if "gold_rate" in values and not 0 <= values["gold_rate"] <= 1:
        raise ApplicationError("gold_rate must be between 0 and 1 (e.g. 0.1 for 10 %).")
    if "assignment_expiry_minutes" in values and values["assignment_expiry_minutes"] < 1:
        raise ApplicationError("assignment_expiry_minutes must be at least 1.")


def batch_settings_update(
    *, batch: Batch, actor: Any | None, changes: dict[str, Any], groups: list[Group] | None = None
) -> dict[str, tuple[Any, Any]]:
    """Change run settings (priority, overlap, expiry, gold rate, must-watch, blur, …).

    `groups` (when given) replaces the annotator groups allowed on the batch; an empty list
    opens it to all annotators. Returns {field: (old, new)} for what actually changed.
    """
    require_admin(actor)
    unknown = sorted(set(changes) - set(EDITABLE_SETTINGS))
    if unknown:
        raise ApplicationError(
            f"Unknown setting(s): {', '.join(unknown)}. Editable: {', '.join(EDITABLE_SETTINGS)}."
        )
    values = {name: _coerce(name, value) for name, value in changes.items()}
    _validate_settings(values)
    with transaction.atomic():
        locked = _lock(batch)
        if locked.status == Batch.Status.ARCHIVED:
            raise ConflictError(f"Batch {locked.name!r} is archived; its settings are frozen.")
        changed = {
            name: (getattr(locked, name), new)
            for name, new in values.items()
            if getattr(locked, name) != new
        }
        for name, (_old, new) in changed.items():
            setattr(locked, name, new)
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
        if groups is not None:
            before = sorted(locked.groups.values_list("name", flat=True))
            after = sorted(g.name for g in groups)
            if before != after:
                locked.groups.set(groups)
                changed["groups"] = (before, after)
        if changed:
            audit_record(
                actor=actor,
                verb="batch.settings",
                target=locked,
                batch=locked,
                details={k: {"old": o, "new": n} for k, (o, n) in changed.items()},
            )
    batch.refresh_from_db()
    return changed


PROLIFIC_COMPLETION_URL = "https://app.prolific.com/submissions/complete?cc={code}"


def batch_entry_configure(
    *,
    batch: Batch,
    actor: Any | None,
    enabled: bool,
    pairs_required: int | None = None,
    completion_code: str | None = None,
    completion_url: str | None = None,
    rotate_token: bool = False,
) -> Batch:
    """Turn the batch's crowd-platform entry links on or off and set their completion rule.

    A link token is generated on first use; `rotate_token` replaces it (old links stop
    working). Finished workers go to `completion_url`, or to Prolific's completion URL with
    `completion_code` when no URL is given.
    """
    require_admin(actor)
    with transaction.atomic():
        locked = _lock(batch)
        if pairs_required is not None:
            if pairs_required < 1:
                raise ApplicationError("The number of pairs required must be at least 1.")
            locked.entry_pairs_required = pairs_required
        if completion_code is not None:
            code = completion_code.strip()
            if code and not code.replace("-", "").replace("_", "").isalnum():
                raise ApplicationError(
                    "The completion code may only use letters, digits, '-' and '_'."
                )
            locked.entry_completion_code = code
        if completion_url is not None:
            url = completion_url.strip()
            if url and not url.startswith("https://"):
                raise ApplicationError("The completion URL must start with https://.")
            locked.entry_completion_url = url
        if enabled and not locked.entry_pairs_required:
            raise ApplicationError(
                "Set how many pairs a worker must submit before enabling entry links."
            )
        if enabled and not (locked.entry_completion_code or locked.entry_completion_url):
            raise ApplicationError(
                "Set a Prolific completion code or a completion URL before enabling entry links."
            )
        if locked.entry_token is None or rotate_token:
            locked.entry_token = secrets.token_urlsafe(24)
        locked.entry_enabled = enabled
        locked.save()
        audit_record(
            actor=actor,
            verb="batch.entry",
            target=locked,
            batch=locked,
            details={
                "enabled": enabled,
                "pairs_required": locked.entry_pairs_required,
                "token_rotated": rotate_token,
            },
        )
    batch.refresh_from_db()
    return batch


def batch_completion_url(batch: Batch) -> str:
    """Where a worker who finished this batch's quota is sent."""
    if batch.entry_completion_url:
        return batch.entry_completion_url
    return PROLIFIC_COMPLETION_URL.format(code=batch.entry_completion_code)
