"""Fixtures for the dashboard's tests: logged-in test clients, and a real threaded server for the live streams."""
import re
import threading

import pytest
import requests
from werkzeug.serving import make_server

from tests.conftest import TEST_PASSWORD

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html):
    return CSRF_FIELD.search(html).group(1)


class Browser:
    """A Flask test client logged in as one account; `csrf` is its session's token."""

    def __init__(self, client, account):
        self.client, self.account = client, account
        self.csrf = log_in(client, account.email)

    def htmx(self, method, path, **kwargs):
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)


def log_in(client, email, password=TEST_PASSWORD):
    """Log in through the form, as a browser does; the session's CSRF token."""
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf})
    assert response.status_code == 303, response.get_data(as_text=True)
    return csrf_from(client.get("/").get_data(as_text=True))


@pytest.fixture
def browser_for(app):
    def open_as(account):
        return Browser(app.test_client(), account)

    return open_as


@pytest.fixture(scope="session")
def threaded_server(app):
    """The test app behind Werkzeug's threaded server, for WebSocket and SSE clients; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def http_session(base_url, email, password=TEST_PASSWORD):
    """A requests.Session logged in through the form; (session, csrf token, Cookie header)."""
    session = requests.Session()
    csrf = csrf_from(session.get(base_url + "/login").text)
    response = session.post(base_url + "/login", data={"email": email, "password": password, "csrf_token": csrf}, allow_redirects=False)
    assert response.status_code == 303, response.text
    csrf = csrf_from(session.get(base_url + "/").text)
    cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    return session, csrf, cookie
