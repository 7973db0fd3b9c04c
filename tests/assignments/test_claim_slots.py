"""Open slots: one account never holds more than its current and its prefetched pair.

The everyday claim on PostgreSQL is one statement that takes no lock on the account; the
unique open slot per worker is what stops two simultaneous claims of one login from opening
two pairs. These tests hit that race and the stale-slot case on a real PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.utils import timezone

from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Pair
from tests.assignments.workload import NEXT, client_for, make_batch

TABS = 8


@pytest.mark.django_db(transaction=True)
def test_simultaneous_claims_of_one_login_all_get_the_same_pair(make_user):
    make_batch(TABS * 2)
    user = make_user()
    clients = [client_for(user) for _ in range(TABS)]
    start = threading.Barrier(TABS)
    answers: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def tab(client) -> None:
        try:
            start.wait()
            response = client.post(NEXT, {}, format="json")
            body = response.json() if response.status_code == 200 else {}
            with lock:
                answers.append((response.status_code, body.get("id")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tab, args=(client,)) for client in clients]
    # Hold the account's row so every claim gets stuck just before its commit (its foreign
    # key check waits): all eight statements then overlap instead of running one by one.
    with transaction.atomic():
        get_user_model().objects.select_for_update().get(pk=user.pk)
        for thread in threads:
            thread.start()
        time.sleep(1.5)
    for thread in threads:
        thread.join(timeout=60)

    assert [status for status, _ in answers] == [200] * TABS
    opened = Assignment.objects.filter(annotator=user, status="open")
    assert opened.count() == 1  # every tab resumed the one pair a single claim opened
    assert {assignment_id for _, assignment_id in answers} == {str(opened.get().pk)}
    assert opened.get().slot == 0
    assert sum(Pair.objects.values_list("taken", flat=True)) == 1


@pytest.mark.django_db
def test_stale_assignments_give_their_slots_back_to_the_next_claim(make_user):
    make_batch(4)
    worker = client_for(make_user())
    current = worker.post(NEXT, {}, format="json").json()["id"]
    ahead = worker.post(NEXT, {"prefetch": True}, format="json").json()["id"]
    assert sorted(Assignment.objects.filter(status="open").values_list("slot", flat=True)) == [
        0,
        1,
    ]
    Assignment.objects.filter(pk__in=[current, ahead]).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    fresh = worker.post(NEXT, {}, format="json")
    assert fresh.status_code == 200
    assert fresh.json()["id"] not in (current, ahead)
    assert Assignment.objects.get(pk=current).status == "expired"
    assert Assignment.objects.get(pk=ahead).status == "expired"
    assert Assignment.objects.get(pk=fresh.json()["id"]).slot == 0
    second = worker.post(NEXT, {"prefetch": True}, format="json")
    assert second.status_code == 200
    assert Assignment.objects.get(pk=second.json()["id"]).slot == 1
    assert worker.post(NEXT, {"prefetch": True}, format="json").json()["id"] == second.json()["id"]
