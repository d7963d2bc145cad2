"""Every route × every kind of caller → the status it must get, and nothing of the owner's device for anyone else.

The routes come from `app.url_map`: a route added without a row here fails
`test_every_route_has_expectations`, so none is forgotten. The callers:

- anonymous: a browser that opened /login (so it has a session and a CSRF token, but no login);
- other-user, owner, admin: browsers logged in through the /login form, sending the CSRF header;
- owner-api-token: a script with the owner's personal API token (`Authorization: Bearer`);
- device-token, other-device-token, revoked-token: the owner's device's current token, another
  device's token, and the owner's device's token from before it was regenerated, all as Bearer.

Users reach others' devices as 404, never 403, so device ids say nothing; admins see every device.
Device tokens never act as a user, nor a user as a device.
"""
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import websocket
from flask import url_for

from tests.security.conftest import (
    ACTORS,
    ADMIN,
    ANONYMOUS,
    DEVICE_TOKEN,
    OTHER_DEVICE_TOKEN,
    OTHER_USER,
    OWNER,
    OWNER_API_TOKEN,
    REVOKED_TOKEN,
)

# Whose eyes the owner's device data is for: the owner (browser or API token), admins, and the device itself.
ENTITLED = (OWNER, ADMIN, OWNER_API_TOKEN, DEVICE_TOKEN)
BEARERS = (OWNER_API_TOKEN, DEVICE_TOKEN, OTHER_DEVICE_TOKEN, REVOKED_TOKEN)


def statuses(anonymous, other_user, owner, admin, owner_api_token, device_token, other_device_token, revoked_token):
    return dict(zip(ACTORS, (anonymous, other_user, owner, admin, owner_api_token, device_token, other_device_token, revoked_token)))


def everyone(status):
    return statuses(*[status] * len(ACTORS))


# The device-facing API takes device tokens only; a V2 route names its device, so another device's token is refused.
DEVICE_ROUTE = statuses(403, 403, 403, 403, 403, 200, 403, 403)
# The legacy routes find the device by its token: another device's token acts as that device (and sees only its data).
LEGACY_DEVICE_ROUTE = statuses(403, 403, 403, 403, 403, 200, 200, 403)
# Users' JSON API on one device: the owner and admins; others get 404; device tokens are no user's credentials.
DEVICE_JSON = {
    200: statuses(401, 404, 200, 200, 200, 401, 401, 401),
    201: statuses(401, 404, 201, 201, 201, 401, 401, 401),
    204: statuses(401, 404, 204, 204, 204, 401, 401, 401),
}
# Users' JSON API about themselves.
USER_JSON = {
    200: statuses(401, 200, 200, 200, 200, 401, 401, 401),
    201: statuses(401, 201, 201, 201, 201, 401, 401, 401),
}
# Pages send anonymous visitors to /login; htmx fragments answer them 401 with HX-Redirect to /login.
USER_PAGE = statuses(302, 200, 200, 200, 200, 302, 302, 302)
USER_FRAGMENT = statuses(401, 200, 200, 200, 200, 401, 401, 401)
DEVICE_PAGE = statuses(302, 404, 200, 200, 200, 302, 302, 302)
DEVICE_FRAGMENT = statuses(401, 404, 200, 200, 200, 401, 401, 401)
ADMIN_PAGE = statuses(302, 403, 403, 200, 403, 302, 302, 302)
# The live streams: logged-in users (or their API tokens) only; a device page's stream only for who may see the device.
EVENT_STREAM = statuses(401, 200, 200, 200, 200, 401, 401, 401)
DEVICE_SOCKET = statuses(401, 404, 101, 101, 101, 401, 401, 401)
# The login form sends a logged-in browser (or API token) on to the dashboard.
LOGIN_FORM = statuses(200, 302, 302, 302, 302, 200, 200, 200)


@dataclass(frozen=True)
class Call:
    """How the matrix calls a route: URL values and form fields ("@name" is the world's attribute), a JSON body, htmx."""

    expected: dict
    values: dict = field(default_factory=dict)
    json: dict | None = None
    form: dict = field(default_factory=dict)
    htmx: bool = False
    stream: bool = False
    redirects_to: str = "/login"


def resolve(fields, world):
    return {name: getattr(world, value[1:]) if value.startswith("@") else value for name, value in fields.items()}


