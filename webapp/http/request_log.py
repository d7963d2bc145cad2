"""Structured logs: one JSON object per line, each carrying the id of the request it belongs to.

A request's id comes from its X-Request-ID header when that looks like an
id (so a proxy's id follows the request through), or is made here; it is
sent back in X-Request-ID. With ACCESS_LOG=1 every request is also
logged with its status and duration (http/observe.py).
"""
import contextvars
import logging
import re
import secrets
import sys
import time

import orjson
from flask import has_request_context, request

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            entry["request_id"] = request_id
        entry.update({key: value for key, value in vars(record).items() if key not in _RECORD_FIELDS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _):
        pass


def configure_logging():
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


ENVIRON_KEY = "thingsnxt.request_id"
# While the application handles the request; the environ key also serves a streamed body, read later.
_request_id = contextvars.ContextVar("request_id", default=None)


class RequestIds:
    """WSGI middleware: give each request an id (kept in the environ) and answer it in X-Request-ID."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        offered = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = environ[ENVIRON_KEY] = offered if REQUEST_ID.match(offered) else secrets.token_hex(16)

        def start_with_id(status, headers, exc_info=None):
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        token = _request_id.set(request_id)
        try:
            return self.wsgi_app(environ, start_with_id)
        finally:
            _request_id.reset(token)


def current_request_id():
    request_id = _request_id.get()
    if request_id is None and has_request_context():
        request_id = request.environ.get(ENVIRON_KEY)
    return request_id


def log_access(method, path, status, seconds):
    logging.getLogger("thingsnxt.access").info(
        "request", extra={"method": method, "path": path, "status": status, "duration_ms": round(seconds * 1000, 2)}
    )
