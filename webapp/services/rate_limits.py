"""Rate limits keyed by device, so devices behind one NAT address do not starve each other.

Other endpoints are limited per client address by Flask-Limiter's defaults;
device endpoints count here, after authentication, in the same storage
(memory, or Redis when REDIS_URL is set).
"""
import functools
import math
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
    if not current_app.config["RATELIMIT_ENABLED"]:
        return None
    limit = _parse(current_app.config[limit_setting])
    key = (current_app.config["RATELIMIT_KEY_PREFIX"], scope, identity)
    if storage_limiter().hit(limit, *key):
        return None
    reset_at, _ = storage_limiter().get_window_stats(limit, *key)
    retry_after = max(1, math.ceil(reset_at - time.time()))
    return RateLimited(f"Rate limit of {limit} exceeded; retry after {retry_after} s.", headers={"Retry-After": str(retry_after)})


@functools.lru_cache(maxsize=8)
def _parse(limit):
    return parse(limit)
