"""The device page's firmware updates: upload and send (a plain form too), send an image uploaded before, cancel,
and the status kept live over the WebSocket as the device reports."""
import io

import requests

from tests.dashboard.test_live import DEADLINE, dashboards  # noqa: F401  (fixture)
from tests.ota.helpers import esp32_image, report, telemetry, uploaded


def test_a_plain_form_uploads_an_image_and_sends_it_to_the_device(client, browser_for, make_device):
    device = make_device()
    browser = browser_for(device.owner)
    image = esp32_image(20_000)

    sent = browser.client.post(
        f"/devices/{device.id}/firmware",
        data={"csrf_token": browser.csrf, "title": "sensor-fw", "version": "1.3.0", "file": (io.BytesIO(image), "sensor.bin")},
        content_type="multipart/form-data",
    )

    assert (sent.status_code, sent.headers["Location"]) == (303, f"/devices/{device.id}")
    page = browser.get(f"/devices/{device.id}").get_data(as_text=True)
    assert "<strong>sensor-fw 1.3.0</strong>: <span class=\"ota-status\">offered</span>" in page
    assert telemetry(client, device)["ota"]["size"] == len(image)


def test_an_image_uploaded_before_is_sent_and_cancelled_from_the_page(client, browser_for, make_device):
    device = make_device()
    browser = browser_for(device.owner)
    firmware = uploaded(client, device.owner, esp32_image())
    assert f'<option value="{firmware["id"]}">sensor-fw 1.1.0' in browser.get(f"/devices/{device.id}").get_data(as_text=True)

    fragment = browser.htmx("POST", f"/devices/{device.id}/ota", data={"firmware_id": str(firmware["id"])}).get_data(as_text=True)
    cancelled = browser.client.post(f"/devices/{device.id}/ota/cancel", data={"csrf_token": browser.csrf})

    assert fragment.strip().startswith(f'<div class="ota-updates" id="ota-{device.id}">') and "offered" in fragment
    assert cancelled.status_code == 303
    assert ">cancelled</td>" in browser.get(f"/devices/{device.id}").get_data(as_text=True)
    assert "ota" not in telemetry(client, device)


def test_a_refused_upload_says_why(browser_for, make_device):
    device = make_device()
    browser = browser_for(device.owner)

    refused = browser.htmx(
        "POST", f"/devices/{device.id}/firmware", data={"title": "t", "version": "1", "file": (io.BytesIO(b"PK\x03\x04" + bytes(100)), "a.zip")}
    )

    assert refused.status_code == 400 and "Not an ESP32 app image" in refused.get_data(as_text=True)


def test_the_update_status_reaches_the_open_page_live(threaded_server, dashboards, client, make_device):  # noqa: F811
    device = make_device()
    firmware = uploaded(client, device.owner, esp32_image(10_000))
    page = dashboards(device.owner.email, f"?device={device.id}")

    page.http.post(f"{threaded_server}/devices/{device.id}/ota", data={"firmware_id": str(firmware["id"])}, headers={"X-CSRF-Token": page.csrf, "HX-Request": "true"})
    page.receive_until(f'id="ota-{device.id}" hx-swap-oob="true"', "offered")
    requests.post(f"{threaded_server}/devices/{device.id}/ota/status", json={"device_token": device.token, "state": "downloading", "bytes": 4096}, timeout=DEADLINE)
    live = "".join(page.receive_until('<progress max="10000" value="4096">'))

    assert "4096 / 10000 bytes" in live
    report(client, device, "failed", reason="flash write error at 0x110000")
    assert "flash write error at 0x110000" in "".join(page.receive_until("failed"))


def test_a_rollout_started_from_its_page_shows_each_device_and_follows_them_live(threaded_server, dashboards, client, browser_for, make_user, make_device):  # noqa: F811
    owner = make_user()
    first, second = make_device(owner=owner), make_device(owner=owner)
    firmware = uploaded(client, owner, esp32_image(10_000), version="4.0.0")
    browser = browser_for(owner)

    started = browser.client.post("/rollouts", data={"csrf_token": browser.csrf, "firmware_id": str(firmware["id"]), "stage_percent": "50"})
    assert (started.status_code, started.headers["Location"]) == (303, "/rollouts")
    page_html = browser.get("/rollouts").get_data(as_text=True)
    assert "sensor-fw 4.0.0 to 2 devices" in page_html and "first stage 50%" in page_html
    assert page_html.count(">offered</td>") == 1 and page_html.count(">waiting for its stage</td>") == 1

    live = dashboards(owner.email, "?view=rollouts")
    offered = first if "ota" in telemetry(client, first) else second
    report(client, offered, "downloading", bytes=4096)
    assert "downloading 4096 / 10000 bytes" in "".join(live.receive_until("4096 / 10000 bytes"))
    report(client, offered, "applied")
    report(client, offered, "booted", version="4.0.0")
    redrawn = "".join(live.receive_until("1 of 2 updated"))
    assert ">offered</td>" in redrawn, "the second stage is offered once the first has booted"


def test_a_rollout_is_paused_and_cancelled_from_its_page(client, browser_for, make_user, make_device):
    owner = make_user()
    device = make_device(owner=owner)
    firmware = uploaded(client, owner, esp32_image())
    browser = browser_for(owner)
    browser.htmx("POST", "/rollouts", data={"firmware_id": str(firmware["id"]), "stage_percent": "100", "device_ids": device.id})
    rollout_id = client.get("/api/rollouts", headers=owner.headers).json["rollouts"][0]["id"]

    paused = browser.htmx("POST", f"/rollouts/{rollout_id}/status", data={"status": "paused"}).get_data(as_text=True)
    assert '<span class="rollout-status">paused</span>' in paused and ">Resume</button>" in paused
    assert "ota" not in telemetry(client, device)
    cancelled = browser.client.post(f"/rollouts/{rollout_id}/status", data={"csrf_token": browser.csrf, "status": "cancelled"})

    assert cancelled.status_code == 303
    assert ">cancelled</td>" in browser.get("/rollouts").get_data(as_text=True)
    refused = browser.htmx("POST", f"/rollouts/{rollout_id}/status", data={"status": "active"})
    assert refused.status_code == 409
