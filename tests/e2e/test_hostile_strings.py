"""Markup and template code in names, labels, readings, notifications and emails show as text in Chromium and never run.

Besides the checks here, the autouse fixture of tests/e2e/conftest.py fails the
test on any script error or Content-Security-Policy refusal on the page.
"""
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import DeviceClient, create_widget, log_in, open_device_page
from tests.security.test_escaping import PAYLOADS

pytestmark = pytest.mark.live

NAME = " ".join(PAYLOADS)  # 90 characters: a device name holds 100
READING = "reading " + " ".join(PAYLOADS)


def test_hostile_strings_show_as_text_and_no_dialog_opens(page, live_server):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    admin = live_server.create_user(admin=True)
    hostile_email = live_server.create_user(email=f"{PAYLOADS[0]}{uuid.uuid4().hex[:8]}@example.com")
    device = DeviceClient(live_server, live_server.create_device(admin, name=NAME))
    create_widget(live_server, admin, device.id, kind="value", label=PAYLOADS[0] + PAYLOADS[1], key="note")
    create_widget(live_server, admin, device.id, kind="switch", label=PAYLOADS[2] + PAYLOADS[3])
    log_in(page, live_server, admin)
    open_device_page(page, live_server, device.id)

    device.report({"note": READING})

    # Arrived live: the reading over the WebSocket, the "came online" notification over SSE.
    expect(page.locator(".widget-reading")).to_have_text(READING)
    expect(page.locator("#toasts")).to_contain_text(f"{NAME} came online")
    expect(page.locator("#device-name")).to_have_text(NAME)
    expect(page.get_by_role("switch", name=PAYLOADS[2] + PAYLOADS[3])).to_be_visible()
    expect(page.locator("#state-" + device.id)).to_contain_text(READING)
    assert_nothing_injected(page)
    page.goto(live_server.url + "/admin")
    expect(page.get_by_role("rowheader", name=hostile_email)).to_be_visible()
    assert_nothing_injected(page)
    page.goto(live_server.url + "/notifications")
    expect(page.locator("#notification-list")).to_contain_text(f"{NAME} came online")
    assert_nothing_injected(page)
    assert dialogs == []


def assert_nothing_injected(page):
    """No element made from the payloads: no <img src=x>, no inline script, no onmouseover handler."""
    assert page.locator("img[src='x'], [onerror], [onmouseover]").count() == 0
    assert page.evaluate("() => [...document.scripts].filter(script => !script.src).length") == 0
