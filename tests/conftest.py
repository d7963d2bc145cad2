"""Fixtures: an application on a database of this run's own, and factories for its data.

Every test makes its own users and devices (unique emails), so tests share
the migrated database but never each other's rows.
"""
import os
import tempfile
import threading
import uuid

import flask_migrate
import pytest
from werkzeug.security import generate_password_hash

from tests import databases
from webapp import create_app
from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import User
from webapp.services.accounts import users
from webapp.services.devices import registry as devices

TEST_PASSWORD = "correct horse battery"
# Uploaded firmware images of this run, out of the repository's instance/ folder.
FIRMWARE_DIR = tempfile.mkdtemp(prefix="thingsnxt-test-firmware-")


def settings_for_tests(database_url):
    """Settings every test app and test server share; Redis keys under a prefix of this run."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "REDIS_KEY_PREFIX": f"thingsnxt-test-{uuid.uuid4().hex[:8]}:",
        "SECRET_KEY": "test-secret-key",
        "FIRMWARE_DIR": FIRMWARE_DIR,
        "RATELIMIT_DEFAULT": "100000 per 60 seconds",
        "RATELIMIT_DEVICE": "100000 per 60 seconds",
        "RATELIMIT_LOGIN": "100000 per 60 seconds",
        "RATELIMIT_AUTH_FAILURES": "100000 per 60 seconds",
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = databases.create_database(tmp_path_factory.mktemp("db"))
    yield url
    databases.drop_database(url)


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(settings_for_tests(database_url) | {"TESTING": True})
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    app.extensions["broker"].close()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(database_url):
    """Another application on this run's database, for settings read only when an app is made: `make_app(**settings)`."""
    made = []

    def make(**overrides):
        made.append(create_app(settings_for_tests(database_url) | {"TESTING": True} | overrides))
        return made[-1]

    yield make
    for other in made:
        other.extensions["broker"].close()
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def test_password_hash():
    return generate_password_hash(TEST_PASSWORD)


@pytest.fixture
def make_user(app, test_password_hash):
    """A new user with an API token. The password hash is computed once per run: hashing is slow by design."""

    def make(admin=False):
        with app.app_context():
            user = User(
                email=f"user-{uuid.uuid4().hex[:10]}@example.com", password_hash=test_password_hash, is_admin=admin, created_ms=now_ms()
            )
            db.session.add(user)
            db.session.commit()
            token = users.create_api_token(user)
            return Account(user.id, user.email, token)

    return make


@pytest.fixture
def make_device(app, make_user):
    def make(owner=None, name="Test ESP32", offline_timeout=None):
        owner = owner or make_user()
        with app.app_context():
            device, token = devices.create_device(users.find_user(owner.email), name, offline_timeout)
            return DeviceCredentials(device.id, token, owner)

    return make


class Account:
    def __init__(self, id, email, api_token):
        self.id, self.email, self.api_token = id, email, api_token

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.api_token}"}


class DeviceCredentials:
    def __init__(self, device_id, token, owner):
        self.id, self.token, self.owner = device_id, token, owner


@pytest.fixture(scope="module")
def live_server_factory(tmp_path_factory):
    """Start real servers: `live_server_factory(workers=1, **settings)`; all stopped after the module."""
    from tests.live_server import LiveServer

    servers = []

    def start(workers=1, **settings):
        base = settings_for_tests("")
        server = LiveServer(tmp_path_factory.mktemp("live"), base | settings, workers=workers)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="module")
def live_server(live_server_factory):
    """One gunicorn + gevent server (one worker) for the tests of a module."""
    return live_server_factory()


@pytest.fixture
def settle(app):
    """Wait until the ingest writer has stored and announced everything sent so far."""
    from webapp.services.ingest.writer import ingest_writer

    return ingest_writer(app).drain


@pytest.fixture
def subscribed(app, monkeypatch):
    """An Event set once a request subscribes to the broker: a long-poll is then waiting."""
    broker = app.extensions["broker"]
    event = threading.Event()
    original = broker.subscribe

    def subscribe(channels):
        subscription = original(channels)
        event.set()
        return subscription

    monkeypatch.setattr(broker, "subscribe", subscribe)
    return event
