"""Liveness and readiness probes for load balancers, compose and orchestrators.

/healthz answers 200 while the process serves requests and touches nothing else, so a slow
database never gets web processes restarted. /readyz checks what a request needs (database,
Redis broker, media storage) and answers 503 with the failing check named when one is down.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

CHECK_TIMEOUT_S = 3


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_broker() -> str:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        # The embedded default runs tasks eagerly in-process: there is no broker to reach.
        return "no broker (tasks run in the web process)"
    client = redis.Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT_S, socket_timeout=CHECK_TIMEOUT_S
    )
    try:
        client.ping()
    finally:
        client.close()
    return "redis"


def check_storage() -> str:
    if settings.STORAGE_BACKEND == "filesystem":
        # Write, read back and delete a probe: a read-only or full volume must fail here,
        # not in the middle of an import.
        root = Path(settings.MEDIA_ROOT)
        probe = root / f".readyz-{uuid.uuid4().hex}"
        try:
            probe.write_bytes(b"ok")
            if probe.read_bytes() != b"ok":
                raise OSError("media storage returned different bytes than written")
        finally:
            probe.unlink(missing_ok=True)
        return "filesystem"
    name = default_storage.save(f"readyz/{uuid.uuid4().hex}", ContentFile(b"ok"))
    default_storage.delete(name)
    return settings.STORAGE_BACKEND


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}


def _run(check: Callable[[], str]) -> dict:
    started = time.monotonic()
    try:
        detail = check()
    except Exception as exc:  # any failure means "not ready": report which
        return {
            "ok": False,
            "error": f"{type(exc).__name__}: {str(exc)[:200]}",
            "ms": round((time.monotonic() - started) * 1000, 1),
        }
    return {"ok": True, "detail": detail, "ms": round((time.monotonic() - started) * 1000, 1)}


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Every dependency a request needs answers; 503 naming the failures otherwise."""
    results = {name: _run(check) for name, check in CHECKS.items()}
    ready = all(result["ok"] for result in results.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status=200 if ready else 503,
    )
