"""MQTT in a real gunicorn + gevent worker: its subscriber starts with the worker (workers/background.py), stores what
a device publishes, and pushes a toggle made through the API to the device as retained state."""
import orjson
import pytest
import requests

from tests.conftest import settings_for_tests
from tests.live_server import LiveServer
from tests.mqtt_broker import PrivateBroker
from tests.transports.test_mqtt import Session
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def server_and_broker(tmp_path_factory):
    broker = PrivateBroker(tmp_path_factory.mktemp("mosquitto"))
    server = LiveServer(tmp_path_factory.mktemp("live"), settings_for_tests("") | broker.settings)
    broker.database_url = server.db_url
    broker.start()
    server.start()
    yield server, broker
    server.close()
    broker.stop()


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
