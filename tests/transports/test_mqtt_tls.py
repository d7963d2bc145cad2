"""MQTT over TLS: `flask mqtt broker` with MQTT_TLS_PORT and a certificate made here by openssl; a device connects
with paho-mqtt over TLS with its own credentials and its telemetry is stored, while a plain connection to that port
gets nowhere; the port without its certificate is refused before Mosquitto starts."""
import threading

import pytest

from tests.conftest import settings_for_tests
from tests.deploy.proxy import make_certificate
from tests.mqtt_broker import PrivateBroker, device_client
from tests.transports.test_mqtt import stored_readings
from tests.waiting import wait_until
from webapp import create_app
from webapp.extensions import db
from webapp.models import User
from webapp.services.devices import registry as devices
from webapp.transports.mqtt.broker import BrokerSetupError, prepare_broker
from webapp.transports.mqtt.device_messages import DeviceMessages

WAIT = 20


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory, database_url, certificate):
    started = PrivateBroker(tmp_path_factory.mktemp("mosquitto-tls"), database_url, tls=certificate).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def tls_app(tls_broker, database_url, app):
    platform_app = create_app(settings_for_tests(database_url) | {"TESTING": True} | tls_broker.settings)
    messages = DeviceMessages(platform_app).start()
    yield platform_app
    messages.stop(retire=True)
    platform_app.extensions["broker"].close()


def new_device(tls_app, make_user):
    owner = make_user()
    with tls_app.app_context():
        device, token = devices.create_device(db.session.get(User, owner.id), "TLS ESP32")
        device_id = device.id
        db.session.remove()
    return device_id, token


class Connection:
    """A device's paho client connecting to `port`; `connected` or `dropped` is set by how the broker answers."""

    def __init__(self, broker, port, device_id, token, tls_ca=None):
        self.client = device_client(broker, device_id, token)
        if tls_ca is not None:
            self.client.tls_set(ca_certs=tls_ca)
        self.connected, self.dropped = threading.Event(), threading.Event()
        self.client.on_connect = lambda c, u, f, reason, p: (self.dropped if reason.is_failure else self.connected).set()
        self.client.on_disconnect = lambda c, u, f, reason, p: self.dropped.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def test_a_device_over_tls_has_its_telemetry_stored(tls_broker, tls_app, make_user, certificate):
    device_id, token = new_device(tls_app, make_user)
    connection = Connection(tls_broker, tls_broker.tls_port, device_id, token, tls_ca=certificate[0])
    try:
        assert connection.connected.wait(WAIT)
        published = connection.client.publish(f"devices/{device_id}/telemetry", b'{"data": {"temperature": 22.5}}', qos=1)
        published.wait_for_publish(WAIT)

        wait_until(lambda: stored_readings(tls_app, device_id) == [("temperature", "22.5")], "the reading sent over TLS stored", timeout=WAIT)
    finally:
        connection.close()


def test_a_plain_connection_to_the_tls_port_gets_nowhere(tls_broker, tls_app, make_user):
    device_id, token = new_device(tls_app, make_user)
    connection = Connection(tls_broker, tls_broker.tls_port, device_id, token)
    try:
        assert connection.dropped.wait(WAIT)
        assert not connection.connected.is_set()
    finally:
        connection.close()


def test_the_tls_port_without_its_certificate_is_refused_before_the_broker_starts(tls_broker, tmp_path):
    settings = tls_broker.settings | {"MQTT_TLS_CERTFILE": ""}

    with pytest.raises(BrokerSetupError, match="MQTT_TLS_CERTFILE is empty"):
        prepare_broker(settings, tmp_path)
    with pytest.raises(BrokerSetupError, match="MQTT_TLS_KEYFILE '.*missing.pem' is not a file"):
        prepare_broker(tls_broker.settings | {"MQTT_TLS_KEYFILE": str(tmp_path / "missing.pem")}, tmp_path)
    assert not (tmp_path / "mosquitto.conf").exists()
