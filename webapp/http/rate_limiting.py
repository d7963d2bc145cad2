"""Per-address rate limits with Flask-Limiter: each part of the site has a budget of its own.

A blueprint (or a single view) says which budget it draws on with
`limited(setting, scope)`, or that it draws on none with `exempt`; every
route of one scope shares one count per client address, so a script
hammering /api does not lock a person out of /login. What is marked neither
falls back to RATELIMIT_DEFAULT per route. (A view marked exempt still
counts against its blueprint's budget: Flask-Limiter's rule, so a view that
must never be limited lives in a blueprint without one.)

Devices are limited per device, known only once their token is checked:
their blueprints (http/device_routes.py) are exempt here, and services/ingest
counts them (core/rate_limits.py) in the same `limits` storage this limiter
keeps: this process's (core/rate_limits.ProcessWindows) with one worker,
Redis with REDIS_URL. Flask-Limiter falls back
to memory while Redis is unreachable and returns to it when it answers again.

One Limiter per app: Flask-Limiter keeps its storage and settings on the
Limiter, and tests make many apps with different settings side by side.
"""
import math
import time

from flask import current_app, request
from flask_limiter import Limiter, RateLimitExceeded

from webapp.core.errors import RateLimited
from webapp.core.rate_limits import RateCounter
from webapp.http.client_address import client_address
from webapp.http.device_routes import DEVICE_BLUEPRINTS

EXEMPT = "exempt"


def limited(setting, scope):
    """Mark a blueprint or a view: counted per client address against the limit in setting `setting`,
    in one count with everything else of `scope`."""

    def mark(target):
        target.rate_limit = (setting, scope)
        return target

    return mark


def exempt(target):
    """Mark a blueprint or a view as never limited per address."""
    target.rate_limit = EXEMPT
    return target


def init_app(app):
    """Make the app's limiter (after its blueprints are registered) and the counter the services count devices with."""
    config = app.config
    limiter = Limiter(
        key_func=lambda: client_address(request.environ),
        app=app,
        storage_uri=config["REDIS_URL"] or "process-memory://",
        storage_options={"socket_timeout": config["REDIS_TIMEOUT"], "socket_connect_timeout": config["REDIS_TIMEOUT"]},
        in_memory_fallback_enabled=bool(config["REDIS_URL"]),
        key_prefix=config["REDIS_KEY_PREFIX"],
        strategy="fixed-window",
        default_limits=[_setting("RATELIMIT_DEFAULT")],
        enabled=config["RATELIMIT_ENABLED"],
    )
    for name in DEVICE_BLUEPRINTS & app.blueprints.keys():
        limiter.exempt(app.blueprints[name])
    for blueprint in app.blueprints.values():
        _apply(limiter, blueprint)
    for endpoint, view in list(app.view_functions.items()):
        # Flask-Limiter checks a view's own limit in a wrapper around it: the wrapper replaces the view.
        app.view_functions[endpoint] = _apply(limiter, view) or view
    app.register_error_handler(RateLimitExceeded, _refused)
    app.extensions["rate_limiter"] = limiter
    app.extensions["rate_counter"] = RateCounter(limiter.storage, config["REDIS_KEY_PREFIX"]) if limiter.enabled else None


def _apply(limiter, target):
    """Apply the mark of a blueprint or view (unmarked: nothing); a view's limited wrapper, if any."""
    rate_limit = getattr(target, "rate_limit", None)
    if rate_limit == EXEMPT:
        limiter.exempt(target)
    elif rate_limit is not None:
        setting, scope = rate_limit
        return limiter.shared_limit(_setting(setting), scope=scope)(target)
    return None


def _setting(name):
    # Read at each request: tests change limits on a running app.
    return lambda: current_app.config[name]


def _refused(exc):
    """Flask-Limiter's refusal, as the same RateLimited error services raise: each part of the
    site renders it its own way (JSON with Retry-After, the login page, a dashboard toast)."""
    breached = current_app.extensions["rate_limiter"].current_limit
    reset_at = breached.reset_at if breached is not None else time.time()
    retry_after = max(1, math.ceil(reset_at - time.time()))
    error = RateLimited(f"Rate limit of {exc.limit.limit} exceeded; retry after {retry_after} s.", headers={"Retry-After": str(retry_after)})
    return current_app.handle_user_exception(error)
