"""Strings users and devices supply reach pages and live fragments escaped, never as markup or template code.

A hostile owner (even their email is markup) names a device, labels widgets
and sets a unit with markup; the device reports it as a value; a forged
X-Forwarded-For puts it into a rule denial's notification. Every page,
htmx fragment, WebSocket fragment and SSE event that shows these strings
must show them escaped: the raw string never appears, its escaped form does.
"""
import re
import uuid

import pytest
import requests
from markupsafe import escape

from tests.conftest import TEST_PASSWORD
from tests.dashboard.helpers import csrf_from, http_session, log_in
from tests.dashboard.test_live import DEADLINE, Dashboard, read_events
from webapp.extensions import db
from webapp.services.accounts import users

PAYLOADS = ['<img src=x onerror=alert(1)>', '"><script>alert(2)</script>', "{{7*7}}", "' onmouseover='alert(3)"]
UNIT = "<b>°</b>"


def assert_escaped(html, text, where):
    """`text` is shown in `html`, escaped; never raw (a string without markup characters is shown as it is)."""
    escaped = str(escape(text))
    if escaped != text:
        assert text not in html, f"{text!r} unescaped in {where}"
    assert escaped in html, f"{text!r} not shown in {where}"


class HostileOwner:
    """An owner whose email, device name, widget labels, unit and readings all carry `payload`."""

    def __init__(self, app, client, payload):
        self.app, self.client, self.payload = app, client, payload
        self.email = f"{payload}{uuid.uuid4().hex[:8]}@example.com"
        with app.app_context():
            users.create_user(self.email, TEST_PASSWORD)
            db.session.remove()
        self.csrf = log_in(client, self.email)
        created = self.htmx("POST", "/devices", data=dict(name=payload))
        self.created_html = created.get_data(as_text=True)
        self.device_id = re.search(r'id="new-device-id-([0-9a-f]{24})"', self.created_html).group(1)
        self.token = re.search(r'id="new-device-token-[0-9a-f]{24}">([^<]+)<', self.created_html).group(1)

    def htmx(self, method, path, **kwargs):
        response = self.client.open(path, method=method, headers={"HX-Request": "true", "X-CSRF-Token": self.csrf}, **kwargs)
        assert response.status_code < 500, response.get_data(as_text=True)
        return response

    def add_widget(self, **form):
        response = self.htmx("POST", f"/devices/{self.device_id}/widgets", data=form)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_data(as_text=True)

    def report(self, data, **headers):
        return self.client.post(f"/devices/{self.device_id}/telemetry", json={"device_token": self.token, "data": data}, headers=headers)

    def deny_by_rule(self, monkeypatch):
        """A report from a forged address the device's rule refuses: its notification quotes the address."""
        rules = {"rules": [{"name": "lan_only", "type": "source_network", "networks": ["10.0.0.0/8"]}]}
        assert self.client.put(f"/api/devices/{self.device_id}/rules", json=rules, headers={"X-CSRF-Token": self.csrf}).status_code == 200
        monkeypatch.setitem(self.app.config, "TRUSTED_PROXIES", 1)
        denied = self.report({"note": "x"}, **{"X-Forwarded-For": self.payload})
        assert denied.status_code == 403 and denied.get_json()["error"] == "rule_denied"


@pytest.fixture(params=PAYLOADS, ids=["img-onerror", "attribute-breakout-script", "template", "single-quote-attribute"])
def hostile(request, app):
    return HostileOwner(app, app.test_client(), request.param)


