"""Fixtures for the API tests: the security tests' world of users and devices, callers acting as each actor, and a
signal that a long-poll is waiting."""
import threading

import pytest

from tests.security.conftest import act_as, test_password_hash, world  # noqa: F401  (fixtures)


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
