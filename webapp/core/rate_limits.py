"""Counting the limits that only a service can count, in the storage the app's Flask-Limiter keeps.

Flask-Limiter limits pages, the owner API and logins per client address
(http/rate_limiting.py). A device is limited per device, which is known only
once its token is checked, and failed device authentications per address:
services/ingest counts those here, through the same `limits` storage
(this process's `ProcessWindows` with one worker, Redis with REDIS_URL), as
fixed windows.

If Redis stops answering (or takes longer than REDIS_TIMEOUT), counting
falls back to this process (limits then hold per worker) with a warning,
tries Redis again every few seconds, and returns to it when it is back.
"""
import functools
import logging
import math
import threading
import time

from flask import current_app
from limits import parse
from limits.storage import Storage

from webapp.core.errors import RateLimited

log = logging.getLogger(__name__)


def count_request(limit_setting, scope, identity):
    """Count a request of `identity` within `scope` against the limit in setting `limit_setting`.

    None while within the limit; otherwise the RateLimited error (with
    Retry-After) for the caller to raise: the caller decides when, since the
    contract puts other refusals (403) before 429, yet every request counts.
    """
    return count_requests(limit_setting, scope, [identity])[0]


def count_requests(limit_setting, scope, identities):
    """`count_request` for requests of several identities (one each, in order; one may repeat) at once: with
    Redis in one round trip. Each one's None or RateLimited error."""
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return [None] * len(identities)
    limit = _parse(config[limit_setting])
    return [None if within else _refusal(limit, reset_at) for within, reset_at in current_app.extensions["rate_counter"].hit_many(limit, scope, identities)]


def _refusal(limit, reset_at):
    retry_after = max(1, math.ceil(reset_at - time.time()))
    return RateLimited(f"Rate limit of {limit} exceeded; retry after {retry_after} s.", headers={"Retry-After": str(retry_after)})


class ProcessWindows(Storage):
    """A `limits` storage of fixed-window counts in this process, each expired when it is next touched.

    `limits`' own memory storage runs a timer every 10 ms that walks every key:
    with a fleet's devices as keys that cost more than the rest of a device
    request (ingest measured 2,100 against 3,100 requests/s, bench/README.md).
    Here a count is dropped once its window has passed, when next read or
    counted, and the others at most once a minute.
    """

    STORAGE_SCHEME = ["process-memory"]
    SWEEP_SECONDS = 60

    def __init__(self, uri=None, wrap_exceptions=False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._lock = threading.Lock()
        self._windows = {}  # key -> (end of its window as a Unix time, count)
        self._swept_at = time.time()

    @property
    def base_exceptions(self):
        return ValueError

    def incr(self, key, expiry, amount=1):
        now = time.time()
        with self._lock:
            ends_at, count = self._windows.get(key, (0.0, 0))
            if ends_at <= now:
                ends_at, count = now + expiry, 0
            self._windows[key] = (ends_at, count + amount)
            if now - self._swept_at > self.SWEEP_SECONDS:
                self._sweep(now)
        return count + amount

    def get(self, key):
        ends_at, count = self._windows.get(key, (0.0, 0))
        return count if ends_at > time.time() else 0

    def get_expiry(self, key):
        ends_at, _ = self._windows.get(key, (0.0, 0))
        return max(ends_at, time.time())

    def check(self):
        return True

    def reset(self):
        with self._lock:
            cleared = len(self._windows)
            self._windows.clear()
        return cleared

    def clear(self, key):
        with self._lock:
            self._windows.pop(key, None)

    def _sweep(self, now):
        self._windows = {key: window for key, window in self._windows.items() if window[0] > now}
        self._swept_at = now


class RateCounter:
    """Fixed-window counters in a `limits` storage, and in this process while that storage (Redis) is down."""

    # While Redis is down, how often a request tries it again (the others count locally without waiting for it).
    RETRY_SECONDS = 5

    def __init__(self, storage, key_prefix):
        self._storage = storage
        self._fallback = ProcessWindows() if not isinstance(storage, ProcessWindows) else None
        self._key_prefix = key_prefix + "rate/"
        self.redis_down = False
        self._retry_at = 0.0

    def hit(self, limit, scope, identity):
        """Count one hit: (within the limit, when the window ends as a Unix time)."""
        return self.hit_many(limit, scope, [identity])[0]

    def hit_many(self, limit, scope, identities):
        """Count one hit of each identity: for each, (within the limit, when the window ends as a Unix time)."""
        keys = [f"{self._key_prefix}{scope}/{identity}" for identity in identities]
        if self.redis_down and time.monotonic() < self._retry_at:
            return self._hit_many(self._fallback, limit, keys)
        try:
            counted = self._hit_many(self._storage, limit, keys)
        except Exception as exc:
            if self._fallback is None:
                raise
            if not self.redis_down:
                log.warning("rate limits: Redis unreachable (%s); counting in this worker until it is back", exc)
            self.redis_down = True
            self._retry_at = time.monotonic() + self.RETRY_SECONDS
            return self._hit_many(self._fallback, limit, keys)
        if self.redis_down:
            log.warning("rate limits: Redis is back; counting there again")
            self.redis_down = False
        return counted

    @staticmethod
    def _hit_many(storage, limit, keys):
        # The fixed-window strategy of `limits`, on the storage itself: this runs on every device request.
        expiry = limit.get_expiry()
        counts = _incr_all(storage, keys, expiry) if hasattr(storage, "lua_incr_expire") else [storage.incr(key, expiry) for key in keys]
        now = time.time()
        return [(True, now) if count <= limit.amount else (False, storage.get_expiry(key)) for key, count in zip(keys, counts, strict=True)]


def _incr_all(storage, keys, expiry):
    """`limits`' Redis storage's `incr` of each key (its script: INCR, and EXPIRE on the first), in one round trip."""
    pipeline = storage.get_connection().pipeline(transaction=False)
    for key in keys:
        storage.lua_incr_expire([storage.prefixed_key(key)], [expiry, 1], client=pipeline)
    return [int(count) for count in pipeline.execute()]


@functools.lru_cache(maxsize=8)
def _parse(limit):
    return parse(limit)
