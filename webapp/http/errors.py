"""What any exception means to a client, and which requests get the API's JSON error.

Every API error is `{"error": "<code>", "message": "<human text>"}` (schemas
ErrorOut) with its status. Routes of the JSON blueprints (the device
blueprints, the owner API, the docs, /metrics) always answer so, except the
transports for other platforms' devices, which answer in their platform's
shape (`error_shape`); the dashboard and the login page render their own
(dashboard/errors.py, auth/routes.py). A URL that no route matched goes by
the blueprint it would have belonged to, else by what the client accepts
(JSON unless it prefers HTML).
"""
import logging

import sqlalchemy.exc
from flask import current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from webapp.core.errors import ApiError, Unavailable
from webapp.extensions import db
from webapp.http.device_routes import DEVICE_BLUEPRINTS
from webapp.http.replies import Reply, flask_response
from webapp.schemas import ErrorOut

log = logging.getLogger(__name__)

JSON_BLUEPRINTS = DEVICE_BLUEPRINTS | {"api", "apidocs", "monitoring"}
# blueprint name -> reply_of(ApiError): the errors of a transport, as its platform answers them.
_shapes = {}


def error_shape(blueprint):
    """Register `reply_of(error) -> Reply` as the shape of `blueprint`'s errors (a transport's platform's own)."""

    def register(reply_of):
        _shapes[blueprint] = reply_of
        return reply_of

    return register
_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def api_error_of(exc, method, path):
    """The ApiError an exception raised while handling a request answers with.

    An ApiError as it is; an HTTP error with its status; a database that is
    down, locked or out of connections 503 (the client may retry; nothing
    was stored); anything else 500, logged with its traceback.
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, HTTPException):
        error = ApiError(exc.description or exc.name)
        error.status, error.code = exc.code, _HTTP_CODES.get(exc.code, "http_error")
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            error.headers = {"Allow": ", ".join(exc.valid_methods)}
        return error
    if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.TimeoutError)):
        log.warning("database unavailable on %s %s: %s", method, path, exc.__class__.__name__)
        db.session.rollback()
        return Unavailable("The database is unavailable; retry later.", headers={"Retry-After": "5"})
    log.error("unhandled error on %s %s", method, path, exc_info=exc)
    error = ApiError("The server failed to handle this request.")
    error.status, error.code = 500, "internal_error"
    return error


def error_reply(exc, method, path, blueprint=None):
    """The Reply answering an exception: the API's error shape, or that of `blueprint` (error_shape)."""
    error = api_error_of(exc, method, path)
    shape = _shapes.get(blueprint)
    if shape is not None:
        return shape(error)
    return Reply(error.status, ErrorOut.of(error), list(error.headers.items()))


def wants_json():
    """API clients get JSON errors; a browser asking for a page gets HTML."""
    blueprint = request.blueprint or _blueprint_of_unrouted()
    if blueprint is not None:
        return blueprint in JSON_BLUEPRINTS
    # Only a browser (it asks for HTML first) gets a page; devices and scripts often send no Accept at all.
    return request.accept_mimetypes.best_match(["application/json", "text/html"], default="application/json") == "application/json"


def _blueprint_of_unrouted():
    """The blueprint a request that matched no route was meant for: the owner of the URL with
    another method (405), or of the longest URL prefix it is under (/api/v1 is ThingsBoard's, /api ours)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    routing_error = request.routing_exception
    if isinstance(routing_error, MethodNotAllowed) and routing_error.valid_methods:
        try:
            endpoint, _ = adapter.match(method=routing_error.valid_methods[0])
            return endpoint.rpartition(".")[0] or None
        except HTTPException:
            return None
    prefixed = [blueprint for blueprint in current_app.blueprints.values() if blueprint.url_prefix and request.path.startswith(blueprint.url_prefix + "/")]
    return max(prefixed, key=lambda blueprint: len(blueprint.url_prefix)).name if prefixed else None


def register_error_handlers(app):
    def api_error(exc):
        return flask_response(error_reply(exc, request.method, request.path, request.blueprint or _blueprint_of_unrouted()))

    app.register_error_handler(ApiError, api_error)
    app.register_error_handler(sqlalchemy.exc.OperationalError, api_error)
    app.register_error_handler(sqlalchemy.exc.TimeoutError, api_error)

    @app.errorhandler(HTTPException)
    def http_error(exc):
        return api_error(exc) if wants_json() else exc

    @app.errorhandler(Exception)
    def unexpected_error(exc):
        reply = error_reply(exc, request.method, request.path)
        return flask_response(reply) if wants_json() else ("Internal Server Error", 500)
