"""The README's screenshots of the overview and a device page, taken in the browser tests' own browser.

`UPDATE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/e2e/test_screenshots.py` rewrites the
committed PNGs under docs/screenshots/; without it they go to a temporary directory.
"""
import math
import os
import time

from playwright.sync_api import expect

from tests.e2e.helpers import DeviceClient, create_widget, log_in, open_device_page

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMITTED = os.path.join(ROOT, "docs", "screenshots")
VIEWPORT = {"width": 1280, "height": 860}


def output_dir(tmp_path):
    return COMMITTED if os.environ.get("UPDATE_SCREENSHOTS") else str(tmp_path)


def take_screenshots(page, server, out_dir):
    """Demo devices with every kind of widget, then overview.png and device.png in `out_dir`."""
    email = server.create_user(email=f"demo-{os.urandom(3).hex()}@thingsnxt.local")
    greenhouse = DeviceClient(server, server.create_device(email, name="Greenhouse"))
    garage = DeviceClient(server, server.create_device(email, name="Garage door"))
    server.create_device(email, name="Weather station")
    # A day of temperatures every 5 minutes for the line chart, sent as readings buffered offline.
    now = time.time()
    greenhouse.send_batch(
        [(now - minutes * 60, {"temperature": round(21 + 3 * math.sin(minutes / 230) + 0.4 * math.sin(minutes / 17), 2)}) for minutes in range(1440, 0, -5)]
    )
    for step in range(24):
        greenhouse.report({"temperature": round(21 + 2.5 * math.sin(step / 4), 2), "humidity": 58 + step % 5, "v1": step % 2})
    greenhouse.report({"v0": 1})
    garage.report({"distance": 182, "v0": 0})
    for kind, label, key, extra in (
        ("switch", "Irrigation", "v0", {}),
        ("value", "Temperature", "temperature", {"unit": "°C"}),
        ("gauge", "Humidity", "humidity", {"unit": "%", "min": 0, "max": 100}),
        ("led", "Pump running", "v1", {}),
        ("chart", "Temperature trend", "temperature", {"unit": "°C"}),
    ):
        create_widget(server, email, greenhouse.id, kind=kind, label=label, key=key, **extra)
    create_widget(server, email, garage.id, kind="switch", label="Door", key="v0")
    create_widget(server, email, garage.id, kind="value", label="Distance", key="distance", unit="cm")

    page.set_viewport_size(VIEWPORT)
    log_in(page, server, email)
    expect(page.get_by_role("article", name="Greenhouse").get_by_text("Online", exact=True)).to_be_visible()
    page.mouse.move(0, 0)
    os.makedirs(out_dir, exist_ok=True)
    overview = os.path.join(out_dir, "overview.png")
    page.screenshot(path=overview, full_page=True)

    open_device_page(page, server, greenhouse.id)
    page.mouse.move(0, 0)
    device = os.path.join(out_dir, "device.png")
    page.screenshot(path=device, full_page=True)
    return [overview, device]
