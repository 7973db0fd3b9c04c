"""Tokens per minute and calls at once, shared through Redis by every run and worker on one
endpoint (machines/limits.py), and what a run against the local server does with them."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.machines.limits import SharedPermits, SharedTokenBudget
from tests.ports import free_port

from .chat_server import verdict
from .test_vlm_run import run_here


def let_through(budgets, tokens: int, calls_each: int) -> list[float]:
    """The times at which each budget's bookings were let through, all budgets at once."""
    times: list[float] = []
    lock = threading.Lock()

    def go(budget):
        for _ in range(calls_each):
            budget.book(tokens)
            with lock:
                times.append(time.monotonic())

    threads = [threading.Thread(target=go, args=(budget,)) for budget in budgets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(times)


def test_token_budgets_of_one_endpoint_share_it(settings):
    key = f"machines:rate:test-{uuid.uuid4().hex}"
    budgets = [
        SharedTokenBudget(60_000, redis_url=settings.CELERY_BROKER_URL, key=key) for _ in range(3)
    ]  # three runs, 1 ms a token between them: a call of 200 tokens every 0.2 s
    times = let_through(budgets, 200, 2)
    assert len(times) == 6
    # 5 gaps of 0.2 s between the six calls (each budget alone would have needed 0.2 s).
    assert times[-1] - times[0] >= 0.95


def test_a_booking_is_corrected_by_the_usage_the_reply_reports(settings):
    key = f"machines:rate:test-{uuid.uuid4().hex}"
    url = settings.CELERY_BROKER_URL
    first, second = (SharedTokenBudget(60_000, redis_url=url, key=key) for _ in range(2))

    assert first.book(1000) == 0  # a call estimated at 1000 tokens: 1 s of the budget
    first.settle(1000, 100)  # it used 100: 0.9 s given back
    assert second.book(100) <= 0.1  # waits for the 100 used, not for the estimate

    second.settle(100, 1100)  # this one used far more than booked: the next one waits
    assert first.book(10) >= 0.9


def test_without_redis_the_token_budget_holds_in_the_process():
    budget = SharedTokenBudget(
        60_000, redis_url=f"redis://127.0.0.1:{free_port()}/0", key="machines:rate:nowhere"
    )
    times = let_through([budget], 100, 4)
    assert not budget.shared
    assert times[-1] - times[0] >= 0.28


def test_permits_are_shared_and_handed_back(settings):
    key = f"machines:rate:test-{uuid.uuid4().hex}"
    url = settings.CELERY_BROKER_URL
    first, second = (SharedPermits(2, redis_url=url, key=key) for _ in range(2))
    held = [first.try_acquire(), first.try_acquire()]
    assert all(held)
    assert second.try_acquire() is None  # two at once between them

    first.release(held[0])

    assert second.try_acquire() is not None
    for permits in (first, second):
        permits.close()


def test_a_killed_workers_permit_comes_back_when_its_lease_ends(settings):
    key = f"machines:rate:test-{uuid.uuid4().hex}"
    url = settings.CELERY_BROKER_URL
    killed = SharedPermits(1, redis_url=url, key=key, lease_s=0.6)
    assert killed.try_acquire() is not None
    killed.close()  # stops renewing and never hands its permit back, as a SIGKILL would

    other = SharedPermits(1, redis_url=url, key=key, lease_s=0.6)
    assert other.try_acquire() is None
    start = time.monotonic()
    other.release(other.acquire())
    assert time.monotonic() - start >= 0.4  # not before the lease ran out
    other.close()


def test_a_held_permit_is_renewed_past_its_lease(settings):
    key = f"machines:rate:test-{uuid.uuid4().hex}"
    url = settings.CELERY_BROKER_URL
    holder = SharedPermits(1, redis_url=url, key=key, lease_s=0.3)
    other = SharedPermits(1, redis_url=url, key=key, lease_s=0.3)
    permit = holder.try_acquire()
    time.sleep(1.0)  # three leases long: its renewals keep it
    assert other.try_acquire() is None
    holder.release(permit)
    assert other.try_acquire() is not None
    holder.close()
    other.close()


@pytest.mark.django_db
def test_a_run_spaces_its_calls_to_tokens_per_minute(
    make_batch, chat_server, make_annotator, api_key
):
    server = chat_server(lambda body, key, nth: verdict(False, []))  # 120 tokens a reply
    # 36,000 tokens a minute: 0.2 s a reply's 120 tokens; each call first books its estimate
    # (an image and the prompt + 50 max tokens), corrected to 120 when its reply comes.
    annotator = make_annotator(server, tokens_per_minute=36_000, concurrency=4, max_tokens=50)

    run = run_here(make_batch(images=4), annotator)

    assert (run.done, run.prompt_tokens + run.completion_tokens) == (4, 480)
    times = sorted(at for at, _, _ in server.requests)
    assert len(times) == 4
    # At least 0.2 s apart when let through; their arrival here jitters with connections.
    assert times[-1] - times[0] > 0.5


@pytest.mark.django_db(transaction=True)
def test_two_runs_on_one_endpoint_never_exceed_its_concurrency_together(
    make_batch, chat_server, make_annotator, api_key
):
    server = chat_server(lambda body, key, nth: verdict(False, [], delay_s=0.25))
    batch = make_batch(images=6)
    # Each run would make 4 calls at once, 8 together; the endpoint takes 3.
    runs = [
        make_annotator(server, name=name, concurrency=4, endpoint_concurrency=3)
        for name in ("first", "second")
    ]
    results = {}

    def go(annotator):
        try:
            results[annotator.name] = run_here(batch, annotator)
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(annotator,)) for annotator in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {name: run.done for name, run in results.items()} == {"first": 6, "second": 6}
    assert ExternalAnnotation.objects.filter(batch=batch).count() == 12
    assert server.most_at_once == 3
