"""MQTT in a real gunicorn + gevent worker: its subscriber starts with the worker (workers/background.py), stores what
a device publishes and sends the device a receipt for it, pushes a toggle made through the API to the device as
retained state, takes a device's update reports, and the API and the live dashboard say which transport each device
last used."""
import os
import time

import orjson
import pytest
import requests

from tests.dashboard.test_live import Dashboard
from tests.mqtt_broker import platform_on_a_private_broker
from tests.transports.test_mqtt import Session
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def server_and_broker(tmp_path_factory):
    with platform_on_a_private_broker(tmp_path_factory) as running:
        yield running


def test_a_device_over_mqtt_talks_to_a_gunicorn_worker(server_and_broker):
    server, broker = server_and_broker
    device = server.create_device()
    headers = {"Authorization": f"Bearer {server.api_token(device['owner_email'])}"}
    session = Session(broker, device["device_id"], device["device_token"])
    try:
        assert session.connected()
        session.subscribe(f"devices/{device['device_id']}/state")
        device_url = f"{server.url}/api/devices/{device['device_id']}"

        assert session.publish("telemetry", {"data": {"temperature": 19.5}}).value == 0
        wait_until(lambda: requests.get(device_url, headers=headers, timeout=5).json()["data"].get("temperature") == 19.5, "the reading stored")

        assert requests.put(f"{device_url}/pins/led", json={"value": True}, headers=headers, timeout=5).status_code == 200
        _, payload, _ = session.next_message(f"devices/{device['device_id']}/state")
        assert orjson.loads(payload)["data"] == {"temperature": 19.5, "led": True}
    finally:
        session.close()


def test_numbered_readings_get_a_receipt_once_stored_a_repeat_too_and_are_stored_once(server_and_broker):
    server, broker = server_and_broker
    device = server.create_device()
    device_id = device["device_id"]
    headers = {"Authorization": f"Bearer {server.api_token(device['owner_email'])}"}
    session = Session(broker, device_id, device["device_token"])
    now = int(time.time())
    try:
        assert session.connected()
        assert session.subscribe(f"devices/{device_id}/stored") == 1

        reading = {"data": {"count": 1}, "seq": 7, "boot": "0000b007", "ts": now - 60}
        assert session.publish("telemetry", reading).value == 0
        assert _receipt(session, device_id) == {"stored": [["0000b007", 7]]}
        assert _history(server, device_id, headers) == [1]  # stored before the receipt went out

        session.publish("telemetry", reading)  # sent again: its receipt was lost, say
        assert _receipt(session, device_id) == {"stored": [["0000b007", 7]]}

        session.publish("telemetry", {"data": {"count": 2}, "ts": now - 50})  # not numbered: no receipt
        records = [{"ts": now - 40, "data": {"count": 3}, "seq": 8, "boot": "0000b007"}, {"ts": now - 30, "data": {"count": 4}},
                   {"ts": now - 60, "data": {"count": 1}, "seq": 7, "boot": "0000b007"}, {"ts": now - 20, "data": {"count": 5}, "seq": 9, "boot": "0000b007"}]
        session.publish("telemetry/batch", {"records": records})
        assert _receipt(session, device_id) == {"stored": [["0000b007", 8], ["0000b007", 7], ["0000b007", 9]]}
        assert _history(server, device_id, headers) == [1, 2, 3, 4, 5]  # each once
    finally:
        session.close()


def _receipt(session, device_id):
    return orjson.loads(session.next_message(f"devices/{device_id}/stored")[1])


def _history(server, device_id, headers):
    answer = requests.get(f"{server.url}/api/devices/{device_id}/history", params={"key": "count"}, headers=headers, timeout=5)
    return [point["value"] for point in answer.json()["points"]]


