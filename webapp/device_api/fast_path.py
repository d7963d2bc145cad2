"""The routes every device calls every few seconds, answered ahead of Flask's dispatch.

`POST /devices/<id>/telemetry` and `GET /telemetry/latest` (the `fast` routes
of http/device_routing.py). Flask's dispatch (request and app contexts, matching the URL
against every route, hooks, session, response objects) cost 150 of the
180 µs the telemetry POST took in process, the database aside; answered
here it takes a third of that. What runs is the same as through Flask: the
route's handler, http/errors.py's error mapping, http/replies.py's encoding,
and http/observe.py's metrics and access log under the view's endpoint.

What does not run here is Flask's request hooks. Those the app has today do
nothing on device routes (CSRF and per-address limits skip the device_api
blueprint; observe is called below); a new app-wide hook must do the same or
be run here too, and tests/api/test_telemetry_fast_path.py fails until it is
listed there. The server's app (wsgi.py) has this middleware; apps that tests
drive through Flask's client go through the views, and the same test file
checks that both answer alike.
"""
import time

from webapp.device_api.blueprint import routes
from webapp.http.errors import error_reply
from webapp.http.observe import observe
from webapp.http.replies import wsgi_answer


class TelemetryFastPath:
    """WSGI middleware answering the fast device routes itself and passing every other request on."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        # Read once, as Flask's own hooks are registered once (http/observe.py).
        self.observing = bool(app.config["METRICS_TOKEN"] or app.config["ACCESS_LOG"])
        self.routes = {}
        for route in routes.fast_routes():
            self.routes.setdefault(route.method, []).append(route)

    def __call__(self, environ, start_response):
        match = self._match(environ)
        if match is None:
            return self.wsgi_app(environ, start_response)
        route, path = match
        started = time.perf_counter()
        with self.app.app_context():
            try:
                reply = route.handler(environ, **path)
            except Exception as exc:
                reply = error_reply(exc, environ["REQUEST_METHOD"], environ["PATH_INFO"])
            if self.observing:
                observe(self.app.config, environ["REQUEST_METHOD"], route.endpoint, environ["PATH_INFO"], reply.status, time.perf_counter() - started)
        return wsgi_answer(reply, start_response)

    def _match(self, environ):
        """(route, path arguments) of a fast route matching the request, else None."""
        candidates = self.routes.get(environ.get("REQUEST_METHOD"))
        if not candidates:
            return None
        # WSGI hands the path as latin-1; Flask decodes it as UTF-8 before matching.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        for route in candidates:
            matched = route.pattern.match(path)
            if matched is not None:
                return route, matched.groupdict()
        return None
