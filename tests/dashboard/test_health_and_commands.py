"""The device page's health panel and commands, the overview card's health flags, all kept live over the WebSocket."""
import requests

from tests.dashboard.test_live import DEADLINE, dashboards  # noqa: F401  (fixture)

REPORT = {"fw": "1.4.0", "rssi": -61, "heap_free": 181234, "heap_min": 150000, "heap_max_block": 110000, "uptime_s": 93784, "reset_reason": "poweron", "transport": "http"}


def report(client, device, health):
    response = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}, "device": health})
    assert response.status_code == 200, response.json


def test_the_device_page_shows_the_health_report_and_highlights_a_self_inflicted_reset(client, browser_for, make_device):
    device = make_device()
    report(client, device, REPORT | {"reset_reason": "watchdog"})

    html = browser_for(device.owner).get(f"/devices/{device.id}").get_data(as_text=True)

    assert "<dt>Firmware</dt><dd>1.4.0</dd>" in html
    assert "<dt>Signal</dt><dd>-61 dBm</dd>" in html
    assert "<dt>Free heap</dt><dd>181,234 bytes (177 KiB)</dd>" in html
    assert "<dt>Uptime</dt><dd>1 d 2 h</dd>" in html
    assert '<dt>Last reset</dt><dd class="flagged">watchdog (the device rebooted itself)</dd>' in html


def test_the_overview_card_flags_a_weak_signal_and_low_memory(client, browser_for, make_device):
    device = make_device()
    healthy = make_device(owner=device.owner)
    report(client, device, REPORT | {"rssi": -88, "heap_min": 9000})
    report(client, healthy, REPORT)

    html = browser_for(device.owner).get("/").get_data(as_text=True)

    assert f'<p class="health-flags" id="health-flags-{device.id}"><span class="flag">Weak signal</span> <span class="flag">Low memory</span></p>' in html
    assert f'<p class="health-flags" id="health-flags-{healthy.id}"></p>' in html


def test_a_command_sent_from_the_page_shows_its_status_and_reply_live(threaded_server, dashboards, make_device):  # noqa: F811
    device = make_device()
    page = dashboards(device.owner.email, f"?device={device.id}")

    sent = page.http.post(
        f"{threaded_server}/devices/{device.id}/commands",
        data={"method": "setGpio", "params": '{"pin": 23}', "timeout": "30"},
        headers={"X-CSRF-Token": page.csrf, "HX-Request": "true"},
    )
    assert sent.status_code == 200 and "setGpio" in sent.text
    command_id = int(sent.text.split('id="command-', 1)[1].split('"', 1)[0])
    page.receive_until(f'id="command-{command_id}"', "queued")

    answer = requests.post(f"{threaded_server}/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}}, timeout=DEADLINE).json()
    assert answer["commands"] == [{"id": command_id, "method": "setGpio", "params": {"pin": 23}}]
    page.receive_until("delivered")
    requests.post(f"{threaded_server}/devices/{device.id}/commands/{command_id}", json={"device_token": device.token, "result": {"ok": True}}, timeout=DEADLINE)
    live = "".join(page.receive_until("answered"))

    assert f'<li class="command command-answered" id="command-{command_id}" hx-swap-oob="true">' in live
    assert '<span class="command-result">→ <code>{"ok":true}</code></span>' in live


def test_a_health_report_reaches_open_pages_live(threaded_server, dashboards, make_device):  # noqa: F811
    device = make_device()
    overview = dashboards(device.owner.email)
    page = dashboards(device.owner.email, f"?device={device.id}")

    requests.post(
        f"{threaded_server}/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}, "device": REPORT | {"rssi": -90}}, timeout=DEADLINE
    )

    assert "Weak signal" in "".join(overview.receive_until(f'id="health-flags-{device.id}" hx-swap-oob="true"'))
    assert "-90 dBm (weak)" in "".join(page.receive_until(f'id="health-{device.id}" hx-swap-oob="true"'))


def test_a_bad_command_form_says_why(browser_for, make_device):
    device = make_device()

    response = browser_for(device.owner).htmx("POST", f"/devices/{device.id}/commands", data={"method": "blink", "params": "{not json"})

    assert response.status_code == 400
    assert "params must be JSON" in response.get_data(as_text=True)
