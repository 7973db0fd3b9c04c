"""An endpoint's limits shared by every run and worker calling it, kept in Redis: requests per
minute, tokens per minute and calls at once.

An endpoint's limits hold for its key and model, not for one run: two runs (or two workers)
on the same endpoint must share them, or each would get its whole allowance and the endpoint
would answer the rest with 429. Redis keeps, per endpoint, one "next free slot" for requests
and one for tokens (the generic cell rate algorithm of machines/pacing.py) and a set of
leased permits, each updated atomically by a script that reads Redis's own clock, so workers
on machines with different clocks agree. A permit is a lease renewed while its call runs: a
killed worker's permits come back when their lease ends. Without Redis (the embedded setup)
or when it cannot be reached, each limit falls back to this process (a 429 that follows is
retried by the client, so a fallback costs time, never verdicts)."""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
import uuid

import redis

from .pacing import EndpointGate, Permits, RateLimiter, TokenBudget

logger = logging.getLogger(__name__)

# Returns how long (µs) the caller waits for its slot, and books ARGV[1] µs after it.
_TAKE_SLOT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, next_free)
local after = at + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', math.ceil((after - now) / 1000) + 1000)
return at - now
"""

# Moves the next free slot by ARGV[1] µs (negative: tokens given back), never before now.
_MOVE_SLOT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local after = math.max(now, next_free + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', math.ceil((after - now) / 1000) + 1000)
return after - now
"""

# Drops expired leases; takes a permit (ARGV[3]) leased for ARGV[2] µs when fewer than
# ARGV[1] are held. 1 when taken, else 0.
_ACQUIRE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) / 1000) + 1000)
  return 1
end
return 0
"""

# Extends the leases still held (ARGV[2…]) by ARGV[1] µs from now; an expired one stays gone.
_RENEW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
return 1
"""

LEASE_S = 30.0  # a permit's lease, renewed every third of it while its call runs


def endpoint_key(base_url: str, model: str, api_key_env: str) -> str:
    digest = hashlib.sha256(f"{base_url}\n{model}\n{api_key_env}".encode()).hexdigest()[:24]
    return f"machines:rate:{digest}"


def redis_client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)


class SharedRateLimiter(RateLimiter):
    """At most `per_minute` calls a minute to one endpoint from every process sharing
    `redis_url` (0: no limit)."""

    def __init__(self, per_minute: int, *, redis_url: str, key: str):
        super().__init__(per_minute)
        self.key = key
        self.client = redis_client(redis_url)
        self.take = self.client.register_script(_TAKE_SLOT)
        self.shared = True

    def wait(self) -> None:
        if not self.interval:
            return
        if self.shared:
            try:
                delay_us = int(self.take(keys=[self.key], args=[round(self.interval * 1e6)]))
            except redis.RedisError as error:
                logger.warning("shared rate limit unavailable, spacing in-process: %s", error)
                self.shared = False
            else:
                if delay_us > 0:
                    time.sleep(delay_us / 1e6)
                return
        super().wait()

    def close(self) -> None:
        self.client.close()


class SharedTokenBudget(TokenBudget):
    """At most `per_minute` tokens a minute to one endpoint from every process sharing
    `redis_url` (0: no limit); `key` is the endpoint's (endpoint_key), its slot kept beside
    the request limiter's."""

    def __init__(self, per_minute: int, *, redis_url: str, key: str):
        super().__init__(per_minute)
        self.key = f"{key}:tokens"
        self.client = redis_client(redis_url)
        self.take = self.client.register_script(_TAKE_SLOT)
        self.move = self.client.register_script(_MOVE_SLOT)
        self.shared = True

    def book(self, tokens: int) -> float:
        if not self.interval:
            return 0.0
        if self.shared:
            cost_us = round(tokens * self.interval * 1e6)
            try:
                delay_s = int(self.take(keys=[self.key], args=[cost_us])) / 1e6
            except redis.RedisError as error:
                self._fall_back(error)
            else:
                if delay_s > 0:
                    time.sleep(delay_s)
                return delay_s
        return super().book(tokens)

    def settle(self, booked: int, used: int) -> None:
        if not self.interval or used == booked:
            return
        if self.shared:
            try:
                self.move(keys=[self.key], args=[round((used - booked) * self.interval * 1e6)])
            except redis.RedisError as error:
                self._fall_back(error)
            return
        super().settle(booked, used)

    def _fall_back(self, error: Exception) -> None:
        logger.warning("shared token budget unavailable, spacing in-process: %s", error)
        self.shared = False

    def close(self) -> None:
        self.client.close()


