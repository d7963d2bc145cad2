"""Firmware in the loop: the firmware's core, built for the host with libcurl,
runs as a device against a real server and is checked through the server's
API. The device's log (its serial output) tells the test when to look."""

import re
import time

import requests

from webapp.extensions import db
from webapp.services.accounts import users
from webapp.services.devices import provisioning

from .host_device import set_pin, upload_batch, wait_for_state

# `seq` is the reading's sequence number (survives restarts), `n` the host
# sensor's count of this run's readings (a data key, seen in the server's state).
TELEMETRY_OK = r"I: telemetry sent \(200\) seq (?P<seq>\d+): v0=(?P<v0>\d) v1=(?P<v1>\d) n=(?P<n>\d+)"
KEPT_OFFLINE = r"kept offline: ts=(?P<ts>\S+) seq (?P<seq>\d+): .*n=(?P<n>\d+)"
BACKOFF = r"server unavailable \(.*\); backing off (?P<ms>\d+) ms"
REQUEST = r"^D: (GET|POST) "


def assert_in_server_history(server, device, kept):
    """Every reading the device kept offline is stored on the server: uploading
    the same (device, ts) again is recognised as a duplicate of each."""
    records = [{"ts": line["ts"], "data": {"n": int(line["n"])}} for line in kept]
    assert upload_batch(server.url, device, records) == {"accepted": 0, "duplicates": len(records)}


def test_a_toggle_set_through_the_api_reaches_the_led_and_is_reported_back(live_server, start_device):
    owner = "fil-toggle@example.com"
    device = live_server.create_device(owner_email=owner)
    api_token = live_server.api_token(owner)
    # Telemetry only every 30 s and plain polls only every 30 s: a toggle seen
    # within seconds came through the long-poll.
    esp = start_device(live_server, device, telemetry_ms=30000, poll_ms=30000, long_poll_s=25)
    esp.wait_for(TELEMETRY_OK)
    esp.wait_for(r"D: GET \S+/telemetry/latest -> 200")  # holds the first ETag; long-polls from here

    for value, level in ((1, "HIGH"), (0, "LOW")):
        before = esp.mark()
        set_pin(live_server.url, api_token, device["device_id"], "v0", value)
        applied = esp.wait_for(rf"applied v0={value} \(gpio 2\) from poll", after=before, timeout=5)
        esp.wait_for(rf"^gpio 2 -> {level}$", after=before, timeout=1)
        report = esp.wait_for(TELEMETRY_OK, after=applied.index, timeout=5)
        assert report["v0"] == str(value)
        n = int(report["n"])
        state = wait_for_state(live_server.url, device["device_token"], lambda data: data.get("n", 0) >= n)
        assert state["v0"] == value


def test_the_device_backs_off_through_a_server_restart_and_uploads_its_offline_buffer(live_server, start_device):
    device = live_server.create_device(owner_email="fil-restart@example.com")
    esp = start_device(live_server, device)
    esp.wait_for_count(TELEMETRY_OK, 2)

    down = esp.mark()
    stopped_at = time.monotonic()
    live_server.stop()
    try:
        esp.wait_for_count(BACKOFF, 4, after=down)
        esp.wait_for_count(KEPT_OFFLINE, 8, after=down)
        # Marked before the restart: the device can be back and drain its
        # buffer while start() is still waiting for the server's /health.
        up = esp.mark()
    finally:
        live_server.start()
    outage = time.monotonic() - stopped_at
    drained = esp.wait_for(r"uploaded \d+ buffered readings .*; 0 left", after=up, timeout=20)
    resumed = esp.wait_for(TELEMETRY_OK, after=up)

    # Backing off: each wait in the upper half of a step that doubles from
    # 200 ms up to the 1.6 s cap.
    delays = [int(line["ms"]) for line in esp.matches(BACKOFF, after=down, before=up)]
    for attempt, delay in enumerate(delays):
        step = min(200 * 2**attempt, 1600)
        assert step / 2 <= delay <= step, f"attempt {attempt}: waited {delay} ms"
    # …and it really waited: all but the last wait fit in the outage.
    assert sum(delays[:-1]) / 1000 <= outage
    # Nothing lost: every reading taken while the server was away is stored.
    assert not esp.matches(r"offline buffer full")
    assert_in_server_history(live_server, device, esp.matches(KEPT_OFFLINE, after=down, before=drained.index))
    # And the device is live again.
    n = int(resumed["n"])
    wait_for_state(live_server.url, device["device_token"], lambda data: data.get("n", 0) >= n)


