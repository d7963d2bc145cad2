"""Sessions: a fresh one at login, ended on the server at logout; passwords; CSRF on every state-changing route."""
import re
from urllib.parse import urljoin, urlsplit

import pytest
import requests
import websocket
from flask import url_for
from sqlalchemy import update

from tests.conftest import TEST_PASSWORD
from tests.dashboard.helpers import CSRF_FIELD, csrf_from, log_in
from tests.security.conftest import OWNER
from tests.security.routes import DEVICE_ROUTE, LEGACY_DEVICE_ROUTE, ROUTES, resolve
from webapp.core.errors import InvalidRequest
from webapp.extensions import db
from webapp.http.device_routes import is_device_endpoint
from webapp.models import LoginSession
from webapp.services.accounts import users

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def session_cookie(client):
    return client.get_cookie("session").value


def browser_with_cookie(app, cookie):
    """Another browser presenting a copy of a session cookie."""
    browser = app.test_client()
    browser.set_cookie("session", cookie)
    return browser


def test_login_starts_a_new_session_and_nothing_from_before_survives(app, client, make_user):
    user = make_user()
    csrf_before = csrf_from(client.get("/login").get_data(as_text=True))
    with client.session_transaction() as session:
        session["planted"] = "set before login"
    cookie_before = session_cookie(client)

    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_before})

    assert response.status_code == 303
    assert session_cookie(client) != cookie_before
    with client.session_transaction() as session:
        assert "planted" not in session
    assert csrf_from(client.get("/").get_data(as_text=True)) != csrf_before, "the CSRF token known before login must not carry over"
    # Whoever held the session cookie from before the login (session fixation) is not logged in by it.
    assert browser_with_cookie(app, cookie_before).get("/").status_code == 302


def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_is_refused(app, client, threaded_server, make_user):
    user = make_user()
    csrf = log_in(client, user.email)
    copied = session_cookie(client)

    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303

    replay = browser_with_cookie(app, copied)
    assert replay.get("/").status_code == 302
    assert replay.get("/api/devices").status_code == 401
    assert replay.post("/api/devices", json={"name": "After logout"}, headers={"X-CSRF-Token": csrf}).status_code == 401
    assert requests.get(f"{threaded_server}/events", cookies={"session": copied}, timeout=10).status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(threaded_server.replace("http", "ws", 1) + "/ws", cookie=f"session={copied}", origin=threaded_server)
    assert refused.value.status_code == 401


def test_logging_in_again_ends_the_browsers_previous_login(app, client, make_user):
    csrf = log_in(client, make_user().email)
    first_login = session_cookie(client)

    response = client.post("/login", data={"email": make_user().email, "password": TEST_PASSWORD, "csrf_token": csrf})

    assert response.status_code == 303 and client.get("/").status_code == 200
    assert browser_with_cookie(app, first_login).get("/").status_code == 302


def test_logging_out_in_one_browser_keeps_the_others_logged_in(app, make_user):
    user = make_user()
    laptop, phone = app.test_client(), app.test_client()
    laptop_csrf = log_in(laptop, user.email)
    log_in(phone, user.email)

    laptop.post("/logout", data={"csrf_token": laptop_csrf})

    assert laptop.get("/").status_code == 302
    assert phone.get("/").status_code == 200


def test_a_login_expires_on_the_server(app, client, make_user):
    user = make_user()
    log_in(client, user.email)
    with app.app_context():
        db.session.execute(update(LoginSession).where(LoginSession.user_id == user.id).values(expires_ms=0))
        db.session.commit()

    assert client.get("/").status_code == 302


def test_logout_needs_the_csrf_token(client, make_user):
    log_in(client, make_user().email)

    assert client.post("/logout").status_code == 403
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    "next_url",
    ["//evil.example/", "/\\evil.example", "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "https://evil.example/", "/%2F/evil.example"],
    ids=["protocol-relative", "backslash", "tab", "newline", "crlf", "absolute", "encoded-slash"],
)
def test_after_login_the_browser_stays_on_this_site(client, make_user, next_url):
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": make_user().email, "password": TEST_PASSWORD, "csrf_token": csrf, "next": next_url})

    assert response.status_code == 303
    # As a browser reads Location: tabs and newlines dropped, backslashes as slashes.
    location = re.sub(r"[\t\n\r]", "", response.headers["Location"]).replace("\\", "/")
    assert urlsplit(urljoin("http://localhost/", location)).netloc == "localhost"


