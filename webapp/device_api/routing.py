"""The device API's routing table, which Flask and the fast path both serve.

A device route is a handler `handler(environ, **path arguments) -> Reply`
(http/replies.py), registered with `DeviceRoutes.route`. It becomes a Flask
view of the device_api blueprint and, when `fast`, is also answered ahead of
Flask's dispatch by fast_path.py from this same table: both ways in run the
same handler, and map errors (http/errors.py) and encode alike.
"""
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import request

from webapp.http.device_routes import DEVICE_API
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

    @property
    def endpoint(self):
        return f"{DEVICE_API}.{self.handler.__name__}"


class DeviceRoutes:
    def __init__(self, blueprint):
        assert blueprint.name == DEVICE_API
        self.blueprint = blueprint
        self.routes = []

    def route(self, method, rule, *, fast=False):
        """Register `handler(environ, **path) -> Reply` for `method` on `rule` (plain `<name>` arguments only)."""

        def register(handler):
            pattern = re.compile("^" + _PATH_ARGUMENT.sub(r"(?P<\1>[^/]+)", rule) + "$")
            self.routes.append(DeviceRoute(method, rule, handler, fast, pattern))
            self.blueprint.add_url_rule(rule, handler.__name__, _flask_view(handler), methods=[method])
            return handler

        return register

    def fast_routes(self):
        return [route for route in self.routes if route.fast]


def _flask_view(handler):
    @functools.wraps(handler)
    def view(**path):
        try:
            reply = handler(request.environ, **path)
        except Exception as exc:
            reply = error_reply(exc, request.method, request.path)
        return flask_response(reply)

    return view
