"""A firmware update from the device page in Chromium: upload and send, then the device's reports arrive live."""
import os
import re

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.helpers import DeviceClient, log_in, open_device_page

pytestmark = pytest.mark.live


def test_an_image_uploaded_on_the_device_page_is_offered_and_its_progress_shows_live(page, live_server, tmp_path):
    email = live_server.create_user()
    device = DeviceClient(live_server, live_server.create_device(email, name="Pump house"))
    image = tmp_path / "pump-fw.bin"
    image.write_bytes(bytes([0xE9]) + os.urandom(10_239))
    log_in(page, live_server, email)
    open_device_page(page, live_server, device.id)
    panel = page.locator(f"#ota-{device.id}")
    expect(panel).to_contain_text("No update sent yet.")

    page.get_by_label("Image (.bin)").set_input_files(str(image))
    page.get_by_label("Title").fill("pump-fw")
    page.get_by_label("Version").fill("3.1.0")
    page.get_by_role("button", name="Upload and send").click()

    expect(panel).to_contain_text("pump-fw 3.1.0: offered")
    offer = device.post({"flow": 1.5}).json()["ota"]
    assert offer["size"] == 10_240
    report = f"{live_server.url}/devices/{device.id}/ota/status"
    requests.post(report, json={"device_token": device.token, "state": "downloading", "bytes": 4096}, timeout=10).raise_for_status()
    expect(panel.locator("progress")).to_have_attribute("value", "4096")
    expect(panel).to_contain_text("4096 / 10240 bytes")
    requests.post(report, json={"device_token": device.token, "state": "failed", "reason": "flash write error"}, timeout=10).raise_for_status()
    expect(panel).to_contain_text(re.compile(r"pump-fw 3\.1\.0: failed\s+— flash write error"))
