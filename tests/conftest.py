"""Shared fixtures. The suite runs on PostgreSQL + Redis under `make test`."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model

from annotation_server.accounts import roles
from annotation_server.assignments import expiry
from tests.celery_worker import celery_worker, celery_worker_factory  # noqa: F401  (fixtures)
from tests.s3 import s3_media, s3_server  # noqa: F401  (fixtures)


@pytest.fixture
def no_claim_sweep(monkeypatch):
    """A claim sweeps stale assignments every few seconds of wall-clock time (one more
    statement when it falls due): off, for tests that count a request's statements."""
    monkeypatch.setattr(expiry, "EXPIRY_CHECK_EVERY_S", float("inf"))
    monkeypatch.setattr(expiry, "_last_expiry_check", float("inf"))


@pytest.fixture
def make_user(db):
    """make_user(role="annotator", username=None) → a user in that role.

    Every user made here has the password "pw-long-enough".
    """
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


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session, shared by every browser test.

    Playwright's sync API allows one running instance per thread, so tests must not start
    their own while this one lives.
    """
    from playwright.sync_api import sync_playwright

    from tests.chromium import chromium_launch

    # Playwright's sync API runs an event loop in this thread; the ORM calls tests make
    # alongside it are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        b = chromium_launch(pw)
        yield b
        b.close()
