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


# Apps whose models admins manage in the Django admin; reviewers may view them.
PLATFORM_APPS = (
    "catalog",
    "batches",
    "assignments",
    "annotations",
    "quality",
    "exports",
    "machines",
    "accounts",
    "core",
)


def role_permissions_sync(**kwargs) -> None:
    """Give the role groups their model permissions (runs after every `migrate`).

    Admins: every permission on the platform's models plus users and groups. Reviewers: view
    permissions on the same models. Annotators: none (they never use the Django admin).
    """
    from django.contrib.auth.models import Permission

    groups = role_groups()
    platform = Permission.objects.filter(content_type__app_label__in=PLATFORM_APPS)
    auth_models = Permission.objects.filter(
        content_type__app_label="auth", content_type__model__in=("user", "group")
    )
    groups[ADMIN].permissions.set(list(platform) + list(auth_models))
    # Reviewers look at everything and may correct a prompt's own harm labels.
    reviewer = platform.filter(codename__startswith="view_") | platform.filter(
        codename="change_prompt"
    )
    groups[REVIEWER].permissions.set(list(reviewer))
