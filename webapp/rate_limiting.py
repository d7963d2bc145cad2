"""Flask-Limiter, one instance per application.

Flask-Limiter keeps its storage and default limits on the Limiter object, so
a module-level instance would let the last app created in a process (tests
make several) configure them all; hence one per app, in
`app.extensions["rate_limiter"]`.

Requests are limited per client address by RATELIMIT_DEFAULT, except views
marked `@exempt`: static files, the docs, /health, and the device routes,
which services/rate_limits.py counts per device instead.
"""
from flask import current_app, request
from flask_limiter import Limiter

from webapp.client_address import client_address


def exempt(view):
    view.rate_limit_exempt = True
    return view


def init_app(app):
    limiter = Limiter(key_func=client_address)
    limiter.init_app(app)
    limiter.request_filter(_is_exempt)
    app.extensions["rate_limiter"] = limiter


def storage_limiter():
    """The `limits` strategy object of this app's limiter, for counts kept by hand."""
    return current_app.extensions["rate_limiter"].limiter


def _is_exempt():
    if request.endpoint == "static":
        return True
    return getattr(current_app.view_functions.get(request.endpoint), "rate_limit_exempt", False)
