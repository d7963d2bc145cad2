"""Firmware in the loop over MQTT: the firmware's core, built for the host with libmosquitto, runs as a device against a
private Mosquitto configured for the platform (tests/mqtt_broker.py) and a real server subscribed to it, and is checked
through the server's API and database. The device's log (its serial output) tells the test when to look.

The broker restart is the whole of it: the connection dies with the broker, connecting fails and backs off, readings
go to the offline buffer, and the device comes back as soon as the broker is up again, racing the platform's
resubscription (Debian's Mosquitto 2.0.11 does not restore the platform's shared subscription, so what devices publish
before the platform subscribes again is acknowledged to them and dropped: docs/MQTT.md). A reading leaves the device
only on the platform's receipt, so those go up again once their receipt is overdue."""

import re
import time

import orjson
import pytest
from sqlalchemy import select

from tests.mqtt_broker import platform_on_a_private_broker
from tests.waiting import wait_until
from webapp.extensions import db
from webapp.models import Device, Reading

from .host_device import set_pin, wait_for_state
from .tcp_gate import TcpGate

# `seq` is the reading's sequence number, `n` the host sensor's count of this run's readings (a data key).
SENT = r"I: telemetry stored seq (?P<seq>\d+): v0=(?P<v0>\d) v1=(?P<v1>\d) n=(?P<n>\d+)"
PUBLISHED = r"D: MQTT: published seq (?P<seq>\d+) as message \d+: .*n=(?P<n>\d+)"
KEPT = r"kept offline: ts=\S+ seq (?P<seq>\d+): .*n=(?P<n>\d+)"
OVERDUE = r"W: telemetry: no receipt for (seq (?P<seq>\d+)|a batch)"
DRAINED = r"uploaded \d+ buffered readings \(receipt\); 0 left"
CONNECTED = r"I: MQTT: connected to 127\.0\.0\.1:\d+ as "
BACKOFF = r"MQTT: broker unavailable \(.*\); backing off (?P<ms>\d+) ms"

# Faster than the FIL tests over HTTP need: a reading every 300 ms keeps readings in flight while the broker goes away;
# receipts overdue after 3 s rather than 30 (in proportion).
MQTT_SETTINGS = {"telemetry_ms": 300, "backoff_base_ms": 200, "backoff_cap_ms": 1600, "batch": 5, "mqtt_receipt_timeout_ms": 3000}


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with platform_on_a_private_broker(tmp_path_factory) as running:
        yield running


def buffer_empty(esp):
    """The device's last upload from its offline buffer left nothing, and nothing was kept since."""
    kept, drained = esp.matches(KEPT), esp.matches(DRAINED)
    return bool(drained) and (not kept or drained[-1].index > kept[-1].index)


def stored_values(server, device_id, key):
    with server.app.app_context():
        rows = db.session.scalars(select(Reading.num).where(Reading.device_id == device_id, Reading.key == key).order_by(Reading.ts_ms)).all()
        db.session.remove()
    return rows


def stored_counts(server, device_id):
    """The `n` of every reading the server stored for the device, in time order (a repeat would show twice)."""
    return [int(n) for n in stored_values(server, device_id, "n")]


def stored_seq_runs(server, device_id, boot):
    """The runs of seq numbers the server recorded for the device's boot (services/ingest/reading_numbers.py)."""
    with server.app.app_context():
        numbers = db.session.get(Device, device_id).reading_numbers
        db.session.remove()
    return orjson.loads(numbers)[boot][1]


