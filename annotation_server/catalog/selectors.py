"""Catalog reads: videos by their opaque uid, and who may see them."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from annotation_server.accounts import roles
from annotation_server.assignments.models import Assignment
from annotation_server.catalog.models import Video


def video_get_by_uid(uid: uuid.UUID | str) -> Video | None:
    return Video.objects.filter(uid=uid).first()


def video_visible_to(user, video: Video) -> bool:
    """Admins and reviewers see every video; an annotator only the videos of pairs they hold
    (or held) an assignment for, whatever its status. Anonymous users see nothing."""
    if not user or not user.is_authenticated or not user.is_active:
        return False
    if roles.is_reviewer(user):
        return True
    return Assignment.objects.filter(
        Q(pair__video_0=video) | Q(pair__video_1=video), annotator=user
    ).exists()


def videos_failed() -> QuerySet[Video]:
    """Failed videos, newest failure first, with their prompt for display."""
    return (
        Video.objects.filter(status=Video.Status.FAILED)
        .select_related("prompt")
        .order_by("-status_changed_at")
    )
