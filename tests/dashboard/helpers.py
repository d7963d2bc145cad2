"""Logging in from tests as a browser does: through the form, with the session's CSRF token."""
import re

import requests

from tests.conftest import TEST_PASSWORD

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html):
    return CSRF_FIELD.search(html).group(1)


def log_in(client, email, password=TEST_PASSWORD):
    """Log a Flask test client in; the session's CSRF token."""
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf})
    assert response.status_code == 303, response.get_data(as_text=True)
    return csrf_from(client.get("/").get_data(as_text=True))


def http_session(base_url, email, password=TEST_PASSWORD):
    """A requests.Session logged in on a real server; (session, CSRF token, Cookie header for a WebSocket)."""
    session = requests.Session()
    csrf = csrf_from(session.get(base_url + "/login").text)
    response = session.post(base_url + "/login", data={"email": email, "password": password, "csrf_token": csrf}, allow_redirects=False)
    assert response.status_code == 303, response.text
    csrf = csrf_from(session.get(base_url + "/").text)
    cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    return session, csrf, cookie
