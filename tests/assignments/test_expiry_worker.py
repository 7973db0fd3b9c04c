"""The beat-scheduled expiry runs in a real Celery worker and frees slots."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from annotation_server.assignments.models import Assignment
from annotation_server.assignments.tasks import assignment_expire_stale_task
from annotation_server.batches.models import Pair
from annotation_server.celery import app
from tests.assignments.workload import NEXT, client_for, make_batch
from tests.celery_worker import wait_until


def test_beat_schedule_names_the_expiry_task():
    scheduled = settings.CELERY_BEAT_SCHEDULE["assignments-expire"]["task"]
    assert scheduled == assignment_expire_stale_task.name
    assert scheduled in app.tasks


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_expiry_task_in_a_worker_frees_the_slot(make_user, celery_worker):
    _, [pair] = make_batch(1, overlap=1)
    assignment_id = client_for(make_user()).post(NEXT, {}, format="json").json()["id"]
    Assignment.objects.filter(pk=assignment_id).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assignment_expire_stale_task.delay()
    wait_until(
        lambda: Assignment.objects.get(pk=assignment_id).status == "expired",
        timeout=120,
        what="the worker to expire the assignment",
    )
    assert Pair.objects.get(pk=pair.pk).taken == 0
    assert client_for(make_user()).post(NEXT, {}, format="json").status_code == 200
