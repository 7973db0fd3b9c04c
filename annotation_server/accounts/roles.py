"""Roles are Django groups: admin, reviewer, annotator. Superusers count as admins."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, Group

ADMIN = "admin"
REVIEWER = "reviewer"
ANNOTATOR = "annotator"
ROLES = (ADMIN, REVIEWER, ANNOTATOR)


def role_groups() -> dict[str, Group]:
    """The three role groups, created when missing."""
    return {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}


def has_role(user: AbstractBaseUser, role: str) -> bool:
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cache = getattr(user, "_role_cache", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._role_cache = cache
    return role in cache


def is_admin(user) -> bool:
    return has_role(user, ADMIN)


def is_reviewer(user) -> bool:
    """Reviewers see everything read-only; admins are reviewers too."""
    return has_role(user, REVIEWER) or has_role(user, ADMIN)


def is_annotator(user) -> bool:
    return has_role(user, ANNOTATOR)
