"""Per-address rate limits on every route not marked `@exempt`.

The device routes are exempt here because services/rate_limits.py counts
them per device, after authentication; static files, the docs and /health
are exempt outright. Both kinds of limit count through the same counter
(see services/rate_limits.py).

We count with the `limits` library directly rather than through
Flask-Limiter (DESIGN.md's first choice): Flask-Limiter's request hooks
cost about 5% of a device request even on exempt routes, it keeps its
storage on a module-level instance that the last app created configures,
and the device limits needed counting by hand anyway.
"""
from flask import current_app, request

from webapp.client_address import client_address
from webapp.services.rate_limits import count_request


def exempt(view):
    view.rate_limit_exempt = True
    return view


def init_app(app):
    app.before_request(_limit_by_address)


def _limit_by_address():
    view = current_app.view_functions.get(request.endpoint)
    if view is None or request.endpoint == "static" or getattr(view, "rate_limit_exempt", False):
        return
    refused = count_request("RATELIMIT_DEFAULT", "address", client_address())
    if refused is not None:
        raise refused
