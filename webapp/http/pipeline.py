"""The order in which every request passes through the WSGI middleware: set here, and only here.

From the server inwards:

1. `CloseConnectionsWhenStopping` (stopping.py): once the worker stops, every answer closes its connection.
2. `SecurityHeaders` (security_headers.py): CSP and the other headers on every answer.
3. `RequestIds` (request_log.py): each request's id, in its log lines and its X-Request-ID answer.
4. The device fast path, on the server's app (device_api/fast_path.py): answers the busiest device
   routes itself, so it sits inside the three above, which every answer must pass.
5. Flask, with its request hooks (CSRF, rate limits, metrics) and the views.

Middleware rather than Flask hooks for 1–3: they run on every device request, where Flask's
header objects cost several times these plain lists.
"""
from webapp.http import vendor_assets
from webapp.http.request_log import RequestIds
from webapp.http.security_headers import SecurityHeaders, content_security_policy
from webapp.http.stopping import CloseConnectionsWhenStopping


def install(app, fast_path=None):
    """Wrap `app.wsgi_app`; `fast_path(app, wsgi_app)` makes the device fast path's middleware, when wanted."""
    wsgi_app = app.wsgi_app
    if fast_path is not None:
        wsgi_app = fast_path(app, wsgi_app)
    wsgi_app = RequestIds(wsgi_app)
    policy = content_security_policy(**vendor_assets.cdn_sources(app))
    wsgi_app = SecurityHeaders(wsgi_app, https=app.config["PREFERRED_URL_SCHEME"] == "https", policy=policy)
    app.wsgi_app = CloseConnectionsWhenStopping(wsgi_app, app.extensions["broker"].stopping)
