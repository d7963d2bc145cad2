"""The demo of `make run`: an admin, a device with a widget of each kind, and that device's id and token
in a file of its own (mode 600) for the simulator that plays it (scripts/demo_device.py)."""
import json
import os
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Device
from webapp.schemas import WidgetIn
from webapp.services.accounts import users
from webapp.services.devices import registry as devices
from webapp.services.devices import widgets

ADMIN = "admin@thingsnxt.local"
# In the instance folder unless DEMO_DEVICE_FILE says otherwise; gunicorn.conf.py looks for it there too.
CREDENTIALS_FILENAME = "demo-device.json"
DEVICE_NAME = "Demo ESP32"
# What the simulator sends: the LED on v0 (switched here, reported back), temperature and humidity.
WIDGETS = (
    WidgetIn(kind="switch", label="LED", key="v0"),
    WidgetIn(kind="led", label="LED lit", key="v0"),
    WidgetIn(kind="value", label="Temperature", key="temperature", unit="°C"),
    WidgetIn(kind="gauge", label="Humidity", key="humidity", unit="%", min=0, max=100),
    WidgetIn(kind="chart", label="Temperature history", key="temperature", unit="°C"),
)


@dataclass(frozen=True)
class Demo:
    """What seeding did: the admin's password and the device's token are set only when made (shown once)."""

    admin_email: str
    password: str | None
    device_id: str | None
    token: str | None


def credentials_path():
    """Where the demo device's id and token are kept for its simulator."""
    return current_app.config["DEMO_DEVICE_FILE"] or os.path.join(current_app.instance_path, CREDENTIALS_FILENAME)


def seed(credentials_path):
    """Make the demo once. Later, when the simulator's credentials are gone (a new instance folder on an old
    database), the demo device gets a new token for it, written to `credentials_path` again."""
    admin = users.find_user(ADMIN)
    if admin is not None:
        device = db.session.scalar(select(Device).where(Device.owner_id == admin.id, Device.name == DEVICE_NAME).order_by(Device.created_ms))
        if device is None or os.path.exists(credentials_path):
            return Demo(admin.email, None, device.id if device else None, None)
        token = devices.rotate_device_token(device)
        _write_credentials(credentials_path, device.id, token)
        return Demo(admin.email, None, device.id, token)
    password = secrets.token_urlsafe(12)
    admin = users.create_user(ADMIN, password, is_admin=True)
    device, token = devices.create_device(admin, DEVICE_NAME)
    for spec in WIDGETS:
        widgets.add_widget(admin, device.id, spec)
    _write_credentials(credentials_path, device.id, token)
    return Demo(admin.email, password, device.id, token)


def _write_credentials(path, device_id, token):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as credentials:
        json.dump({"device_id": device_id, "device_token": token}, credentials)
