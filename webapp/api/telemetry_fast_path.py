"""The two routes every device calls every few seconds, served without Flask's request dispatch.

`POST /devices/<id>/telemetry` and `GET /telemetry/latest`. Flask's dispatch
(request and app contexts, matching the URL against every route, hooks,
session, response objects) cost 150 of the 180 µs the telemetry POST took in
process, the database aside; answered here it takes 54 µs. The answers are
the views' own: both call `device_routes.telemetry_reply` and
`latest_reply`, errors take the API's one shape (`errors.as_api_error`),
and metrics and the access log, when on, count them under the views'
endpoints. The server's app (`wsgi.py`) has this middleware; apps that tests
drive through Flask's client go through the views, and the suite checks that
both answer alike (tests/api/test_telemetry_fast_path.py).
"""
import time

import orjson
from werkzeug.http import HTTP_STATUS_CODES

from webapp import metrics, request_log
from webapp.api.device_routes import latest_reply, telemetry_reply
from webapp.errors import as_api_error

PREFIX, SUFFIX = "/devices/", "/telemetry"


class TelemetryFastPath:
    """WSGI middleware answering the devices' two frequent requests itself and passing on every other."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        route = _route(environ)
        if route is None:
            return self.wsgi_app(environ, start_response)
        endpoint, answer = route
        started = time.perf_counter()
        with self.app.app_context():
            try:
                status, headers, body = answer(environ)
            except Exception as exc:
                error = as_api_error(exc, environ["REQUEST_METHOD"], environ["PATH_INFO"])
                status, headers, body = error.status, list(error.headers.items()), error.body()
            seconds = time.perf_counter() - started
            if self.app.config["METRICS_TOKEN"]:
                metrics.observe_request(environ["REQUEST_METHOD"], endpoint, status, seconds)
            if self.app.config["ACCESS_LOG"]:
                request_log.log_access(environ["REQUEST_METHOD"], environ["PATH_INFO"], status, seconds)
        if body is None:
            start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
            return []
        payload = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
        return [payload]


def _route(environ):
    """(endpoint, answer) for a request served here, else None; answer(environ) → (status, headers, body or None)."""
    method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
    if method == "GET" and path == "/telemetry/latest":
        return "api.get_latest", latest_reply
    if method == "POST" and path.startswith(PREFIX) and path.endswith(SUFFIX):
        device_id = path[len(PREFIX) : -len(SUFFIX)]
        if device_id and "/" not in device_id:
            # WSGI hands the path as latin-1; Flask decodes it as UTF-8 before matching.
            device_id = device_id.encode("latin-1").decode("utf-8", "replace")
            return "api.post_telemetry", lambda environ: (200, [], telemetry_reply(device_id, environ))
    return None


def init_app(app):
    """Serve the two routes ahead of Flask; called before the request-id, security-header and
    shutdown middleware wrap the application, so they wrap this too."""
    app.wsgi_app = TelemetryFastPath(app, app.wsgi_app)
