"""Recording audit events: one call any service makes after a change worth answering for."""

from __future__ import annotations

from typing import Any

from django.db import models

from annotation_server.core.models import AuditEvent


def audit_record(
    *,
    actor: Any | None,
    verb: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    batch: Any | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Store one audit event ("<actor> <verb> <target>").

    `actor` is the acting user, or None for shell commands. Pass `target` (any model instance)
    or the explicit target_type/id/label for things that are not rows (e.g. an export file).
    Call it inside the caller's transaction so the event exists exactly when the change does.
    """
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
        target_label = target_label or str(target)[:255]
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        verb=verb,
        target_type=target_type or "unknown",
        target_id=str(target_id)[:64],
        target_label=target_label[:255],
        batch=batch,
        details=details or {},
    )
