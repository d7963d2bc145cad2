"""Logging in and out, sessions, CSRF, and what anonymous visitors get."""
import uuid

import pytest

from tests import conftest
from tests.conftest import TEST_PASSWORD
from tests.dashboard.helpers import csrf_from, log_in
from webapp import create_app


def test_login_page_has_labelled_email_and_password_fields(client):
    html = client.get("/login").get_data(as_text=True)

    assert '<label for="email">Email</label>' in html and 'id="email"' in html
    assert '<label for="password">Password</label>' in html and 'id="password" name="password" type="password"' in html
    assert '<button type="submit">Log in</button>' in html


def test_anonymous_page_visit_is_redirected_to_login_and_back(client, make_user, make_device):
    device = make_device()
    response = client.get(f"/devices/{device.id}")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=/devices/{device.id}"

    csrf = csrf_from(client.get(response.headers["Location"]).get_data(as_text=True))
    login = client.post("/login", data={"email": device.owner.email, "password": TEST_PASSWORD, "csrf_token": csrf, "next": f"/devices/{device.id}"})
    assert login.status_code == 303 and login.headers["Location"] == f"/devices/{device.id}"
    assert client.get(f"/devices/{device.id}").status_code == 200


def test_anonymous_htmx_request_gets_401_with_redirect_to_login(client, make_device):
    device = make_device()
    response = client.post(f"/devices/{device.id}/widgets", headers={"HX-Request": "true"}, data={"kind": "value"})

    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login"


def test_anonymous_api_call_gets_401_json(client):
    response = client.get("/api/devices")

    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_wrong_password_is_refused_with_a_message(client, make_user):
    user = make_user()
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": "not the password", "csrf_token": csrf})

    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_refused(client, make_user):
    user = make_user()
    client.get("/login")
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})

    assert response.status_code == 403
    assert "CSRF token" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_next_url_never_leads_to_another_site(client, make_user):
    user = make_user()
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf, "next": "//evil.example/"})

    assert response.headers["Location"] == "/"


def test_session_cookie_is_httponly_and_samesite_lax_but_not_secure_over_http(client, make_user):
    user = make_user()
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf})
    cookie = response.headers["Set-Cookie"]

    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_when_the_site_is_https(database_url, make_user):
    https_app = create_app(conftest.settings_for_tests(database_url) | {"TESTING": True, "PREFERRED_URL_SCHEME": "https"})
    user = make_user()
    client = https_app.test_client()
    csrf = csrf_from(client.get("/login", base_url="https://localhost").get_data(as_text=True))
    response = client.post("/login", base_url="https://localhost", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf})

    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]


def test_logout_ends_the_session(client, make_user):
    user = make_user()
    csrf = log_in(client, user.email)
    response = client.post("/logout", data={"csrf_token": csrf})

    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_logout_is_post_only(client, make_user):
    log_in(client, make_user().email)

    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_session_form_post_without_csrf_token_is_refused_and_changes_nothing(client, make_device):
    device = make_device(name="Untouched")
    log_in(client, device.owner.email)
    response = client.post(f"/devices/{device.id}/settings", data={"name": "Renamed"})

    assert response.status_code == 403
    assert "Untouched" in client.get(f"/devices/{device.id}").get_data(as_text=True)


def test_session_json_api_call_needs_the_csrf_header(client, make_user):
    csrf = log_in(client, make_user().email)

    refused = client.post("/api/devices", json={"name": "No header"})
    accepted = client.post("/api/devices", json={"name": "With header"}, headers={"X-CSRF-Token": csrf})

    assert refused.status_code == 403 and refused.get_json()["error"] == "csrf_failed"
    assert accepted.status_code == 201
    names = [device["name"] for device in client.get("/api/devices").get_json()["devices"]]
    assert names == ["With header"]


def test_api_token_calls_need_no_csrf_token(client, make_user):
    user = make_user()
    response = client.post("/api/devices", json={"name": "Scripted"}, headers=user.headers)

    assert response.status_code == 201


def test_device_telemetry_needs_no_csrf_even_from_a_logged_in_browser(client, make_device):
    device = make_device()
    log_in(client, device.owner.email)
    response = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}})

    assert response.status_code == 200


def test_login_attempts_have_a_stricter_rate_limit(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per 60 seconds")
    user = make_user()
    address = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"}
    csrf = csrf_from(client.get("/login", environ_base=address).get_data(as_text=True))

    statuses = [
        client.post("/login", environ_base=address, data={"email": user.email, "password": "wrong password", "csrf_token": csrf}).status_code
        for _ in range(3)
    ]
    limited = client.post("/login", environ_base=address, data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf})

    assert statuses == [401, 401, 401]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "Too many login attempts" in limited.get_data(as_text=True)
    assert client.get("/", environ_base=address).status_code == 302


@pytest.mark.parametrize("path", ["/", "/notifications", "/admin"])
def test_pages_need_a_login(client, path):
    response = client.get(path)

    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
