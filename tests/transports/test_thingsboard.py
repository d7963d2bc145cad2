"""ThingsBoard's device HTTP API, driven by ThingsBoard's own Python client (TBHTTPDevice) against a real server.

The client runs in a virtualenv of its own (`make tb-client`) as a subprocess
(tests/transports/tb_device.py); the test acts on the server (a dashboard
toggle, a command) between its steps and checks through our own API.
"""
import hashlib
import json
import os
import queue
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from tests.dashboard.helpers import http_session
from tests.live_server import PASSWORD
from tests.waiting import wait_until
from webapp.core.clock import now_ms, parse_timestamp_ms
from webapp.extensions import db
from webapp.services.accounts import users
from webapp.services.devices import provisioning

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("tb_device.py")
TB_PYTHON = ROOT / ".venv-tb" / "bin" / "python"
DEADLINE = 15


@pytest.fixture(scope="session")
def tb_python():
    """The client's interpreter: `make tb-client` installs it once (idempotent), as `make test` does."""
    result = subprocess.run(["make", "-s", "tb-client"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"make tb-client failed:\n{result.stdout}\n{result.stderr}"
    return str(TB_PYTHON)


class TbDevice:
    """TBHTTPDevice in its subprocess: `call(op, …)` runs one step and returns its result; events come apart."""

    def __init__(self, python, cwd):
        # ThingsBoard's client stamps telemetry with local time taken as UTC: run it in UTC, as a server-side device would be.
        # It writes the firmware it downloads to its working directory, under the firmware's title.
        self.process = subprocess.Popen(
            [python, str(DRIVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ | {"TZ": "UTC"}, cwd=cwd
        )
        self.answers, self.events = queue.Queue(), queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            if not line.startswith("{"):
                continue  # not the driver's: something the client library itself printed
            message = json.loads(line)
            (self.events if "event" in message else self.answers).put(message)

    def call(self, op, **fields):
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        try:
            answer = self.answers.get(timeout=DEADLINE)
        except queue.Empty:
            raise AssertionError(f"the client did not finish {op} within {DEADLINE} s; stderr:\n{self.stderr()}") from None
        assert answer["op"] == op, answer
        return answer

    def result(self, op, **fields):
        answer = self.call(op, **fields)
        assert "error" not in answer, answer
        return answer["result"]

    def next_event(self, kind):
        try:
            event = self.events.get(timeout=DEADLINE)
        except queue.Empty:
            raise AssertionError(f"no {kind} event within {DEADLINE} s; stderr:\n{self.stderr()}") from None
        assert event["event"] == kind, event
        return event

    def stderr(self):
        self.process.kill()
        return self.process.stderr.read()[-3000:]

    def close(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture
def tb_device(tb_python, live_server, tmp_path):
    opened = []

    def open_device(token=None, chunk_size=0):
        device = TbDevice(tb_python, tmp_path)
        opened.append(device)
        if token is not None:
            device.result("open", host=live_server.url, token=token, chunk_size=chunk_size)
        return device

    yield open_device
    for device in opened:
        device.close()


def api(live_server, device, path, method="GET", **kwargs):
    token = live_server.api_token(device["owner_email"])
    response = requests.request(method, f"{live_server.url}/api/devices/{device['device_id']}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=DEADLINE, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def test_telemetry_and_attributes_go_through_ingest_into_the_state(live_server, tb_device):
    device = live_server.create_device()
    client = tb_device(device["device_token"])

    assert client.result("connect") is True
    client.result("send_telemetry", values={"temperature": 21.5, "humidity": 40})
    client.result("send_attributes", attributes={"firmware": "tb-1.0", "ready": True})

    state = api(live_server, device, "")
    assert state["status"] == "online"
    assert state["data"] == {"temperature": 21.5, "humidity": 40, "firmware": "tb-1.0", "ready": True}


def test_queued_telemetry_keeps_the_time_the_client_stamped(live_server, tb_device):
    device = live_server.create_device()
    client = tb_device(device["device_token"])
    client.result("connect")
    before = now_ms()

    client.result("send_telemetry", values={"n": 7}, queued=True)

    wait_until(lambda: api(live_server, device, "")["data"].get("n") == 7, "the queued reading is stored")
    (point,) = api(live_server, device, "/history", params={"key": "n"})["points"]
    # Stamped by the client in milliseconds, to the millisecond: not the server's own strictly increasing time.
    assert before - 2000 <= parse_timestamp_ms(point["t"]) <= now_ms()


def test_request_attributes_answers_client_and_shared(live_server, tb_device):
    device = live_server.create_device()
    client = tb_device(device["device_token"])
    client.result("send_attributes", attributes={"mode": "eco", "v0": 0})
    api(live_server, device, "/pins/v0", method="PUT", json={"value": 1})

    answer = client.result("request_attributes", client_keys=["mode", "missing"], shared_keys=["v0"])

    assert answer == {"client": {"mode": "eco"}, "shared": {"v0": 1}}


def test_an_attribute_subscription_sees_a_dashboard_toggle(live_server, tb_device):
    device = live_server.create_device()
    client = tb_device(device["device_token"])
    client.result("request_attributes")
    client.result("subscribe", endpoint="attributes")
    browser, csrf, _ = http_session(live_server.url, device["owner_email"], PASSWORD)
    hx = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    added = browser.post(f"{live_server.url}/devices/{device['device_id']}/widgets", data={"kind": "switch", "label": "Lamp", "key": "v3"}, headers=hx)
    widget_id = added.text.split('id="widget-', 1)[1].split('"', 1)[0]

    assert browser.post(f"{live_server.url}/devices/{device['device_id']}/widgets/{widget_id}/toggle", data={"value": "1"}, headers=hx).status_code == 200

    changes = [client.next_event("attributes")["changes"]]
    # Making the switch gave v3 a desired value (0) before the toggle set 1: the client may see both, in order.
    while changes[-1].get("v3") != 1:
        changes.append(client.next_event("attributes")["changes"])
    assert changes[-1] == {"v3": 1}


def test_an_rpc_subscription_answers_a_command(live_server, tb_device):
    device = live_server.create_device()
    client = tb_device(device["device_token"])
    client.result("subscribe", endpoint="rpc")

    command = api(live_server, device, "/commands", method="POST", json={"method": "setGpio", "params": {"pin": 23, "value": 1}})

    request = client.next_event("rpc")["request"]
    assert request == {"id": command["id"], "method": "setGpio", "params": {"pin": 23, "value": 1}}
    wait_until(lambda: api(live_server, device, f"/commands/{command['id']}")["status"] == "answered", "the reply is stored")
    # TBHTTPDevice replies with send_rpc(…, rpc_id=…), whose body is {"method", "params"}: stored as the result.
    assert api(live_server, device, f"/commands/{command['id']}")["result"] == {"method": "setGpio", "params": {"done": True, "echo": {"pin": 23, "value": 1}}}


def test_a_device_side_rpc_gets_the_server_time(live_server, tb_device):
    client = tb_device(live_server.create_device()["device_token"])
    before = now_ms()

    answer = client.call("send_rpc", method="getCurrentTime", params={})

    assert before <= answer["result"] <= now_ms()
    unknown = client.call("send_rpc", method="getWeather", params={})
    assert (unknown["error"], unknown["status"]) == ("HTTPError", 400)


def test_a_board_provisions_itself_and_sends_with_its_token(live_server, tb_device):
    owner_email = live_server.create_user()
    with live_server.app.app_context():
        key, secret = provisioning.create_key(users.find_user(owner_email), "TB fleet", 5)
        key_text = key.key
        db.session.remove()
    client = tb_device()

    token = client.result("provision", host=live_server.url, name="tb-board-1", key=key_text, secret=secret)
    again = tb_device().result("provision", host=live_server.url, name="tb-board-1", key=key_text, secret=secret)
    refused = tb_device().call("provision", host=live_server.url, name="tb-board-2", key=key_text, secret="wrong-secret-of-the-right-size")

    assert token != again
    assert refused["error"] == "TBProvisionFailure" and "NOT_FOUND" in refused["detail"]
    assert client.result("connect") is False  # its first token was replaced by the second provisioning
    fresh = tb_device(again)
    assert fresh.result("connect") is True
    fresh.result("send_telemetry", values={"booted": 1})


def test_a_firmware_update_check_finds_none_and_fails_nothing(live_server, tb_device):
    device = live_server.create_device()
    client = tb_device(device["device_token"])
    client.result("connect")

    assert client.result("get_firmware_update") is None


@pytest.mark.parametrize("chunk_size", [0, 4096, 7000])
def test_the_client_downloads_an_offered_update_in_chunks_and_its_states_finish_it(live_server, tb_device, tmp_path, chunk_size):
    device = live_server.create_device()
    image = bytes([0xE9]) + os.urandom(50_000 - 1)
    token = live_server.api_token(device["owner_email"])
    uploaded = requests.post(
        f"{live_server.url}/api/firmware",
        files={"file": ("fw.bin", image)},
        data={"title": "tb-fw", "version": "2.0"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=DEADLINE,
    )
    api(live_server, device, "/ota", method="POST", json={"firmware_id": uploaded.json()["id"]})
    client = tb_device(device["device_token"], chunk_size=chunk_size)
    client.result("connect")

    shared = client.result("request_attributes", client_keys=[], shared_keys=["fw_title", "fw_version", "fw_size", "fw_checksum", "fw_checksum_algorithm"])["shared"]
    client.result("get_firmware_update")

    assert shared == {"fw_title": "tb-fw", "fw_version": "2.0", "fw_size": len(image), "fw_checksum": hashlib.sha256(image).hexdigest(), "fw_checksum_algorithm": "SHA256"}
    assert (tmp_path / "tb-fw").read_bytes() == image
    # The client queues its fw_state readings and sends them from a thread of its own.
    wait_until(lambda: api(live_server, device, "/ota")["update"]["status"] == "booted", "the client's UPDATED finishes the update")
    assert "fw_title" not in client.result("request_attributes", client_keys=[], shared_keys=["fw_title"])["shared"], "a finished update is no longer on offer"


def test_a_wrong_token_is_401(live_server, tb_device):
    client = tb_device("not-a-device-token-at-all")

    assert client.result("connect") is False
    refused = client.call("send_attributes", attributes={"a": 1})
    assert (refused["error"], refused["status"]) == ("HTTPError", 401)


def test_the_server_refuses_values_it_cannot_store_with_400(live_server):
    device = live_server.create_device()

    response = requests.post(f"{live_server.url}/api/v1/{device['device_token']}/telemetry", json={"nested": {"a": 1}}, timeout=DEADLINE)

    assert response.status_code == 400
    assert response.json()["status"] == 400 and "nested" in response.json()["message"]


def test_an_rpc_reply_json_cannot_hold_is_400_and_the_command_still_waits(live_server):
    device = live_server.create_device()
    command = api(live_server, device, "/commands", method="POST", json={"method": "read", "params": {}})

    refused = requests.post(
        f"{live_server.url}/api/v1/{device['device_token']}/rpc/{command['id']}", data='{"big": 18446744073709551616}', timeout=DEADLINE
    )

    assert refused.status_code == 400 and refused.json()["status"] == 400
    assert api(live_server, device, f"/commands/{command['id']}")["status"] == "queued"
