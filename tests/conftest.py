"""Shared fixtures. The suite runs on PostgreSQL + Redis under `make test`."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from annotation_server.accounts import roles
from tests.celery_worker import celery_worker, celery_worker_factory  # noqa: F401  (fixtures)


@pytest.fixture
def make_user(db):
    """make_user(role="annotator", username=None) → a user in that role (password "pw")."""
    counter = {"n": 0}

    def make(role: str = roles.ANNOTATOR, username: str | None = None):
        counter["n"] += 1
        User = get_user_model()
        user = User.objects.create_user(
            username=username or f"{role}{counter['n']:03d}", password="pw-long-enough"
        )
        user.groups.add(roles.role_groups()[role])
        if role in (roles.ADMIN, roles.REVIEWER):
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        return user

    return make
