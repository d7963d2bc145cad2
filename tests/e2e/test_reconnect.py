"""A dashboard left open across a server restart reconnects by itself and is current again."""
import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import DeviceClient, add_widget, log_in, open_device_page

pytestmark = pytest.mark.live

# While the server is down the htmx ws extension retries with exponential backoff (full jitter, up to 64 s).
RECONNECT_TIMEOUT_MS = 30_000


def test_dashboard_reconnects_after_a_server_restart_and_catches_up(page, live_server):
    email = live_server.create_user()
    device = DeviceClient(live_server, live_server.create_device(email, name="Boiler"))
    log_in(page, live_server, email)
    open_device_page(page, live_server, device.id)
    widget = add_widget(page, "Value", "Pressure", "pressure", unit="bar")
    expect(page.locator("body")).to_have_attribute("data-notifications", "open")

    live_server.stop()
    expect(page.locator("#live-status")).to_have_text("Reconnecting…")
    expect(page.locator("body")).to_have_attribute("data-notifications", "closed")
    live_server.start()
    # Possibly before the page is back: the snapshot sent on reconnecting must bring it.
    device.report({"pressure": 1.5})

    expect(page.locator("#live-status")).to_have_text("Live", timeout=RECONNECT_TIMEOUT_MS)
    expect(page.locator("body")).to_have_attribute("data-notifications", "open", timeout=RECONNECT_TIMEOUT_MS)
    expect(widget.locator(".widget-reading")).to_have_text("1.5 bar")
    expect(page.locator("#unread-count")).to_have_attribute("data-count", "1")
    device.report({"pressure": 2.25})
    expect(widget.locator(".widget-reading")).to_have_text("2.25 bar")
