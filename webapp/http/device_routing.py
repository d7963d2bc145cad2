"""The routing table of a device blueprint (http/device_routes.py), which Flask and the fast path both serve.

A device route is a handler `handler(environ, **path arguments) -> Reply`
(http/replies.py), registered with `DeviceRoutes.route`. It becomes a Flask
view of the blueprint and, when `fast` (our device API's busiest routes),
is also answered ahead of Flask's dispatch by device_api/fast_path.py from
this same table: both ways in run the same handler, and map errors
(http/errors.py, in the blueprint's own shape) and encode alike.
"""
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import request

from webapp.http.device_routes import is_device_blueprint
from webapp.http.errors import error_reply
from webapp.http.replies import flask_response

_PATH_ARGUMENT = re.compile(r"<([a-z_]+)>")


@dataclass(frozen=True)
class DeviceRoute:
    method: str
    rule: str
    handler: Callable
    fast: bool
    pattern: re.Pattern
    blueprint: str

    @property
    def endpoint(self):
        return f"{self.blueprint}.{self.handler.__name__}"


class DeviceRoutes:
    def __init__(self, blueprint):
        assert is_device_blueprint(blueprint.name), f"{blueprint.name} is not a device blueprint (http/device_routes.py)"
        self.blueprint = blueprint
        self.routes = []

    def route(self, method, rule, *, fast=False):
        """Register `handler(environ, **path) -> Reply` for `method` on `rule` (plain `<name>` arguments only)."""

        def register(handler):
            pattern = re.compile("^" + (self.blueprint.url_prefix or "") + _PATH_ARGUMENT.sub(r"(?P<\1>[^/]+)", rule) + "$")
            self.routes.append(DeviceRoute(method, rule, handler, fast, pattern, self.blueprint.name))
            self.blueprint.add_url_rule(rule, handler.__name__, _flask_view(handler, self.blueprint.name), methods=[method])
            return handler

        return register

    def fast_routes(self):
        return [route for route in self.routes if route.fast]


def _flask_view(handler, blueprint):
    @functools.wraps(handler)
    def view(**path):
        try:
            reply = handler(request.environ, **path)
        except Exception as exc:
            reply = error_reply(exc, request.method, request.path, blueprint)
        return flask_response(reply)

    return view