def test_a_device_reports_its_update_over_mqtt_and_a_bad_report_is_refused_on_its_errors_topic(server_and_broker):
    server, broker = server_and_broker
    device = server.create_device()
    device_id = device["device_id"]
    headers = {"Authorization": f"Bearer {server.api_token(device['owner_email'])}"}
    image = bytes([0xE9]) + os.urandom(4095)
    uploaded = requests.post(
        f"{server.url}/api/firmware", files={"file": ("firmware.bin", image)}, data={"title": "sensor-fw", "version": "2.0.0"}, headers=headers, timeout=5
    )
    assert uploaded.status_code == 201, uploaded.text
    offered = requests.post(f"{server.url}/api/devices/{device_id}/ota", json={"firmware_id": uploaded.json()["id"]}, headers=headers, timeout=5)
    assert offered.status_code == 201, offered.text
    session = Session(broker, device_id, device["device_token"])
    try:
        assert session.connected()
        session.subscribe(f"devices/{device_id}/errors")

        for report, expected in (
            ({"state": "downloading", "bytes": 2048}, {"status": "downloading", "bytes": 2048}),
            ({"state": "verifying"}, {"status": "verifying", "bytes": 2048}),
            ({"state": "applied"}, {"status": "applied", "bytes": 4096}),
            ({"state": "booted", "version": "2.0.0"}, {"status": "booted", "bytes": 4096}),
        ):
            assert session.publish("ota/status", report).value == 0
            wait_until(lambda expected=expected: _latest_update(server, device_id, headers) == expected, f"the update {expected['status']}")

        session.publish("ota/status", {"state": "downloading"})
        error = orjson.loads(session.next_message(f"devices/{device_id}/errors")[1])
        assert error == {"error": "invalid_request", "message": error["message"], "readings": []} and "bytes" in error["message"]
        session.publish("ota/status", {"state": "verifying"})
        assert orjson.loads(session.next_message(f"devices/{device_id}/errors")[1])["error"] == "conflict"  # booted: none in progress
        assert _latest_update(server, device_id, headers) == {"status": "booted", "bytes": 4096}
    finally:
        session.close()


def _latest_update(server, device_id, headers):
    update = requests.get(f"{server.url}/api/devices/{device_id}/ota", headers=headers, timeout=5).json()["update"]
    return {"status": update["status"], "bytes": update["bytes"]}


def test_the_api_and_the_live_dashboard_show_the_transport_a_device_last_used(server_and_broker):
    server, broker = server_and_broker
    device = server.create_device()
    device_id = device["device_id"]
    headers = {"Authorization": f"Bearer {server.api_token(device['owner_email'])}"}
    device_url = f"{server.url}/api/devices/{device_id}"
    dashboard = Dashboard(server.url, device["owner_email"], f"?device={device_id}")
    session = None
    try:
        assert f'id="transport-{device_id}" hx-swap-oob="true"></span>' in dashboard.snapshot  # never seen yet
        assert requests.get(device_url, headers=headers, timeout=5).json()["transport"] is None

        _post_telemetry(server, device, {"temperature": 20})
        dashboard.receive_until(f'id="transport-{device_id}" hx-swap-oob="true">over HTTP</span>')
        assert requests.get(device_url, headers=headers, timeout=5).json()["transport"] == "http"

        session = Session(broker, device_id, device["device_token"])
        assert session.connected()
        assert session.publish("telemetry", {"data": {"temperature": 21}}).value == 0
        dashboard.receive_until(f'id="transport-{device_id}" hx-swap-oob="true">over MQTT</span>')
        assert requests.get(device_url, headers=headers, timeout=5).json()["transport"] == "mqtt"

        _post_telemetry(server, device, {"temperature": 22})
        dashboard.receive_until(f'id="transport-{device_id}" hx-swap-oob="true">over HTTP</span>')
        assert requests.get(device_url, headers=headers, timeout=5).json()["transport"] == "http"
    finally:
        dashboard.close()
        if session is not None:
            session.close()


def _post_telemetry(server, device, data):
    response = requests.post(f"{server.url}/devices/{device['device_id']}/telemetry", json={"device_token": device["device_token"], "data": data}, timeout=5)
    assert response.status_code == 200, response.text