def test_a_toggle_reaches_the_led_over_mqtt_and_a_broker_restart_loses_and_repeats_nothing(platform, start_device):
    server, broker = platform
    owner = "fil-mqtt@example.com"
    device = server.create_device(owner_email=owner)
    api_token = server.api_token(owner)
    gate = TcpGate(broker.port)
    esp = start_device(server, device, mqtt_url=f"mqtt://127.0.0.1:{gate.port}", **MQTT_SETTINGS)
    boot = esp.wait_for(r"boot (?P<boot>[0-9a-f]{8}), next seq")["boot"]
    esp.wait_for(CONNECTED)
    esp.wait_for_count(SENT, 3)

    # A toggle through the owner API: pushed as retained state, applied to the LED, reported back.
    for value, level in ((1, "HIGH"), (0, "LOW")):
        before = esp.mark()
        toggled = time.monotonic()
        set_pin(server.url, api_token, device["device_id"], "v0", value)
        applied = esp.wait_for(rf"applied v0={value} \(gpio 2\) from mqtt", after=before, timeout=5)
        esp.wait_for(rf"^gpio 2 -> {level}$", after=before, timeout=1)
        print(f"toggle -> LED over MQTT: {(time.monotonic() - toggled) * 1000:.0f} ms")
        report = esp.wait_for(SENT, after=applied.index, timeout=5)
        assert report["v0"] == str(value)
        n = int(report["n"])
        state = wait_for_state(server.url, device["device_token"], lambda data, n=n: data.get("n", 0) >= n)
        assert state["v0"] == value

    # The broker's answers (PUBACKs, receipts) stop reaching the device: what it publishes now arrives, and it cannot know.
    swallowed = esp.mark()
    gate.answers_pass = False
    esp.wait_for_count(PUBLISHED, 3, after=swallowed)
    # Then the broker goes away while the device keeps measuring, and comes back on the same port and data directory.
    down = esp.mark()
    broker.stop()
    gate.answers_pass = True
    try:
        esp.wait_for_count(BACKOFF, 3, after=down)
        esp.wait_for_count(KEPT, 6, after=down)
    finally:
        broker.start()
    back = esp.wait_for(CONNECTED, after=down, timeout=20)
    receipted = esp.wait_for(SENT, after=back.index, timeout=30)  # the platform has subscribed again
    taken = max(int(line["n"]) for line in esp.matches(PUBLISHED, before=receipted.index) + esp.matches(KEPT, before=receipted.index))
    # Every reading taken until then, across the restart, is stored: those published before the outage whose receipt
    # was swallowed, those buffered while the broker was away, those published before the platform subscribed again.
    wait_until(lambda: set(range(1, taken + 1)) <= set(stored_counts(server, device["device_id"])), "every reading taken stored", timeout=30)
    wait_until(lambda: buffer_empty(esp), "the device's offline buffer empty", timeout=20)
    esp.wait_for_count(SENT, 3, after=esp.mark())
    esp.stop()
    gate.close()

    measured = {int(line["n"]) for line in esp.matches(PUBLISHED) + esp.matches(KEPT)}
    assert measured == set(range(1, max(measured) + 1)), "the device itself skipped no reading"
    stored = stored_counts(server, device["device_id"])
    assert len(stored) == len(set(stored)), "a reading was stored twice"
    lost = sorted(set(range(1, taken + 1)) - set(stored))
    assert not lost, f"lost: {lost}; the device's log:\n" + esp.tail(80)
    kept = esp.matches(KEPT, after=down)
    published_before = {line["seq"] for line in esp.matches(PUBLISHED, after=swallowed, before=down)}
    resent = [line for line in kept if line["seq"] in published_before]  # published, the receipt lost with the broker
    assert len(resent) >= 3, "the readings whose receipt was swallowed went up again"
    overdue = esp.matches(OVERDUE, after=back.index)
    print(f"broker restart: {len(kept)} readings buffered ({len(resent)} of them published before, unreceipted), "
          f"{len(overdue)} readings or batches resent after their receipt was overdue (published before the platform subscribed again), "
          f"{taken} taken across the restart, {len(stored)} stored, {len(lost)} lost, {len(stored) - len(set(stored))} duplicated")

    # The server's record of the boot's seq numbers: one unbroken run from the first reading past the restart.
    seqs = sorted(int(line["seq"]) for line in esp.matches(PUBLISHED) + esp.matches(KEPT))
    last_taken_seq = max(int(line["seq"]) for line in esp.matches(PUBLISHED) + esp.matches(KEPT) if int(line["n"]) == taken)
    runs = stored_seq_runs(server, device["device_id"], boot)
    assert runs[0][0] == seqs[0] and runs[0][1] >= last_taken_seq, runs


def test_refused_credentials_wait_on_the_long_backoff_and_a_token_from_the_console_connects(platform, start_device):
    server, broker = platform
    device = server.create_device()
    # A short "long" backoff (2 s, then 4 s) keeps the test quick; the device's is 1 min to 1 h.
    esp = start_device(
        server,
        {"device_id": device["device_id"], "device_token": "W" * 43},
        mqtt_url=broker.url,
        credential_retry_base_ms=2000,
        credential_retry_cap_ms=4000,
        **MQTT_SETTINGS,
    )
    refused = esp.wait_for(r"E: MQTT: credentials refused \(.+\); trying again in \d+ s")
    # Not a dead end: the same credentials again after the long wait, still measuring meanwhile, and no attempt between.
    again = esp.wait_for(r"E: MQTT: credentials refused", after=refused.index + 1, timeout=10)
    assert len(esp.matches(r"^D: MQTT: connecting to", after=refused.index, before=again.index)) == 1
    assert len(esp.matches(KEPT, after=refused.index, before=again.index)) >= 3  # ≥ 1 s of readings at 300 ms

    fixed = esp.mark()
    esp.send(f"set token {device['device_token']}")
    esp.wait_for(r"^ok: token saved$", after=fixed)
    esp.wait_for(CONNECTED, after=fixed)
    drained = esp.wait_for(DRAINED, after=fixed)
    kept = sorted(int(line["n"]) for line in esp.matches(KEPT, before=drained.index))
    wait_until(lambda: set(kept) <= set(stored_counts(server, device["device_id"])), "the readings kept while refused stored", timeout=20)
    # The token never appears in the log, not even in part.
    assert not esp.matches(re.escape(device["device_token"][4:-4]))