class SharedPermits(Permits):
    """At most `limit` calls at once to one endpoint from every process sharing `redis_url`
    (0: no cap). Each permit is a lease of `lease_s` that a thread of this object renews while
    it is held; a process killed while holding one stops renewing, and the permit is free
    again when its lease ends."""

    def __init__(self, limit: int, *, redis_url: str, key: str, lease_s: float = LEASE_S):
        super().__init__(limit)
        self.key = f"{key}:permits"
        self.lease_us = round(lease_s * 1e6)
        self.client = redis_client(redis_url)
        self.take = self.client.register_script(_ACQUIRE)
        self.renew = self.client.register_script(_RENEW)
        self.shared = True
        self.held: set[str] = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.renewer: threading.Thread | None = None

    def try_acquire(self) -> str | None:
        """A permit when one is free now, else None."""
        permit = uuid.uuid4().hex
        if not int(self.take(keys=[self.key], args=[self.limit, self.lease_us, permit])):
            return None
        with self.lock:
            self.held.add(permit)
            if self.renewer is None:
                self.renewer = threading.Thread(target=self._renew, daemon=True)
                self.renewer.start()
        return permit

    def acquire(self) -> object:
        if not self.limit:
            return None
        while self.shared:
            try:
                permit = self.try_acquire()
            except redis.RedisError as error:
                logger.warning("shared concurrency cap unavailable, capping in-process: %s", error)
                self.shared = False
                break
            if permit is not None:
                return permit
            time.sleep(random.uniform(0.01, 0.05))  # jittered: waiters do not poll in step
        super().acquire()
        return None

    def release(self, permit: object) -> None:
        if not self.limit:
            return
        if permit is None:  # taken in-process, after a fallback
            super().release(permit)
            return
        with self.lock:
            self.held.discard(permit)
        try:
            self.client.zrem(self.key, permit)
        except redis.RedisError as error:  # its lease ends by itself
            logger.warning("could not hand back a permit (its lease ends it): %s", error)

    def _renew(self) -> None:
        while not self.stopped.wait(self.lease_us / 3e6):
            with self.lock:
                held = list(self.held)
            if held:
                try:
                    self.renew(keys=[self.key], args=[self.lease_us, *held])
                except redis.RedisError as error:
                    logger.warning("could not renew permits: %s", error)

    def close(self) -> None:
        """Stops renewing (permits still held end with their lease) and disconnects."""
        self.stopped.set()
        if self.renewer is not None:
            self.renewer.join()
        self.client.close()


def endpoint_gate(
    *,
    key: str,
    requests_per_minute: int,
    tokens_per_minute: int,
    concurrency: int,
    redis_url: str | None,
) -> EndpointGate:
    """The endpoint's gate, shared through Redis at `redis_url`, else within this process."""
    if redis_url is None:
        return EndpointGate(
            RateLimiter(requests_per_minute), TokenBudget(tokens_per_minute), Permits(concurrency)
        )
    return EndpointGate(
        SharedRateLimiter(requests_per_minute, redis_url=redis_url, key=key),
        SharedTokenBudget(tokens_per_minute, redis_url=redis_url, key=key),
        SharedPermits(concurrency, redis_url=redis_url, key=key),
    )
