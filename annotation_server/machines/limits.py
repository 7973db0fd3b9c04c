"""Request spacing shared by every run and worker calling one endpoint, kept in Redis.

An endpoint's rate limit holds for its key and model, not for one run: two runs (or two
workers) on the same endpoint must share it, or each would get its whole allowance and the
endpoint would answer the rest with 429. Redis keeps one "next free slot" per endpoint
(the generic cell rate algorithm: each call takes the slot at max(now, next) and moves next
on by 60 s ÷ requests per minute), updated atomically by a script that reads Redis's own
clock, so workers on machines with different clocks agree. Without Redis (the embedded
setup) or when it cannot be reached, the spacing falls back to this process (a 429 that
follows is retried by the client, so a fallback costs time, never verdicts)."""

from __future__ import annotations

import hashlib
import logging
import time

import redis

from .calls import RateLimiter

logger = logging.getLogger(__name__)

# Returns how long (µs) the caller waits for its slot, and books the slot after it.
_TAKE_SLOT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, next_free)
local after = at + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', math.ceil((after - now) / 1000) + 1000)
return at - now
"""


def endpoint_key(base_url: str, model: str, api_key_env: str) -> str:
    digest = hashlib.sha256(f"{base_url}\n{model}\n{api_key_env}".encode()).hexdigest()[:24]
    return f"machines:rate:{digest}"


class SharedRateLimiter(RateLimiter):
    """At most `per_minute` calls a minute to one endpoint from every process sharing
    `redis_url` (0: no limit)."""

    def __init__(self, per_minute: int, *, redis_url: str, key: str):
        super().__init__(per_minute)
        self.key = key
        self.client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
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
