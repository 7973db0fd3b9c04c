"""Request spacing shared through Redis by every limiter of one endpoint."""

from __future__ import annotations

import threading
import time
import uuid

from annotation_server.machines.limits import SharedRateLimiter, endpoint_key
from tests.ports import free_port


def slots(limiters, calls_each: int) -> list[float]:
    """The times at which each limiter's calls were let through, all limiters at once."""
    times: list[float] = []
    lock = threading.Lock()

    def go(limiter):
        for _ in range(calls_each):
            limiter.wait()
            with lock:
                times.append(time.monotonic())

    threads = [threading.Thread(target=go, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(times)


def test_limiters_of_one_endpoint_share_its_rate(settings):
    key = f"machines:rate:test-{uuid.uuid4().hex}"
    limiters = [
        SharedRateLimiter(600, redis_url=settings.CELERY_BROKER_URL, key=key) for _ in range(3)
    ]  # three runs, say, 10 calls a second between them
    times = slots(limiters, 4)
    assert len(times) == 12
    # 11 gaps of 0.1 s between them (each alone would have finished in 0.3 s).
    assert times[-1] - times[0] >= 1.05


def test_other_endpoints_do_not_wait_for_each_other(settings):
    url = settings.CELERY_BROKER_URL
    first = SharedRateLimiter(1, redis_url=url, key=endpoint_key("http://a/v1", "m", "K"))
    second = SharedRateLimiter(1, redis_url=url, key=endpoint_key("http://b/v1", "m", "K"))
    start = time.monotonic()
    first.wait()
    second.wait()
    assert time.monotonic() - start < 0.5
    assert first.key != second.key


def test_without_redis_the_spacing_holds_in_the_process():
    limiter = SharedRateLimiter(
        600, redis_url=f"redis://127.0.0.1:{free_port()}/0", key="machines:rate:nowhere"
    )
    times = slots([limiter], 4)
    assert not limiter.shared
    assert times[-1] - times[0] >= 0.28
