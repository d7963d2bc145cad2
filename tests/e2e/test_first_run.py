"""What a newcomer gets from `make run`: the demo seeded once, its simulated device alive, pages that fit a
phone and follow a dark theme, and the README's screenshots of all that (tests/e2e/screenshots.py)."""
import json
import os
import re

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import settings_for_tests
from tests.e2e.conftest import SERVER_SETTINGS
from tests.e2e.helpers import TIMEOUT, log_in, open_device_page
from tests.e2e.screenshots import output_dir, take_screenshots
from tests.live_server import LiveServer
from tests.waiting import wait_until

pytestmark = pytest.mark.live

PHONE = {"width": 390, "height": 844}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Demo:
    """`make run` in small: a new database, `flask seed-demo`, then the server with DEMO_DEVICE=1."""

    def __init__(self, tmp_dir):
        credentials = os.path.join(tmp_dir, "demo-device.json")
        self.server = LiveServer(tmp_dir, settings_for_tests("") | SERVER_SETTINGS | {"DEMO_DEVICE": "1", "DEMO_DEVICE_FILE": credentials})
        output = self.server.app.test_cli_runner().invoke(args=["seed-demo"]).output
        self.email, self.password = re.search(r"dashboard login: (\S+) / (\S+)", output).groups()
        with open(credentials) as saved:
            self.device_id, self.device_token = json.load(saved).values()
        self.server.start()

    def simulator_pid(self):
        """The pid of the simulator the server started last, from its log."""
        return int(re.findall(r"demo device simulator started \(pid (\d+)\)", self.server.log())[-1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    demo = Demo(tmp_path_factory.mktemp("demo"))
    yield demo
    demo.server.close()


def test_the_demo_device_is_alive_follows_its_led_switch_and_stops_and_starts_with_the_server(page, demo):
    log_in(page, demo.server, demo.email, demo.password)
    card = page.get_by_role("article", name="Demo ESP32")

    expect(card.get_by_text("Online", exact=True)).to_be_visible()
    expect(card.locator(".widget-reading").first).to_have_text(re.compile(r"^\d+(\.\d+)? °C$"))
    expect(card.locator("meter")).to_have_attribute("value", re.compile(r"^\d"))
    # The hour the simulator uploaded when it started, and what it sent since: the chart opens on the last hour.
    expect(card.locator(".history-chart__caption")).to_have_text(re.compile(r"^Last hour: \d{3} readings"))
    switch = card.get_by_role("switch", name="LED")
    expect(switch).to_have_attribute("aria-checked", "false")

    switch.click()

    # The device follows the switch and reports v0 back: "pending" goes, the LED widget lights.
    expect(card.locator(".switch-state")).to_have_text("On")
    expect(card.get_by_role("img", name="LED lit: on")).to_be_visible()
    simulator = demo.simulator_pid()
    demo.server.stop()
    wait_until(lambda: not os.path.exists(f"/proc/{simulator}"), "the simulator stopping with the server", timeout=TIMEOUT)
    demo.server.start()
    assert demo.simulator_pid() != simulator
    latest = requests.get(f"{demo.server.url}/telemetry/latest", params={"device_token": demo.device_token}, timeout=TIMEOUT).json()
    assert latest["data"]["v0"] == 1


def test_every_page_fits_a_phone_is_live_and_follows_the_dark_theme(page, demo):
    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme="dark")
    log_in(page, demo.server, demo.email, demo.password)

    for path in ("/", f"/devices/{demo.device_id}", "/rollouts", "/notifications", "/admin"):
        page.goto(demo.server.url + path)
        expect(page.locator("#live-status")).to_have_text("Live")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], f"{path} is wider than a phone"
        assert page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor") == "rgb(15, 22, 32)", f"{path} is not dark"
    # Keys end in an ellipsis inside their widget, and show whole on hover.
    open_device_page(page, demo.server, demo.device_id)
    for widget in page.locator(".widget").all():
        key, box = widget.locator(".widget-key"), widget.bounding_box()
        key_box = key.bounding_box()
        assert key_box["x"] + key_box["width"] <= box["x"] + box["width"], f"{key.inner_text()} runs past its widget"
        assert key.get_attribute("title") == key.inner_text()


def test_screenshots_of_what_a_newcomer_sees(page, demo, tmp_path):
    paths = take_screenshots(page, demo.server, demo.email, demo.password, demo.device_id, output_dir(tmp_path))

    assert len(paths) == 8
    for path in paths:
        with open(path, "rb") as image:
            content = image.read()
        assert content.startswith(PNG_SIGNATURE) and len(content) > 10_000
