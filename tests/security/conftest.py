"""Fixtures for the security tests: a small world of users, devices and secrets, and clients acting as each actor."""
import io
import uuid
from dataclasses import dataclass

import pytest
from werkzeug.security import generate_password_hash

from tests.conftest import TEST_PASSWORD
from tests.dashboard.conftest import threaded_server  # noqa: F401  (the live streams need a real server)
from tests.dashboard.helpers import csrf_from, log_in
from webapp.extensions import db
from webapp.models import Device
from webapp.schemas import AlertRuleIn, WidgetIn
from webapp.services import notifications
from webapp.services.accounts import users
from webapp.services.alerts import rules as alerts
from webapp.services.devices import commands, provisioning, widgets
from webapp.services.devices import registry as devices
from webapp.services.ota import images, rollouts
from webapp.services.webhooks import registry as webhooks

# An ESP32 app image's magic byte, then enough bytes to be one.
FIRMWARE_IMAGE = b"\xe9" + bytes(255)
# Loopback port 9 (discard): whoever delivers this webhook's events is refused at once.
HOOK_URL = "http://127.0.0.1:9/hook"

ANONYMOUS, OTHER_USER, OWNER, ADMIN = "anonymous", "other-user", "owner", "admin"
OWNER_API_TOKEN, DEVICE_TOKEN, OTHER_DEVICE_TOKEN, REVOKED_TOKEN = "owner-api-token", "device-token", "other-device-token", "revoked-token"
ACTORS = (ANONYMOUS, OTHER_USER, OWNER, ADMIN, OWNER_API_TOKEN, DEVICE_TOKEN, OTHER_DEVICE_TOKEN, REVOKED_TOKEN)
SESSION_ACTORS = (ANONYMOUS, OTHER_USER, OWNER, ADMIN)


@pytest.fixture(scope="session")
def test_password_hash():
    """Logins here go through the real /login form hundreds of times: a one-round hash keeps each a millisecond."""
    return generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:1")


@dataclass
class World:
    owner: object
    other_user: object
    admin: object
    device_id: str
    device_token: str
    revoked_token: str
    token_prefixes: tuple
    other_device_id: str
    other_device_token: str
    widget_id: int
    alert_rule_id: int
    webhook_id: int
    webhook_secret: str
    marker: str
    provisioning_key_id: int
    provisioning_key: str
    provisioning_secret: str
    command_id: int
    firmware_id: int
    firmware_sha256: str
    rollout_id: int

    @property
    def owner_email(self):
        return self.owner.email

    @property
    def firmware_id_text(self):
        return str(self.firmware_id)

    @property
    def other_user_id(self):
        return self.other_user.id

    password = TEST_PASSWORD

    def account(self, actor):
        return {OTHER_USER: self.other_user, OWNER: self.owner, ADMIN: self.admin}[actor]

    def bearer(self, actor):
        return {
            OWNER_API_TOKEN: self.owner.api_token,
            DEVICE_TOKEN: self.device_token,
            OTHER_DEVICE_TOKEN: self.other_device_token,
            REVOKED_TOKEN: self.revoked_token,
        }[actor]

    def owner_data(self):
        """What identifies the owner's device and its data: none of it may reach anyone else."""
        return (self.marker, self.owner.email, *self.token_prefixes)

    def secrets(self):
        """What no response shows to anyone, the owner included: stored secrets are shown once, when made."""
        return (self.device_token, self.revoked_token, self.other_device_token, self.owner.api_token, self.webhook_secret, self.provisioning_secret)


@pytest.fixture
def world(app, client, make_user, make_device, settle, monkeypatch):
    """An owner's device (token rotated once, a switch, an alert rule, a webhook, a reading, a notification), another user with a device, an admin.

    The owner's device name, widget label and reading all carry `marker`, which no other actor may ever see.
    """
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    marker = f"mark{uuid.uuid4().hex[:12]}"
    owner, other_user, admin = make_user(), make_user(), make_user(admin=True)
    device = make_device(owner=owner, name=f"Greenhouse {marker}")
    other_device = make_device(owner=other_user, name="Someone else's")
    with app.app_context():
        stored = db.session.get(Device, device.id)
        first_prefix = stored.token_prefix
        token = devices.rotate_device_token(stored)
        widget = widgets.add_widget(users.find_user(owner.email), device.id, WidgetIn(kind="switch", label=f"Lamp {marker}", key="v0"))
        rule = alerts.add_rule(users.find_user(owner.email), device.id, AlertRuleIn(key="temperature", condition=">", value=30))
        webhook, webhook_secret = webhooks.create_webhook(db.session.get(Device, device.id), HOOK_URL, ["rule_denied"])
        key, provisioning_secret = provisioning.create_key(users.find_user(owner.email), f"Fleet {marker}", 5)
        command = commands.send_command(device.id, "blink", {"times": 2}, 600)
        image = images.store_image(users.find_user(owner.email), io.BytesIO(FIRMWARE_IMAGE), "Matrix firmware", "2.0.0")
        rollout = rollouts.start_rollout(users.find_user(owner.email), image, [device.id], 100)
        world = World(
            owner, other_user, admin, device.id, token, device.token, (first_prefix, stored.token_prefix), other_device.id, other_device.token,
            widget.id, rule.id, webhook.id, webhook_secret, marker, key.id, key.key, provisioning_secret, command.id, image.id, image.sha256, rollout.id,
        )
        db.session.remove()
    response = client.post(f"/devices/{device.id}/telemetry", json={"device_token": token, "data": {"note": f"reading {marker}", "v0": 0}})
    assert response.status_code == 200, response.get_json()
    settle()  # its "came online" notification is out before the test looks
    with app.app_context():
        notifications.notify_owner(device.id, "offline", "went offline")
        db.session.remove()
    return world


class Actor:
    """A test client acting as one actor: a browser session (with its CSRF token) or a Bearer token."""

    def __init__(self, app, world, name):
        self.name, self.client, self.headers = name, app.test_client(), {}
        if name == ANONYMOUS:
            self.headers["X-CSRF-Token"] = csrf_from(self.client.get("/login").get_data(as_text=True))
        elif name in SESSION_ACTORS:
            self.headers["X-CSRF-Token"] = log_in(self.client, world.account(name).email)
        else:
            self.headers["Authorization"] = f"Bearer {world.bearer(name)}"

    def session_cookie(self):
        cookie = self.client.get_cookie("session")
        return cookie.value if cookie else None


@pytest.fixture
def act_as(app, world):
    return lambda name: Actor(app, world, name)
