"""Counting requests against rate limits: per device on device routes, per address elsewhere.

Counts are fixed windows. Without REDIS_URL there is one worker and they
live in this process. With it they live in Redis, shared by every worker;
if Redis stops answering (or takes longer than REDIS_TIMEOUT), counting
falls back to this process (limits then hold per worker) with a warning,
tries Redis again every few seconds, and returns to it when it is back.
"""
import functools
import logging
import math
import threading
import time

from flask import current_app
from limits import parse, strategies
from limits.storage import storage_from_string

from webapp.errors import RateLimited

log = logging.getLogger(__name__)


def count_device_request(device_id):
    """Count a request of the device: None within its limit, else the RateLimited error to raise.

    The caller raises it only after the checks that take precedence (the
    contract puts 403 before 429), yet every request counts.
    """
    return count_request("RATELIMIT_DEVICE", "device", device_id)


def count_request(limit_setting, scope, identity):
    """Count a request of `identity` within `scope` against the limit in setting `limit_setting`.

    None while within the limit; otherwise the RateLimited error (with
    Retry-After) for the caller to raise.
    """
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return None
    limit = _parse(config[limit_setting])
    within, reset_at = current_app.extensions["rate_counter"].hit(limit, (config["REDIS_KEY_PREFIX"], scope, identity))
    if within:
        return None
    retry_after = max(1, math.ceil(reset_at - time.time()))
    return RateLimited(f"Rate limit of {limit} exceeded; retry after {retry_after} s.", headers={"Retry-After": str(retry_after)})


class LocalWindows:
    """Fixed-window counters of one process; a key's count restarts when its window has passed.

    (The `limits` memory storage wakes a timer every 10 ms to expire keys,
    which under load cost more than the rest of a device request.)
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._windows = {}

    def hit(self, limit, key):
        """(within the limit, when the window ends as a Unix time)."""
        period = limit.get_expiry()
        now = time.time()
        window_start = now - now % period
        with self._lock:
            start, count = self._windows.get(key, (window_start, 0))
            if start != window_start:
                start, count = window_start, 0
            count += 1
            self._windows[key] = (start, count)
        return count <= limit.amount, start + period


class RedisWindows:
    """Fixed-window counters in Redis, shared by every worker; local ones while Redis is down."""

    # While Redis is down, how often a request tries it again (the others count locally without waiting for it).
    RETRY_SECONDS = 5

    def __init__(self, redis_url, timeout=2):
        storage = storage_from_string(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._limiter = strategies.FixedWindowRateLimiter(storage)
        self._fallback = LocalWindows()
        self.redis_down = False
        self._retry_at = 0.0

    def hit(self, limit, key):
        if self.redis_down and time.monotonic() < self._retry_at:
            return self._fallback.hit(limit, key)
        try:
            within = self._limiter.hit(limit, *key)
            reset_at = time.time() if within else self._limiter.get_window_stats(limit, *key).reset_time
        except Exception as exc:
            if not self.redis_down:
                log.warning("rate limits: Redis unreachable (%s); counting in this worker until it is back", exc)
            self.redis_down = True
            self._retry_at = time.monotonic() + self.RETRY_SECONDS
            return self._fallback.hit(limit, key)
        if self.redis_down:
            log.warning("rate limits: Redis is back; counting there again")
            self.redis_down = False
        return within, reset_at


def create_counter(config):
    return RedisWindows(config["REDIS_URL"], config["REDIS_TIMEOUT"]) if config["REDIS_URL"] else LocalWindows()


@functools.lru_cache(maxsize=8)
def _parse(limit):
    return parse(limit)