DEVICE = {"device_id": "@device_id"}
WEBHOOK = DEVICE | {"webhook_id": "@webhook_id"}
WIDGET = DEVICE | {"widget_id": "@widget_id"}
TELEMETRY = {"data": {"temperature": 21.5}}

ROUTES = {
    # Device-facing API
    ("api.post_telemetry", "POST"): Call(DEVICE_ROUTE, DEVICE, json=TELEMETRY),
    ("api.post_telemetry_batch", "POST"): Call(DEVICE_ROUTE, DEVICE, json={"records": [{"ts": 1_700_000_000, "data": {"temperature": 20}}]}),
    ("api.post_legacy_telemetry", "POST"): Call(LEGACY_DEVICE_ROUTE, json=TELEMETRY),
    ("api.get_latest", "GET"): Call(LEGACY_DEVICE_ROUTE),
    ("api.get_health", "GET"): Call(everyone(200)),
    # Users' JSON API
    ("api.create_device", "POST"): Call(USER_JSON[201], json={"name": "Made by the matrix"}),
    ("api.list_devices", "GET"): Call(USER_JSON[200]),
    ("api.get_device", "GET"): Call(DEVICE_JSON[200], DEVICE),
    ("api.update_device", "PATCH"): Call(DEVICE_JSON[200], DEVICE, json={"offline_timeout": 120}),
    ("api.delete_device", "DELETE"): Call(DEVICE_JSON[204], DEVICE),
    ("api.device_history", "GET"): Call(DEVICE_JSON[200], DEVICE | {"key": "note"}),
    ("api.set_pin", "PUT"): Call(DEVICE_JSON[200], DEVICE | {"key": "v0"}, json={"value": 1}),
    ("api.get_rules", "GET"): Call(DEVICE_JSON[200], DEVICE),
    ("api.replace_rules", "PUT"): Call(DEVICE_JSON[200], DEVICE, json={"rules": []}),
    ("api.regenerate_token", "POST"): Call(DEVICE_JSON[200], DEVICE),
    ("api.create_webhook", "POST"): Call(DEVICE_JSON[201], DEVICE, json={"url": "http://127.0.0.1:9/other", "events": ["rule_denied"]}),
    ("api.list_webhooks", "GET"): Call(DEVICE_JSON[200], DEVICE),
    ("api.get_webhook", "GET"): Call(DEVICE_JSON[200], WEBHOOK),
    ("api.update_webhook", "PATCH"): Call(DEVICE_JSON[200], WEBHOOK, json={"enabled": False}),
    ("api.delete_webhook", "DELETE"): Call(DEVICE_JSON[204], WEBHOOK),
    ("api.list_attempts", "GET"): Call(DEVICE_JSON[200], DEVICE),
    ("api.list_notifications", "GET"): Call(USER_JSON[200]),
    ("api.mark_notifications_read", "POST"): Call(USER_JSON[200], json={}),
    # Dashboard pages and the fragments htmx swaps
    ("dashboard.overview", "GET"): Call(USER_PAGE),
    ("dashboard.notifications_page", "GET"): Call(USER_PAGE),
    ("dashboard.mark_read", "POST"): Call(USER_FRAGMENT, htmx=True),
    ("dashboard.add_device", "POST"): Call(USER_FRAGMENT, form={"name": "Made by the matrix"}, htmx=True),
    ("dashboard.device_page", "GET"): Call(DEVICE_PAGE, DEVICE),
    ("dashboard.change_settings", "POST"): Call(DEVICE_FRAGMENT, DEVICE, form={"offline_timeout": "120"}, htmx=True),
    ("dashboard.regenerate_token", "POST"): Call(DEVICE_FRAGMENT, DEVICE, htmx=True),
    ("dashboard.add_widget", "POST"): Call(DEVICE_FRAGMENT, DEVICE, form={"kind": "value", "label": "Temperature", "key": "temperature"}, htmx=True),
    ("dashboard.edit_widget", "GET"): Call(DEVICE_FRAGMENT, WIDGET, htmx=True),
    ("dashboard.update_widget", "PUT"): Call(DEVICE_FRAGMENT, WIDGET, form={"kind": "switch", "label": "Lamp", "key": "v0"}, htmx=True),
    ("dashboard.remove_widget", "DELETE"): Call(DEVICE_FRAGMENT, WIDGET, htmx=True),
    ("dashboard.toggle_switch", "POST"): Call(DEVICE_FRAGMENT, WIDGET, form={"value": "1"}, htmx=True),
    ("dashboard.admin_page", "GET"): Call(ADMIN_PAGE),
    # Live streams
    ("realtime.notification_stream", "GET"): Call(EVENT_STREAM, stream=True),
    ("realtime.dashboard_socket", "GET"): Call(DEVICE_SOCKET, {"device": "@device_id"}),
    # Logging in and out: a right password logs anyone in; logging out always lands on /login.
    ("auth.login_form", "GET"): Call(LOGIN_FORM, redirects_to="/"),
    ("auth.login", "POST"): Call(everyone(303), form={"email": "@owner_email", "password": "@password"}),
    ("auth.logout", "POST"): Call(everyone(303)),
    # Public: the API's documentation, static files, health. /metrics only with METRICS_TOKEN, which no actor has.
    ("apidocs.openapi_document", "GET"): Call(everyone(200)),
    ("apidocs.swagger_ui", "GET"): Call(everyone(200)),
    ("apidocs.redoc", "GET"): Call(everyone(200)),
    ("apidocs.asset", "GET"): Call(everyone(200), {"ui": "swagger", "filename": "js/swagger-ui-bundle.js"}),
    ("static", "GET"): Call(everyone(200), {"filename": "dashboard/app.js"}),
    ("metrics.scrape", "GET"): Call(everyone(401)),
}
CELLS = [(endpoint, method, actor) for endpoint, method in ROUTES for actor in ACTORS]


