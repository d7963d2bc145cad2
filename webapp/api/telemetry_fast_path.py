"""POST /devices/<id>/telemetry served without Flask's request dispatch, under gunicorn.

Every device posts here every few seconds, and Flask's dispatch (request
and app contexts, matching the URL against every route, hooks, session,
response objects) cost 150 of the 180 µs the route took in process, the
database aside; served here it takes 31 µs. The answer is the view's own:
both call `device_routes.telemetry_reply`, and errors take the API's one
shape (`errors.as_api_error`); metrics and the access log, when on, count
it under the view's endpoint. The server's app (`wsgi.py`) has it; apps
that tests drive through Flask's client go through the view, and the suite
checks that both answer alike (tests/api/test_telemetry_fast_path.py).
"""
import time

import orjson
from werkzeug.http import HTTP_STATUS_CODES

from webapp import metrics, request_log
from webapp.api.device_routes import telemetry_reply
from webapp.errors import as_api_error

ENDPOINT = "api.post_telemetry"
PREFIX, SUFFIX = "/devices/", "/telemetry"


class TelemetryFastPath:
    """WSGI middleware answering the V2 telemetry POST itself and passing on every other request."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        device_id = _device_of_telemetry_post(environ)
        if device_id is None:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        with self.app.app_context():
            try:
                status, headers, body = 200, [], telemetry_reply(device_id, environ)
            except Exception as exc:
                error = as_api_error(exc, "POST", environ["PATH_INFO"])
                status, headers, body = error.status, list(error.headers.items()), error.body()
            payload = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
            seconds = time.perf_counter() - started
            if self.app.config["METRICS_TOKEN"]:
                metrics.observe_request("POST", ENDPOINT, status, seconds)
            if self.app.config["ACCESS_LOG"]:
                request_log.log_access("POST", environ["PATH_INFO"], status, seconds)
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
        return [payload]


def _device_of_telemetry_post(environ):
    """The device id of `POST /devices/<id>/telemetry` (as Flask's route would match it), else None."""
    path = environ.get("PATH_INFO", "")
    if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(PREFIX) or not path.endswith(SUFFIX):
        return None
    device_id = path[len(PREFIX) : -len(SUFFIX)]
    if not device_id or "/" in device_id:
        return None
    # WSGI hands the path as latin-1; Flask decodes it as UTF-8 before matching.
    return device_id.encode("latin-1").decode("utf-8", "replace")


def init_app(app):
    """Serve the telemetry POST ahead of Flask; called before the request-id and security-header
    middleware wrap the application, so they wrap this too."""
    app.wsgi_app = TelemetryFastPath(app, app.wsgi_app)
