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
from urllib.parse import urlsplit

import pytest
import websocket
from flask import url_for

from tests.security.conftest import ACTORS, ADMIN, OWNER, OWNER_API_TOKEN
from tests.security.routes import ENTITLED, ROUTES, body_of, resolve

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
        # What the request itself carried may come back (a device id in a 404's message, the email typed into /login).
        sent = " ".join([url, *resolve(call.form, world).values()])
        for data in (*world.owner_data(), world.device_id):
            if data not in sent:
                assert data not in body, f"the owner's device data ({data}) reached {actor}"


@pytest.mark.parametrize("actor", [OWNER, ADMIN, OWNER_API_TOKEN])
def test_the_data_the_leak_check_looks_for_is_shown_to_whoever_may_see_it(world, act_as, actor):
    """Else the check above could pass without proving anything."""
    caller = act_as(actor)
    shown = "".join(
        caller.client.get(path, headers=caller.headers).get_data(as_text=True) for path in (f"/api/devices/{world.device_id}", f"/devices/{world.device_id}")
    )

    for data in (world.marker, f"reading {world.marker}", world.owner.email, world.token_prefixes[-1]):
        assert data in shown


def request(caller, url, method, call, world):
    headers = caller.headers | ({"HX-Request": "true"} if call.htmx else {})
    response = caller.client.open(url, method=method, headers=headers, **body_of(call, world))
    if call.stream and response.status_code == 200:
        # The stream never ends: its first event (the unread counter) is what it sends everyone at once.
        chunks = iter(response.response)
        body = b"".join(next(chunks) for _ in range(2)).decode()
        response.close()
        assert "event: notification" in body
    else:
        # Binary answers (the favicon) are searched for leaks as text too.
        body = response.get_data().decode(errors="replace")
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
