"""Fixtures for webhook, presence and notification tests (imported by the conftest of each folder)."""
import time

import pytest

from tests.webhooks.receiver import Receiver
from webapp.extensions import db
from webapp.services.webhooks import delivery as webhook_delivery

# In-process settings: deliveries to loopback, retries within milliseconds.
FAST_WEBHOOKS = {
    "WEBHOOK_ALLOW_PRIVATE": True,
    "WEBHOOK_TIMEOUT": 2,
    "WEBHOOK_LEASE_MS": 5_000,
    "WEBHOOK_BACKOFF_INITIAL_MS": 20,
    "WEBHOOK_BACKOFF_MAX_MS": 100,
    "WEBHOOK_BATCH_SIZE": 10,
}


@pytest.fixture
def webhook_settings(app, monkeypatch):
    """Apply FAST_WEBHOOKS to the shared app for this test; returns a setter for more."""
    for name, value in FAST_WEBHOOKS.items():
        monkeypatch.setitem(app.config, name, value)
    return lambda name, value: monkeypatch.setitem(app.config, name, value)


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def make_webhook(client, webhook_settings):
    """Create a webhook through the API: `make_webhook(device, url, events=[...], secret=None)` → its JSON.

    Deleted after the test, so no other test's delivery round sends its events.
    """
    created = []

    def make(device, url, events=("telemetry",), secret=None):
        body = {"url": url, "events": list(events)} | ({"secret": secret} if secret else {})
        response = client.post(f"/api/devices/{device.id}/webhooks", json=body, headers=device.owner.headers)
        assert response.status_code == 201, response.get_json()
        created.append((device, response.get_json()["id"]))
        return response.get_json()

    yield make
    for device, webhook_id in created:
        client.delete(f"/api/devices/{device.id}/webhooks/{webhook_id}", headers=device.owner.headers)


@pytest.fixture
def deliver_until(app):
    """Run delivery rounds, as a worker would, until `condition()` holds (or fail after `timeout` s)."""

    def run(condition, timeout=15, what="the condition"):
        deadline = time.monotonic() + timeout
        while True:
            with app.app_context():
                claimed = webhook_delivery.deliver_due()
                db.session.remove()
            if condition():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not happen within {timeout} s")
            if not claimed:
                time.sleep(0.01)

    return run
