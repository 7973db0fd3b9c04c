"""Many concurrent clients claim and submit until the batch is exhausted (PostgreSQL).

Each thread is one browser tab with its own database connection. Eight of the 32 threads
share one account, the case where platforms hand the same task out twice. The race runs once
with API tokens and once as the worker app authenticates (session cookie and CSRF header; the
shared account's eight tabs share one session), and on a classification batch, whose items
go through the same claim and submit services.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.db.models import Count

from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Pair
from tests.assignments.workload import (
    LABEL,
    NEXT,
    browser_for,
    client_for,
    make_batch,
    make_items,
    submit,
)

PAIRS, K = 40, 3
SOLO_ACCOUNTS, SHARED_THREADS = 24, 8
SKIPPERS = 3  # these accounts skip the first pair they get


def _clients(plan, auth: str) -> list:
    if auth == "token":
        return [client_for(user) for user, _, _ in plan]  # tokens made before the race
    first_tab, clients = {}, []  # one logged-in session per account, shared by its tabs
    for user, _, _ in plan:
        client = browser_for(user, session_of=first_tab.get(user.pk))
        first_tab.setdefault(user.pk, client)
        clients.append(client)
    return clients


def run_claim_race(make_user, auth: str = "token", kind: str = "pairwise") -> dict:
    """Run the race; returns what the threads saw (statuses, claimed ids, errors)."""
    assert connection.vendor == "postgresql", "the concurrency tests need PostgreSQL"
    make, answer = (make_items, LABEL) if kind == "classification" else (make_batch, None)
    batch, pairs = make(PAIRS, overlap=K)
    solo = [make_user() for _ in range(SOLO_ACCOUNTS)]
    shared = make_user(username="shared-login")
    plan = [(user, i < SKIPPERS, i % 2 == 0) for i, user in enumerate(solo)]
    plan += [(shared, False, False)] * SHARED_THREADS
    clients = _clients(plan, auth)
    seen = {"statuses": Counter(), "claimed": set(), "errors": []}
    lock = threading.Lock()
    start = threading.Barrier(len(plan))

    def worker(client, skip_first: bool, prefetch: bool) -> None:
        try:
            start.wait()
            while True:
                response = client.post(NEXT, {}, format="json")
                with lock:
                    seen["statuses"][response.status_code] += 1
                if response.status_code != 200:
                    break
                assignment_id = response.json()["id"]
                with lock:
                    seen["claimed"].add(assignment_id)
                if prefetch:
                    ahead = client.post(NEXT, {"prefetch": True}, format="json")
                    if ahead.status_code == 200:
                        with lock:
                            seen["claimed"].add(ahead.json()["id"])
                if skip_first:
                    skip_first = False
                    result = client.post(
                        f"/api/v1/assignments/{assignment_id}/skip/",
                        {"reason": "unsure"},
                        format="json",
                    )
                else:
                    result = submit(client, assignment_id, answer)
                with lock:
                    seen["statuses"][result.status_code] += 1
        except Exception as exc:  # recorded, so the assertion shows it
            with lock:
                seen["errors"].append(repr(exc))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=worker, args=args)
        for args in zip(clients, [p[1] for p in plan], [p[2] for p in plan], strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    seen["batch"], seen["pairs"] = batch, pairs
    return seen


def assert_exactly_k_and_nothing_lost(seen: dict) -> None:
    assert seen["errors"] == []
    assert set(seen["statuses"]) <= {200, 201, 204}, seen["statuses"]
    per_pair = dict(Annotation.objects.values_list("pair").annotate(n=Count("id")))
    assert per_pair == {pair.pk: K for pair in seen["pairs"]}
    for pair in Pair.objects.filter(batch=seen["batch"]):
        assert pair.taken == K, pair.pair_id
    twice = Assignment.objects.values("pair", "annotator").annotate(n=Count("id")).filter(n__gt=1)
    assert not twice.exists()
    assert not Assignment.objects.filter(status="open").exists()
    finished = dict(Assignment.objects.values_list("id", "status"))
    assert {str(pk) for pk in finished} == seen["claimed"]  # no claim went missing
    assert Counter(finished.values()) == {"submitted": PAIRS * K, "skipped": SKIPPERS}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("auth", ["token", "session"])
def test_32_concurrent_clients_give_every_pair_exactly_k(make_user, auth):
    seen = run_claim_race(make_user, auth)
    assert_exactly_k_and_nothing_lost(seen)
    # The shared account worked, and never held one pair twice.
    shared = Annotation.objects.filter(annotator__username="shared-login")
    assert shared.count() > 0
    assert shared.values("pair").distinct().count() == shared.count()


@pytest.mark.django_db(transaction=True)
def test_32_concurrent_clients_label_every_item_of_a_classification_batch_k_times(make_user):
    seen = run_claim_race(make_user, "token", kind="classification")
    assert_exactly_k_and_nothing_lost(seen)
    labels = {(h, tuple(c)) for h, c in Annotation.objects.values_list("harmful", "categories")}
    assert labels == {(True, ("violence",))}  # each stored as the worker sent it
