"""Handing a task to the broker by its registered name.

By name, so a module that queues work never imports the module of the task that does it
(that module imports the service it runs: importing it back would make a circle). Through the
task's signature, so with CELERY_TASK_ALWAYS_EAGER (the embedded default, no broker) the task
runs inline as `delay` would; each app imports its own `tasks` module when it is ready, so the
name is known in every process."""

from __future__ import annotations

from collections.abc import Sequence

from celery import current_app
from django.conf import settings


def task_publish(name: str, args: Sequence, **options) -> Exception | None:
    """Send one message for task `name`: None when the broker took it, else the error. Any
    failure to publish (refused connection, a full Redis refusing writes, ...) is returned for
    the caller to record, never raised, since callers run after a commit where an exception
    would only become a server error. Eager (no broker at all), the task ran here and its own
    error is the news: raised."""
    try:
        current_app.signature(name, args=tuple(args), **options).apply_async()
    except Exception as exc:  # noqa: BLE001
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        return exc
    return None


def broker_unreachable(exc: Exception) -> str:
    """What to tell whoever started work the broker did not take."""
    return f"Not started: the task broker (CELERY_BROKER_URL) was unreachable ({exc})."