def test_an_unknown_email_costs_a_password_check_as_a_known_one_does(app, make_user, monkeypatch):
    """So the time a wrong login takes does not tell which emails have accounts."""
    checked = []
    real_check = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda stored, password: checked.append(stored) or real_check(stored, password))
    known = make_user()
    with app.app_context():
        assert users.authenticate_user(known.email, "wrong password") is None
        assert users.authenticate_user("nobody-at-all@example.com", "wrong password") is None

    assert len(checked) == 2 and checked[1] != checked[0]


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short7!", "at least 8 characters"),
        ("password123", "most common"),
        ("QWERTYUIOP", "most common"),
        ("esp-owner@example.com", "email address"),
        ("esp-owner", "email address"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(app, password, message):
    with app.app_context(), pytest.raises(InvalidRequest, match=message):
        users.create_user("esp-owner@example.com", password)


def test_the_cli_says_why_a_common_password_is_refused(app):
    result = app.test_cli_runner().invoke(args=["user", "create", "cli-weak@example.com", "--password", "iloveyou"])

    assert result.exit_code != 0 and "most common" in result.output


# CSRF: walks the same table as the matrix, which test_every_route_has_expectations keeps equal to app.url_map.
STATE_CHANGING_ROUTES = sorted((endpoint, method) for endpoint, method in ROUTES if method in STATE_CHANGING)


def test_the_csrf_walk_covers_every_state_changing_route(app):
    in_url_map = {(rule.endpoint, method) for rule in app.url_map.iter_rules() for method in rule.methods & STATE_CHANGING}

    assert set(STATE_CHANGING_ROUTES) == in_url_map


@pytest.mark.parametrize(("endpoint", "method"), STATE_CHANGING_ROUTES, ids=[f"{method} {endpoint}" for endpoint, method in STATE_CHANGING_ROUTES])
@pytest.mark.parametrize("forged", [None, "forged-token"], ids=["no-token", "wrong-token"])
def test_a_session_request_without_the_csrf_token_is_refused_and_changes_nothing(app, world, act_as, endpoint, method, forged):
    owner = act_as(OWNER)
    call = ROUTES[endpoint, method]
    with app.test_request_context():
        url = url_for(endpoint, **resolve(call.values, world))
    before = what_the_owner_has(app, world)
    headers = {"HX-Request": "true"} if call.htmx else {}
    if forged:
        headers["X-CSRF-Token"] = forged

    response = owner.client.open(url, method=method, headers=headers, json=resolve(call.json, world), data=resolve(call.form, world) or None)

    if is_device_endpoint(endpoint):
        # No CSRF token asked: on a device route the session is no credential, only what the request carries is.
        assert "CSRF" not in response.get_data(as_text=True)
        if call.expected in (DEVICE_ROUTE, LEGACY_DEVICE_ROUTE):
            assert response.status_code == 403 and response.get_json()["error"] == "invalid_token"
        if response.status_code < 400:
            return  # the request's own credential (a fleet key) did what it allows
    else:
        assert response.status_code == 403, response.get_data(as_text=True)[:300]
        assert "CSRF token" in response.get_data(as_text=True)
    assert what_the_owner_has(app, world) == before
    assert owner.client.get("/").status_code == 200, "the refused request ended the session"


def what_the_owner_has(app, world):
    """Everything the state-changing routes could change, as the owner's API token reads it."""
    client = app.test_client()
    headers = world.owner.headers
    device = client.get(f"/api/devices/{world.device_id}", headers=headers).get_json()
    device.pop("last_seen", None)
    device.pop("status", None)
    return (
        device,
        client.get(f"/api/devices/{world.device_id}/rules", headers=headers).get_json(),
        client.get(f"/api/devices/{world.device_id}/webhooks", headers=headers).get_json(),
        client.get(f"/api/devices/{world.device_id}/alerts", headers=headers).get_json(),
        client.get("/api/notifications", headers=headers).get_json(),
        [d["device_id"] for d in client.get("/api/devices", headers=headers).get_json()["devices"]],
        # The widget as its editor shows it; the form's CSRF token is new with each (cookie-less) request.
        CSRF_FIELD.sub("", client.get(f"/devices/{world.device_id}/widgets/{world.widget_id}/edit", headers=headers | {"HX-Request": "true"}).get_data(as_text=True)),
    )
