"""/healthz and /readyz: what a load balancer or container runtime sees."""

from __future__ import annotations

import pytest
from django.test import override_settings


def test_healthz_answers_without_login_or_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_each_dependency_ready(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "storage"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["database"]["detail"] == "postgresql"
    assert body["checks"]["broker"]["detail"] == "redis"
    # The probe file is cleaned up: readiness checks leave no litter in media storage.
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db
def test_readyz_is_503_and_names_the_broker_when_redis_is_unreachable(client, tmp_path):
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0", MEDIA_ROOT=tmp_path):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert "Connection" in body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["storage"]["ok"] is True


@pytest.mark.django_db
def test_readyz_is_503_when_media_storage_cannot_be_written(client, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    with override_settings(MEDIA_ROOT=blocker / "media"):
        response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["storage"]["ok"] is False
    assert checks["database"]["ok"] is True


def test_health_endpoints_refuse_writes(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405
