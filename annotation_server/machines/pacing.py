"""How calls to one endpoint are paced within this process: requests per minute, tokens per
minute and calls at once; and the gate every call passes through (machines/calls.py). No
Django, no Redis: machines/limits.py shares the same three limits through Redis, and falls
back to these when Redis cannot be reached.

Requests and tokens are spaced with the generic cell rate algorithm: each call takes the
endpoint's next free slot at max(now, next) and moves `next` on by its cost (60 s ÷ requests
per minute for a request; 60 s ÷ tokens per minute for each token). A call's tokens are not
known before its reply, so it books its estimate (the prompt's estimate + max_tokens) and the
reply's reported usage corrects the booking: unused tokens go back to the callers after it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class RateLimiter:
    """At most `per_minute` calls a minute from this process, spaced evenly: each caller
    waits for the next free slot (0: no limit)."""

    def __init__(self, per_minute: int):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            at = max(now, self.next_at)
            self.next_at = at + self.interval
        if at > now:
            time.sleep(at - now)

    def close(self) -> None:
        """Nothing to release here (a shared limiter closes its connection)."""


class TokenBudget:
    """At most `per_minute` tokens a minute from this process (0: no limit): `book(n)` waits
    until n tokens fit and returns how long it waited (s); `settle(booked, used)` corrects a
    booking with the tokens the call really used."""

    def __init__(self, per_minute: int):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.next_at = 0.0
        self.lock = threading.Lock()

    def book(self, tokens: int) -> float:
        if not self.interval:
            return 0.0
        with self.lock:
            now = time.monotonic()
            at = max(now, self.next_at)
            self.next_at = at + tokens * self.interval
        if at > now:
            time.sleep(at - now)
        return at - now

    def settle(self, booked: int, used: int) -> None:
        if not self.interval or used == booked:
            return
        with self.lock:
            self.next_at = max(time.monotonic(), self.next_at + (used - booked) * self.interval)

    def close(self) -> None:
        """Nothing to release here (a shared budget closes its connection)."""


class Permits:
    """At most `limit` calls at once from this process (0: no cap). `acquire()` returns a
    permit to hand back to `release()`."""

    def __init__(self, limit: int):
        self.limit = limit
        self.semaphore = threading.BoundedSemaphore(limit) if limit else None

    def acquire(self) -> object:
        if self.semaphore is not None:
            self.semaphore.acquire()
        return None

    def release(self, permit: object) -> None:
        if self.semaphore is not None:
            self.semaphore.release()

    def close(self) -> None:
        """Nothing to release here (a shared semaphore stops renewing its leases)."""


@dataclass
class Booking:
    """One call's booked tokens; the caller sets `used` from the reply's usage (left None
    when the endpoint reported none, and the estimate stands)."""

    tokens: int
    used: int | None = None


class EndpointGate:
    """What every call to an endpoint passes through: a permit (calls at once), a request
    slot, then its tokens; the permit is held until the reply is in. The permit comes first:
    a slot booked while waiting for a permit would be wasted."""

    def __init__(
        self,
        requests: RateLimiter | None = None,
        tokens: TokenBudget | None = None,
        permits: Permits | None = None,
    ):
        self.requests = requests or RateLimiter(0)
        self.tokens = tokens or TokenBudget(0)
        self.permits = permits or Permits(0)

    @contextmanager
    def call(self, estimate: int) -> Iterator[Booking]:
        permit = self.permits.acquire()
        try:
            self.requests.wait()
            booking = Booking(estimate)
            self.tokens.book(estimate)
            try:
                yield booking
            finally:
                if booking.used is not None:
                    self.tokens.settle(booking.tokens, booking.used)
        finally:
            self.permits.release(permit)

    def close(self) -> None:
        for part in (self.requests, self.tokens, self.permits):
            part.close()