def test_pages_and_fragments_escape_every_supplied_string(app, hostile, make_user, monkeypatch):
    payload, device = hostile.payload, hostile.device_id
    value_grid = hostile.add_widget(kind="value", label=payload, key="note", unit=UNIT)
    switch_grid = hostile.add_widget(kind="switch", label=payload)
    switch_id = re.findall(r'id="widget-(\d+)"', switch_grid)[-1]
    assert hostile.report({"note": payload}).status_code == 200
    hostile.deny_by_rule(monkeypatch)
    refused_key = hostile.htmx("POST", f"/devices/{device}/widgets", data=dict(kind="value", label="x", key=payload))
    admin = app.test_client()
    log_in(admin, make_user(admin=True).email)

    shown = {
        "the device-added fragment": hostile.created_html,
        "the widget grid fragment": value_grid + switch_grid,
        "the devices overview": hostile.client.get("/").get_data(as_text=True),
        "the device page": hostile.client.get(f"/devices/{device}").get_data(as_text=True),
        "the notifications page": hostile.client.get("/notifications").get_data(as_text=True),
        "the widget editor": hostile.htmx("GET", f"/devices/{device}/widgets/{switch_id}/edit").get_data(as_text=True),
        "the toggled switch": hostile.htmx("POST", f"/devices/{device}/widgets/{switch_id}/toggle", data=dict(value="1")).get_data(as_text=True),
        "the saved settings": hostile.htmx("POST", f"/devices/{device}/settings", data=dict(name=payload)).get_data(as_text=True),
        "the new token": hostile.htmx("POST", f"/devices/{device}/token").get_data(as_text=True),
        "the admin page": admin.get("/admin").get_data(as_text=True),
        "the admin's view of the device": admin.get(f"/devices/{device}").get_data(as_text=True),
    }

    for where, html in shown.items():
        assert_escaped(html, payload, where)
    for where in ("the devices overview", "the admin page", "the admin's view of the device"):
        assert_escaped(shown[where], hostile.email, where)
    for where in ("the devices overview", "the device page"):
        assert_escaped(shown[where], UNIT, where)
    assert_escaped(shown["the notifications page"], f"source address '{payload}' is not an IP address.", "the rule denial's notification")
    assert refused_key.status_code == 400 and payload not in refused_key.get_data(as_text=True)
    if payload == "{{7*7}}":
        assert all(">49<" not in html for html in shown.values()), "a supplied string was rendered as a template"


def test_rule_names_cannot_carry_markup(hostile):
    rules = {"rules": [{"name": hostile.payload, "type": "allowed_keys", "keys": ["note"]}]}
    response = hostile.client.put(f"/api/devices/{hostile.device_id}/rules", json=rules, headers={"X-CSRF-Token": hostile.csrf})

    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    assert hostile.payload not in response.get_data(as_text=True)


def test_live_fragments_escape_every_supplied_string(app, threaded_server, hostile, monkeypatch):
    """WebSocket fragments (snapshot, widget redraws, state updates) and SSE notifications, as the pages receive them."""
    payload, device = hostile.payload, hostile.device_id
    hostile.add_widget(kind="value", label=payload, key="note", unit=UNIT)
    overview = Dashboard(threaded_server, hostile.email)
    device_page = Dashboard(threaded_server, hostile.email, f"?device={device}")
    session, csrf, _ = http_session(threaded_server, hostile.email)
    stream = session.get(f"{threaded_server}/events", stream=True, timeout=DEADLINE)
    events = read_events(stream)
    next(events)
    try:
        response = session.post(
            f"{threaded_server}/devices/{device}/widgets", data=dict(kind="led", label=payload, key="v1"), headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
        )
        assert response.status_code == 200, response.text
        reported = requests.post(f"{threaded_server}/devices/{device}/telemetry", json={"device_token": hostile.token, "data": {"note": payload}}, timeout=DEADLINE)
        assert reported.status_code == 200, reported.text
        hostile.deny_by_rule(monkeypatch)
        notified = events_until(events, "notification-item", "is not an IP address")
        live = {
            "the overview's snapshot": overview.snapshot,
            "the device page's snapshot": device_page.snapshot,
            "the overview's updates": "".join(overview.receive_until('data-key="note" hx-swap-oob="true"', "widget-led")),
            "the device page's updates": "".join(device_page.receive_until(f"readings-{device}", "widget-led")),
            "the notification toasts (SSE)": "".join(data for name, data in notified if name == "notification"),
            "the notification items (SSE)": "".join(data for name, data in notified if name == "notification-item"),
        }
    finally:
        stream.close()
        overview.close()
        device_page.close()

    for where, html in live.items():
        assert_escaped(html, payload, where)
    assert_escaped(live["the device page's updates"], UNIT, "the device page's updates")
    assert_escaped(live["the notification items (SSE)"], f"source address '{payload}' is not an IP address.", "the rule denial's notification")


def events_until(events, name, text):
    """Server-sent events up to and including the first `name` event containing `text`."""
    received = []
    for event in events:
        received.append(event)
        if event[0] == name and text in event[1]:
            return received
    raise AssertionError(f"the stream ended before a {name} event with {text!r}; got {received}")


def test_the_login_page_escapes_what_was_typed(client):
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    payload = PAYLOADS[1]
    page = client.post("/login", data={"email": payload, "password": "wrong password", "next": payload, "csrf_token": csrf}).get_data(as_text=True)

    assert_escaped(page, payload, "the login page")
