"""Fixtures for the dashboard's tests: logged-in test clients, and a real threaded server for the live streams."""
import threading

import pytest
from werkzeug.serving import make_server

from tests.dashboard.helpers import log_in


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