def routes_of(app):
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_has_expectations(app):
    routes = routes_of(app)

    assert sorted(routes - ROUTES.keys()) == [], "routes the matrix has no row for: add their expected statuses"
    assert sorted(ROUTES.keys() - routes) == [], "rows for routes that no longer exist"


@pytest.mark.parametrize(("endpoint", "method", "actor"), CELLS, ids=[f"{method} {endpoint} as {actor}" for endpoint, method, actor in CELLS])
def test_route_answers_each_actor_as_expected(app, world, act_as, threaded_server, monkeypatch, endpoint, method, actor):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "a-token-none-of-the-actors-has")
    call = ROUTES[endpoint, method]
    caller = act_as(actor)
    with app.test_request_context():
        url = url_for(endpoint, **resolve(call.values, world))
    if endpoint == "realtime.dashboard_socket":
        status, body, location = open_socket(threaded_server, url, caller)
    else:
        status, body, location = request(caller, url, method, call, world)

    assert status == call.expected[actor], body[:500]
    if status == 302:
        assert location.startswith(call.redirects_to), location
    for secret in world.secrets():
        assert secret not in body, "a stored token or secret was shown again"
    if actor not in ENTITLED:
        for data in world.owner_data():
            assert data not in body, f"the owner's device data ({data}) reached {actor}"
        if world.device_id not in url:
            assert world.device_id not in body, f"the owner's device id reached {actor}"


def request(caller, url, method, call, world):
    headers = caller.headers | ({"HX-Request": "true"} if call.htmx else {})
    response = caller.client.open(url, method=method, headers=headers, json=call.json, data=resolve(call.form, world) or None)
    if call.stream and response.status_code == 200:
        # The stream never ends: its first event (the unread counter) is what it sends everyone at once.
        chunks = iter(response.response)
        body = b"".join(next(chunks) for _ in range(2)).decode()
        response.close()
        assert "event: notification" in body
    else:
        body = response.get_data(as_text=True)
    return response.status_code, body, response.headers.get("Location", "")


def open_socket(base_url, url, caller):
    """The WebSocket handshake as the caller: (status, the snapshot sent first, '')."""
    cookie = caller.session_cookie()
    headers = [f"{name}: {value}" for name, value in caller.headers.items() if name == "Authorization"]
    # url_for makes a WebSocket route's URL absolute (ws://localhost/…): keep its path and query.
    target = urlsplit(url)
    try:
        socket = websocket.create_connection(
            f"{base_url.replace('http', 'ws', 1)}{target.path}?{target.query}",
            cookie=f"session={cookie}" if cookie else None,
            header=headers,
            origin=base_url,
            timeout=10,
        )
    except websocket.WebSocketBadStatusException as refused:
        return refused.status_code, (refused.resp_body or b"").decode(), ""
    try:
        return socket.getstatus(), socket.recv(), ""
    finally:
        socket.close()
