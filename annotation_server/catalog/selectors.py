"""Catalog reads: videos by their opaque uid, who may see them, taxonomies for display."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from annotation_server.accounts import roles
from annotation_server.catalog.models import Taxonomy, Video

# Who besides reviewers may see a video is decided above the catalog (an annotator holding an
# assignment on one of its pairs): those layers register a rule here in AppConfig.ready.
VideoViewerRule = Callable[[Any, Video], bool]
_viewer_rules: list[VideoViewerRule] = []


def video_viewer_rule_register(rule: VideoViewerRule) -> None:
    """Let `rule(user, video)` grant an active, signed-in user the sight of a video."""
    if rule not in _viewer_rules:
        _viewer_rules.append(rule)


def video_get_by_uid(uid: uuid.UUID | str) -> Video | None:
    return Video.objects.filter(uid=uid).first()


def video_visible_to(user, video: Video) -> bool:
    """Admins and reviewers see every video; anyone else only the videos a registered rule
    grants them (an annotator: those of pairs they hold or held an assignment for, whatever
    its status). Anonymous users see nothing."""
    if not user or not user.is_authenticated or not user.is_active:
        return False
    if roles.is_reviewer(user):
        return True
    return any(rule(user, video) for rule in _viewer_rules)


def videos_failed() -> QuerySet[Video]:
    """Failed videos, newest failure first, with their prompt for display."""
    return (
        Video.objects.filter(status=Video.Status.FAILED)
        .select_related("prompt")
        .order_by("-status_changed_at")
    )


# Taxonomy versions never change (catalog/taxonomy_data.py), so a process keeps each one it
# has read: the claim shows a classification item's categories without another query.
_taxonomies: dict[int, dict] = {}


def taxonomy_for_display(taxonomy_id: int) -> dict:
    """{name, version, categories} of one taxonomy version, as workers are shown it."""
    found = _taxonomies.get(taxonomy_id)
    if found is None:
        row = Taxonomy.objects.only("name", "version", "categories").get(pk=taxonomy_id)
        found = {"name": row.name, "version": row.version, "categories": row.categories}
        _taxonomies[taxonomy_id] = found
    return found
