"""Errors the services raise and the one JSON shape every API error takes.

`{"error": "<code>", "message": "<human text>"}` plus, for some codes, a
field naming what failed (a rule denial names its `rule`).
"""
import logging

import sqlalchemy.exc
from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from webapp.extensions import db

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, message, *, headers=None, **fields):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.fields = fields

    def body(self):
        return {"error": self.code, "message": self.message, **self.fields}


class InvalidRequest(ApiError):
    status, code = 400, "invalid_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class InvalidToken(ApiError):
    status, code = 403, "invalid_token"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class RuleDenied(ApiError):
    status, code = 403, "rule_denied"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class Unavailable(ApiError):
    status, code = 503, "unavailable"


_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


# The dashboard's pages share the /devices/ prefix with the device API.
HTML_BLUEPRINTS = ("dashboard", "auth")


def wants_json():
    """API clients get JSON errors; a browser asking for a page gets HTML."""
    if request.blueprint in HTML_BLUEPRINTS:
        return False
    if request.blueprint in ("api", "apidocs") or request.path.startswith(("/api/", "/devices/", "/telemetry", "/health")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def error_response(error):
    response = jsonify(error.body())
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def as_api_error(exc, method, path):
    """What an exception raised by a request's handling answers on the JSON API: an ApiError as
    it is; a database that is down, locked or out of connections 503 (the client may retry;
    nothing was stored); anything else 500, logged with its traceback."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.TimeoutError)):
        log.warning("database unavailable on %s %s: %s", method, path, exc.__class__.__name__)
        db.session.rollback()
        return Unavailable("The database is unavailable; retry later.", headers={"Retry-After": "5"})
    log.error("unhandled error on %s %s", method, path, exc_info=exc)
    error = ApiError("The server failed to handle this request.")
    error.status, error.code = 500, "internal_error"
    return error


def register_error_handlers(app):
    app.register_error_handler(ApiError, error_response)

    @app.errorhandler(sqlalchemy.exc.OperationalError)
    @app.errorhandler(sqlalchemy.exc.TimeoutError)
    def database_unavailable(exc):
        return error_response(as_api_error(exc, request.method, request.path))

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if not wants_json():
            return exc
        error = ApiError(exc.description or exc.name)
        error.status = exc.code
        error.code = _HTTP_CODES.get(exc.code, "http_error")
        response = error_response(error)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc):
        error = as_api_error(exc, request.method, request.path)
        if not wants_json():
            return "Internal Server Error", 500
        return error_response(error)
