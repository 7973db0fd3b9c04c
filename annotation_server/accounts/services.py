"""Account services: creating annotators and assigning roles."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction

from annotation_server.accounts import roles
from annotation_server.core.exceptions import ApplicationError


def user_set_role(*, user, role: str, staff: bool | None = None) -> None:
    """Put `user` in the group of `role` (admin, reviewer or annotator)."""
    if role not in roles.ROLES:
        raise ApplicationError(f"Unknown role {role!r}; use one of {', '.join(roles.ROLES)}.")
    user.groups.add(roles.role_groups()[role])
    if staff is None:
        staff = role in (roles.ADMIN, roles.REVIEWER)
    if staff and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


@transaction.atomic
def annotators_create(
    *, count: int, prefix: str = "annotator", password: str | None = None
) -> list[tuple[str, str]]:
    """Create `count` annotator accounts named `<prefix>NNN`, continuing after existing ones.

    Returns (username, password) pairs. Without a password each account gets a random one.
    """
    if count < 1:
        raise ApplicationError("--count must be at least 1.")
    if not prefix or not prefix.replace("_", "").replace("-", "").isalnum():
        raise ApplicationError("--prefix may only use letters, digits, '-' and '_'.")
    User = get_user_model()
    group = roles.role_groups()[roles.ANNOTATOR]
    taken = set(User.objects.filter(username__startswith=prefix).values_list("username", flat=True))
    created = []
    number = 1
    while len(created) < count:
        username = f"{prefix}{number:03d}"
        number += 1
        if username in taken:
            continue
        pw = password or secrets.token_urlsafe(9)
        user = User.objects.create_user(username=username, password=pw)
        user.groups.add(group)
        created.append((username, pw))
    return created