def test_refused_credentials_wait_long_check_health_and_recover_from_the_console(live_server, start_device):
    device = live_server.create_device(owner_email="fil-provisioning@example.com")
    wrong_token = "W" * 43
    # A short "long" backoff (2 s, then 4 s) keeps the test quick; the device's is 1 min to 1 h.
    esp = start_device(
        live_server,
        {"device_id": device["device_id"], "device_token": wrong_token},
        credential_retry_base_ms=2000,
        credential_retry_cap_ms=4000,
    )

    refused = esp.wait_for(r"E: telemetry: credentials refused \(HTTP 403 invalid_token.*trying again in \d+ s")
    esp.wait_for_count(KEPT_OFFLINE, 2, after=refused.index)
    # Not a dead end: after the wait it asks /health first, then tries again.
    health = esp.wait_for(r"^D: GET \S+/health -> 200", after=refused.index, timeout=10)
    requests = esp.matches(REQUEST, after=refused.index + 1)
    assert requests and requests[0].index == health.index, "the first request after a refusal is /health"
    esp.wait_for(r"the server is up: trying the credentials again", after=health.index)
    again = esp.wait_for(r"credentials refused \(HTTP 403", after=health.index)

    fixed = esp.mark()
    esp.send(f"set token {device['device_token']}")
    esp.wait_for(r"^ok: token saved$", after=fixed)
    esp.wait_for(TELEMETRY_OK, after=fixed)
    esp.wait_for(r"uploaded \d+ buffered readings .*; 0 left", after=fixed)
    assert_in_server_history(live_server, device, esp.matches(KEPT_OFFLINE, after=refused.index, before=fixed))
    assert again.index < fixed

    # An id the server does not know is refused the same way, until corrected.
    moved = esp.mark()
    esp.send("set id " + "0" * 24)
    esp.wait_for(r"credentials refused \(HTTP 404", after=moved)
    corrected = esp.mark()
    esp.send(f"set id {device['device_id']}")
    esp.wait_for(r"^ok: device id saved$", after=corrected)
    back = esp.wait_for(TELEMETRY_OK, after=corrected)
    n = int(back["n"])
    wait_for_state(live_server.url, device["device_token"], lambda data: data.get("n", 0) >= n)
    # The token never appears in the log, not even in part.
    assert not esp.matches(re.escape(device["device_token"][4:-4]))


def test_readings_buffered_before_a_power_cut_arrive_after_the_restart(live_server, start_device, tmp_path):
    device = live_server.create_device(owner_email="fil-power-cut@example.com")
    flash = tmp_path / "flash.bin"
    esp = start_device(live_server, device, state=flash)
    before = esp.wait_for_count(TELEMETRY_OK, 2)
    boot = esp.wait_for(r"boot (?P<boot>[0-9a-f]{8}), next seq").match["boot"]

    down = esp.mark()
    live_server.stop()
    try:
        kept = esp.wait_for_count(KEPT_OFFLINE, 4, after=down)
        esp.kill()  # the power is cut with four readings in the buffer
    finally:
        live_server.start()

    restarted = start_device(live_server, device, state=flash, seed=8)  # a new boot: another random boot id
    restored = restarted.wait_for(r"boot (?P<boot>[0-9a-f]{8}), next seq (?P<seq>\d+), (?P<count>\d+) buffered readings restored")
    assert restored["boot"] != boot
    assert int(restored["count"]) >= 4
    assert int(restored["seq"]) > max(int(line["seq"]) for line in [*before, *kept])
    restarted.wait_for(r"uploaded \d+ buffered readings .*; 0 left", timeout=20)
    # Every reading kept before the cut is stored on the server: a second
    # upload of the same (device, ts) counts only duplicates.
    assert_in_server_history(live_server, device, kept)
    first = restarted.wait_for(TELEMETRY_OK)
    assert int(first["seq"]) >= int(restored["seq"])


def test_a_board_with_a_fleet_key_provisions_itself_and_reports_its_health(live_server, start_device):
    owner = live_server.create_user()
    with live_server.app.app_context():
        key, secret = provisioning.create_key(users.find_user(owner), "FIL fleet", 1)
        key_text = key.key
        db.session.remove()

    esp = start_device(live_server, {}, provisioning_key=key_text, provisioning_secret=secret, hardware_id="a4cf12345678")
    device_id = esp.wait_for(r"provisioned by the server as device (?P<id>[0-9a-f]{24})")["id"]
    report = esp.wait_for(TELEMETRY_OK)

    answer = requests.get(f"{live_server.url}/api/devices/{device_id}", headers={"Authorization": f"Bearer {live_server.api_token(owner)}"}, timeout=10)
    device = answer.json()
    assert device["owner"] == owner
    assert device["data"]["n"] >= int(report["n"])
    assert device["health"]["transport"] == "http" and device["health"]["reset_reason"] is not None
