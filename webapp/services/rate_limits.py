"""Rate limits keyed by device, so devices behind one NAT address do not starve each other.

Other endpoints are limited per client address by Flask-Limiter's defaults
(see rate_limiting.py); device endpoints count here, after authentication.
With REDIS_URL the counts live in Redis (through Flask-Limiter's storage),
shared by every worker. Without it there is one worker, and a plain
in-process fixed window counts: the `limits` memory storage wakes a timer
every 10 ms to expire keys, which cost more than the rest of a request.
"""
import functools
import math
import threading
import time

from flask import current_app
from limits import parse

from webapp.errors import RateLimited
from webapp.rate_limiting import storage_limiter


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
    key = (config["RATELIMIT_KEY_PREFIX"], scope, identity)
    if config["REDIS_URL"]:
        within = storage_limiter().hit(limit, *key)
        reset_at = None if within else storage_limiter().get_window_stats(limit, *key)[0]
    else:
        within, reset_at = current_app.extensions["local_rate_windows"].hit(limit, key)
    if within:
        return None
    retry_after = max(1, math.ceil(reset_at - time.time()))
    return RateLimited(f"Rate limit of {limit} exceeded; retry after {retry_after} s.", headers={"Retry-After": str(retry_after)})


class LocalWindows:
    """Fixed-window counters of one process; a key's count resets when its window has passed."""

    def __init__(self):
        self._lock = threading.Lock()
        self._windows = {}

    def hit(self, limit, key):
        """(within the limit, when the window resets as a Unix time)."""
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


@functools.lru_cache(maxsize=8)
def _parse(limit):
    return parse(limit)
