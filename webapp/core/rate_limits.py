"""Counting the limits that only a service can count, in the storage the app's Flask-Limiter keeps.

Flask-Limiter limits pages, the owner API and logins per client address
(http/rate_limiting.py). A device is limited per device, which is known only
once its token is checked, and failed device authentications per address:
services/ingest counts those here, through the same `limits` storage
(memory with one worker, Redis with REDIS_URL), as fixed windows.

If Redis stops answering (or takes longer than REDIS_TIMEOUT), counting
falls back to this process (limits then hold per worker) with a warning,
tries Redis again every few seconds, and returns to it when it is back.
"""
import functools
import logging
import math
import time

from flask import current_app
from limits import parse, strategies
from limits.storage import MemoryStorage

from webapp.core.errors import RateLimited

log = logging.getLogger(__name__)


def count_request(limit_setting, scope, identity):
    """Count a request of `identity` within `scope` against the limit in setting `limit_setting`.

    None while within the limit; otherwise the RateLimited error (with
    Retry-After) for the caller to raise: the caller decides when, since the
    contract puts other refusals (403) before 429, yet every request counts.
    """
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return None
    limit = _parse(config[limit_setting])
    within, reset_at = current_app.extensions["rate_counter"].hit(limit, scope, identity)
    if within:
        return None
    retry_after = max(1, math.ceil(reset_at - time.time()))
    return RateLimited(f"Rate limit of {limit} exceeded; retry after {retry_after} s.", headers={"Retry-After": str(retry_after)})


class RateCounter:
    """Fixed-window counters in a `limits` storage, and in this process while that storage (Redis) is down."""

    # While Redis is down, how often a request tries it again (the others count locally without waiting for it).
    RETRY_SECONDS = 5

    def __init__(self, storage, key_prefix):
        self._limiter = strategies.FixedWindowRateLimiter(storage)
        self._fallback = strategies.FixedWindowRateLimiter(MemoryStorage()) if not isinstance(storage, MemoryStorage) else None
        self._key_prefix = key_prefix
        self.redis_down = False
        self._retry_at = 0.0

    def hit(self, limit, scope, identity):
        """Count one hit: (within the limit, when the window ends as a Unix time)."""
        key = (self._key_prefix, scope, identity)
        if self.redis_down and time.monotonic() < self._retry_at:
            return self._hit(self._fallback, limit, key)
        try:
            counted = self._hit(self._limiter, limit, key)
        except Exception as exc:
            if self._fallback is None:
                raise
            if not self.redis_down:
                log.warning("rate limits: Redis unreachable (%s); counting in this worker until it is back", exc)
            self.redis_down = True
            self._retry_at = time.monotonic() + self.RETRY_SECONDS
            return self._hit(self._fallback, limit, key)
        if self.redis_down:
            log.warning("rate limits: Redis is back; counting there again")
            self.redis_down = False
        return counted

    @staticmethod
    def _hit(limiter, limit, key):
        if limiter.hit(limit, *key):
            return True, time.time()
        return False, limiter.get_window_stats(limit, *key).reset_time


@functools.lru_cache(maxsize=8)
def _parse(limit):
    return parse(limit)
