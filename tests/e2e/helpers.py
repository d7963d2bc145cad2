"""What the browser tests do again and again: log in, add widgets, play the device."""
import re

import requests
from playwright.sync_api import expect

from tests.live_server import PASSWORD

TIMEOUT = 10


def log_in(page, server, email, password=PASSWORD):
    """Log in through the form, by label, as a person does; waits for the devices overview to be live."""
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Devices", level=1)).to_be_visible()
    wait_until_live(page)


def wait_until_live(page):
    """The page's WebSocket is open and its first snapshot is in."""
    expect(page.locator("#live-status")).to_have_text("Live")


def open_device_page(page, server, device_id):
    page.goto(f"{server.url}/devices/{device_id}")
    wait_until_live(page)


def add_widget(page, kind, label, key=None, **fields):
    """Add a widget through the device page's form; its locator."""
    form = page.locator("details.add-widget")
    if not form.evaluate("details => details.open"):
        form.locator("summary").click()
    form.get_by_label("Type").select_option(label=kind)
    form.get_by_label("Label").fill(label)
    form.get_by_label("Pin or key").fill(key or "")
    for name, value in fields.items():
        form.get_by_label(name.capitalize()).fill(str(value))
    form.get_by_role("button", name="Add widget").click()
    widget = page.locator(".widget", has=page.locator(".widget-label", has_text=re.compile(f"^{re.escape(label)}$")))
    expect(widget).to_be_visible()
    return widget


class DeviceClient:
    """An ESP32 as the server sees it: telemetry posts and state polls with its token.

    A connection per request: an idle keep-alive connection would hold a stopping
    gunicorn worker until its graceful timeout.
    """

    def __init__(self, server, credentials):
        self.url, self.id, self.token = server.url, credentials["device_id"], credentials["device_token"]

    def post(self, data, token=None):
        return requests.post(f"{self.url}/devices/{self.id}/telemetry", json={"device_token": token or self.token, "data": data}, timeout=TIMEOUT)

    def report(self, data):
        response = self.post(data)
        assert response.status_code == 200, response.text
        return response

    def send_batch(self, records):
        """Readings buffered offline, [(ts as ISO-8601 or Unix seconds, data), …], as one batch."""
        body = {"device_token": self.token, "records": [{"ts": ts, "data": data} for ts, data in records]}
        response = requests.post(f"{self.url}/devices/{self.id}/telemetry/batch", json=body, timeout=TIMEOUT)
        assert response.status_code == 200 and response.json()["accepted"] == len(records), response.text

    def latest(self, etag=None, wait=0):
        headers = {"If-None-Match": etag} if etag else {}
        return requests.get(f"{self.url}/telemetry/latest", params={"device_token": self.token, "wait": wait}, headers=headers, timeout=wait + TIMEOUT)


def create_widget(server, owner_email, device_id, **fields):
    """A widget made directly through the service (for tests about something else); its id."""
    from webapp.extensions import db
    from webapp.schemas import WidgetIn
    from webapp.services.accounts import users
    from webapp.services.devices import widgets

    with server.app.app_context():
        widget = widgets.add_widget(users.find_user(owner_email), device_id, WidgetIn(**fields))
        db.session.remove()
    return widget.id


def store_readings(server, device_id, key, points):
    """History written straight into the server's database, [(ts_ms, value), …]: many readings at once, without the device API."""
    from webapp.core import values
    from webapp.extensions import db
    from webapp.models import Reading

    with server.app.app_context():
        db.session.execute(
            Reading.__table__.insert(),
            [{"device_id": device_id, "key": key, "ts_ms": ts, "num": values.numeric(value), "value": values.encode(value)} for ts, value in points],
        )
        db.session.commit()
        db.session.remove()
