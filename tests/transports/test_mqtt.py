"""Devices over MQTT, through a real Mosquitto (the repository's configuration, started by `flask mqtt broker`) with
real paho-mqtt clients: accounts kept in step with the devices, the ACL, telemetry stored by the same ingest as over
HTTP, refusals on the errors topic, a toggle pushed as retained state, presence from the status topic."""
import io
import os
import queue
import threading
import uuid

import orjson
import paho.mqtt.client as paho
import pytest
from sqlalchemy import func, select

from tests.dashboard.helpers import log_in
from tests.mqtt_broker import PrivateBroker, device_client
from webapp.extensions import db
from webapp.models import Device, Reading, User
from webapp.pubsub.broker import current_broker
from webapp.pubsub.channels import device_channel
from webapp.pubsub.mqtt import platform_connection
from webapp.services.devices import broker_accounts, state
from webapp.services.devices import registry as devices
from webapp.services.ota import images, updates
from webapp.transports.mqtt.device_messages import DeviceMessages

WAIT = 20


@pytest.fixture(scope="module")
def broker(tmp_path_factory, database_url):
    started = PrivateBroker(tmp_path_factory.mktemp("mosquitto"), database_url).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def platform(broker, database_url, app):
    """The app on the broker and its subscriber to devices' messages (`platform["messages"]`, which a test may replace)."""
    from tests.conftest import settings_for_tests
    from webapp import create_app

    mqtt_app = create_app(settings_for_tests(database_url) | {"TESTING": True} | broker.settings)
    running = {"app": mqtt_app, "messages": DeviceMessages(mqtt_app).start()}
    yield running
    running["messages"].stop(retire=True)
    mqtt_app.extensions["broker"].close()


@pytest.fixture
def mqtt_app(platform):
    return platform["app"]


@pytest.fixture
def owner(mqtt_app, test_password_hash):
    with mqtt_app.app_context():
        user = User(email=f"mqtt-{uuid.uuid4().hex[:10]}@example.com", password_hash=test_password_hash, created_ms=0)
        db.session.add(user)
        db.session.commit()
        owner_id = user.id
        db.session.remove()
    return owner_id


@pytest.fixture
def make_device(mqtt_app, owner):
    def make():
        with mqtt_app.app_context():
            device, token = devices.create_device(db.session.get(User, owner), "MQTT ESP32")
            return device.id, token

    return make


class Session:
    """A device's MQTT connection, with what it heard: connection results, messages, publish and subscribe answers."""

    def __init__(self, broker, username, password, client_id=None):
        self.client = device_client(broker, username, password, client_id)
        self.connects, self.disconnects, self.messages = queue.Queue(), queue.Queue(), queue.Queue()
        self.acks, self.subacks = {}, {}
        self.acked = threading.Condition()
        self.client.on_connect = lambda c, u, f, reason, p: self.connects.put(reason)
        self.client.on_disconnect = lambda c, u, f, reason, p: self.disconnects.put(reason)
        self.client.on_message = lambda c, u, message: self.messages.put((message.topic, message.payload, message.retain))
        self.client.on_publish = self._answered(self.acks)
        self.client.on_subscribe = lambda c, u, mid, reasons, p: self._answered(self.subacks)(c, u, mid, reasons, p)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def _answered(self, answers):
        def record(client, userdata, mid, reason, properties):
            with self.acked:
                answers[mid] = reason
                self.acked.notify_all()

        return record

    def connected(self):
        return not self.connects.get(timeout=WAIT).is_failure

    def publish(self, leaf, payload, device_id=None, retain=False):
        """The broker's answer to a QoS 1 publish on devices/<device_id or own>/<leaf>."""
        topic = f"devices/{device_id or self.client._username.decode()}/{leaf}"
        mid = self.client.publish(topic, orjson.dumps(payload) if isinstance(payload, dict) else payload, qos=1, retain=retain).mid
        return self._await(self.acks, mid)

    def subscribe(self, topic):
        """The broker's answer (granted QoS, or a refusal) to subscribing to `topic`."""
        return self._await(self.subacks, self.client.subscribe(topic, qos=1)[1])[0]

    def next_message(self, topic):
        while True:
            heard = self.messages.get(timeout=WAIT)
            if heard[0] == topic:
                return heard

    def _await(self, answers, mid):
        with self.acked:
            assert self.acked.wait_for(lambda: mid in answers, timeout=WAIT)
            return answers.pop(mid)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def connect(broker):
    sessions = []

    def open_session(username, password, client_id=None):
        sessions.append(Session(broker, username, password, client_id))
        return sessions[-1]

    yield open_session
    for session in sessions:
        session.close()


def stored_readings(mqtt_app, device_id):
    with mqtt_app.app_context():
        rows = db.session.execute(select(Reading.key, Reading.value).where(Reading.device_id == device_id).order_by(Reading.ts_ms)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def device_events(mqtt_app, device_id):
    """The app's events for one device (what dashboards hear): a subscription to read with .get(timeout)."""
    with mqtt_app.app_context():
        return current_broker().subscribe([device_channel(device_id)])


def next_event(subscription, kind):
    while True:
        message = subscription.get(timeout=WAIT)
        assert message is not None, f"no {kind} event within {WAIT} s"
        if message[1].get("type") == kind:
            return message[1]


def test_the_broker_refuses_anonymous_clients_and_wrong_tokens(broker, make_device, connect):
    device_id, token = make_device()

    assert not connect("", "").connected()
    assert not connect(device_id, "not-the-token").connected()
    assert connect(device_id, token).connected()


def test_a_device_must_use_its_id_as_client_id(make_device, connect):
    device_id, token = make_device()

    assert not connect(device_id, token, client_id="another-client-id").connected()


def test_telemetry_is_stored_by_the_same_ingest_as_over_http(mqtt_app, make_device, connect):
    device_id, token = make_device()
    session = connect(device_id, token)
    assert session.connected()
    events = device_events(mqtt_app, device_id)

    assert session.publish("telemetry", {"data": {"temperature": 21.5, "led": True}, "seq": 1, "boot": "0000b007"}).value == 0

    assert next_event(events, "state")["data"] == {"temperature": 21.5, "led": True}
    assert sorted(stored_readings(mqtt_app, device_id)) == [("led", "true"), ("temperature", "21.5")]


def test_a_repeated_reading_is_stored_once(mqtt_app, make_device, connect):
    device_id, token = make_device()
    session = connect(device_id, token)
    assert session.connected()
    session.subscribe(f"devices/{device_id}/errors")
    events = device_events(mqtt_app, device_id)

    for _ in range(2):
        session.publish("telemetry", {"data": {"count": 1}, "seq": 5, "boot": "0000b001"})
    session.publish("telemetry/batch", {"records": [{"ts": 1_700_000_000, "data": {"count": 2}}, {"ts": 1_700_000_000, "data": {"count": 2}}]})
    session.publish("telemetry/batch", {"records": [{"ts": 1_700_000_000, "data": {"count": 2}}]})
    session.publish("telemetry", {"data": {"count": 3}})

    while next_event(events, "state")["data"] != {"count": 3}:
        pass
    assert sorted(stored_readings(mqtt_app, device_id)) == [("count", "1"), ("count", "2"), ("count", "3")]


def test_a_refused_reading_is_told_on_the_errors_topic(mqtt_app, make_device, connect):
    device_id, token = make_device()
    session = connect(device_id, token)
    assert session.connected()
    assert session.subscribe(f"devices/{device_id}/errors") == 1

    session.publish("telemetry", {"data": "not an object", "seq": 3, "boot": "0000b003"})
    _, payload, _ = session.next_message(f"devices/{device_id}/errors")
    assert orjson.loads(payload)["error"] == "invalid_request"
    assert orjson.loads(payload)["readings"] == [["0000b003", 3]]  # the device drops it: sent again, it would fail again

    session.publish("telemetry", b"{not json")
    assert orjson.loads(session.next_message(f"devices/{device_id}/errors")[1])["error"] == "invalid_request"
    assert stored_readings(mqtt_app, device_id) == []


def test_messages_arriving_together_are_stored_in_the_order_sent_and_a_bad_one_refused_alone(mqtt_app, make_device, connect):
    devices = [make_device() for _ in range(3)]
    sessions = [connect(device_id, token) for device_id, token in devices]
    assert all(session.connected() for session in sessions)
    sessions[1].subscribe(f"devices/{devices[1][0]}/errors")
    events = device_events(mqtt_app, devices[2][0])

    # Published without waiting for the broker's answers: the platform takes them together.
    for count in range(30):
        for session in sessions:
            payload = b"{not json" if session is sessions[1] and count == 10 else orjson.dumps({"data": {"count": count}})
            session.client.publish(f"devices/{session.client._username.decode()}/telemetry", payload, qos=1)

    while next_event(events, "state")["data"] != {"count": 29}:
        pass
    assert orjson.loads(sessions[1].next_message(f"devices/{devices[1][0]}/errors")[1])["error"] == "invalid_request"
    assert stored_readings(mqtt_app, devices[0][0]) == [("count", str(count)) for count in range(30)]
    assert stored_readings(mqtt_app, devices[1][0]) == [("count", str(count)) for count in range(30) if count != 10]


def test_a_rate_limited_device_is_told_how_long_to_wait(make_app, broker, make_device, connect):
    limited = make_app(**broker.settings, RATELIMIT_DEVICE="1 per 60 seconds")
    messages = DeviceMessages(limited).start()
    try:
        with limited.app_context():
            device, token = devices.create_device(db.session.get(User, db.session.scalar(select(func.min(User.id)))), "limited")
            device_id = device.id
        session = connect(device_id, token)
        assert session.connected()
        session.subscribe(f"devices/{device_id}/errors")
        # Both workers share the subscription: the limited one may take either reading, so send until it refuses one.
        for count in range(20):
            session.publish("telemetry", {"data": {"n": count}, "seq": count, "boot": "0000aaaa"})
            try:
                error = orjson.loads(session.messages.get(timeout=0.5)[1])
                break
            except queue.Empty:
                continue
        assert error["error"] == "rate_limited"
        assert 1 <= error["retry_after"] <= 60
        assert error["readings"] == [["0000aaaa", count]]  # which reading to send again once the wait is over
    finally:
        messages.stop(retire=True)


def test_readings_sent_while_the_platform_is_away_are_stored_when_it_is_back(platform, make_device, connect):
    device_id, token = make_device()
    session = connect(device_id, token)
    assert session.connected()
    platform["messages"].stop()

    for count in range(5):
        assert session.publish("telemetry", {"data": {"count": count}, "seq": count, "boot": "0000abcd", "ts": 1_700_000_000 + count}).value == 0
    events = device_events(platform["app"], device_id)
    platform["messages"] = DeviceMessages(platform["app"]).start()

    while next_event(events, "state")["data"] != {"count": 4}:
        pass
    assert stored_readings(platform["app"], device_id) == [("count", str(count)) for count in range(5)]


def test_a_refused_update_report_holds_up_none_of_the_readings_before_it(platform, make_device, connect):
    device_id, token = make_device()
    session = connect(device_id, token)
    assert session.connected()
    assert session.subscribe(f"devices/{device_id}/errors") == 1
    platform["messages"].stop()

    # Handed over together once the platform is back: the reading is queued for storing before the report is refused.
    session.publish("telemetry", {"data": {"count": 1}})
    session.publish("ota/status", {"state": "verifying"})
    events = device_events(platform["app"], device_id)
    platform["messages"] = DeviceMessages(platform["app"]).start()

    assert orjson.loads(session.next_message(f"devices/{device_id}/errors")[1])["error"] == "conflict"  # no update in progress
    assert next_event(events, "state")["data"] == {"count": 1}


def test_a_device_reaches_only_its_own_topics(mqtt_app, make_device, connect):
    device_id, token = make_device()
    other_id, _ = make_device()
    session = connect(device_id, token)
    assert session.connected()

    assert session.publish("telemetry", {"data": {"x": 1}}, device_id=other_id).value == paho.ReasonCode(paho.PacketTypes.PUBACK, "Not authorized").value
    assert session.publish("ota/status", {"state": "verifying"}, device_id=other_id).is_failure
    assert session.publish("ota/status", {"state": "verifying"}).value == 0  # its own update's reports
    assert session.publish("state", {"data": {"led": True}}).is_failure  # only the platform sets a device's state
    assert session.subscribe(f"devices/{other_id}/state").is_failure
    assert session.subscribe("devices/+/telemetry").is_failure
    assert session.subscribe("#").is_failure
    assert session.subscribe(f"devices/{device_id}/state").value == 1
    assert session.subscribe(f"devices/{device_id}/ota").value == 1
    assert session.subscribe(f"devices/{other_id}/stored").is_failure  # another device's receipts
    assert session.subscribe(f"devices/{device_id}/stored").value == 1
    assert session.publish("stored", {"stored": [["0000b007", 1]]}).is_failure  # only the platform gives receipts
    assert stored_readings(mqtt_app, other_id) == []


def test_a_toggle_reaches_the_device_and_stays_retained_for_the_next_connection(mqtt_app, make_device, connect):
    device_id, token = make_device()
    session = connect(device_id, token)
    assert session.connected()
    session.subscribe(f"devices/{device_id}/state")

    with mqtt_app.app_context():
        state.set_desired(device_id, "led", True)
        db.session.remove()

    _, payload, _ = session.next_message(f"devices/{device_id}/state")
    assert orjson.loads(payload)["data"] == {"led": True}
    session.close()

    later = connect(device_id, token)
    assert later.connected()
    later.subscribe(f"devices/{device_id}/state")
    _, payload, retained = later.next_message(f"devices/{device_id}/state")
    assert retained and orjson.loads(payload)["data"] == {"led": True}


def test_an_update_is_offered_retained_on_the_ota_topic_and_taken_back_when_cancelled(mqtt_app, owner, make_device, connect):
    device_id, token = make_device()
    with mqtt_app.app_context():
        image = images.store_image(db.session.get(User, owner), io.BytesIO(bytes([0xE9]) + os.urandom(4095)), "sensor-fw", "2.0.0")
        sha256 = image.sha256
        updates.assign(device_id, image)
        db.session.remove()

    # Connected after the offer: the broker kept it.
    session = connect(device_id, token)
    assert session.connected()
    session.subscribe(f"devices/{device_id}/ota")
    _, payload, retained = session.next_message(f"devices/{device_id}/ota")
    assert retained
    assert orjson.loads(payload) == {"title": "sensor-fw", "version": "2.0.0", "size": 4096, "sha256": sha256, "url": f"/devices/{device_id}/firmware/{sha256}"}

    with mqtt_app.app_context():
        updates.cancel(device_id)
        db.session.remove()
    # Cancelled: an empty retained message takes the offer back, and a later connection hears none.
    _, payload, _ = session.next_message(f"devices/{device_id}/ota")
    assert payload == b""
    session.close()
    later = connect(device_id, token)
    later.subscribe(f"devices/{device_id}/ota")
    later.subscribe(f"devices/{device_id}/state")
    with mqtt_app.app_context():
        state.set_desired(device_id, "led", True)
        db.session.remove()
    # The broker sends what it retained on a subscription before anything published after it.
    heard = [later.messages.get(timeout=WAIT)[0]]
    while heard[-1] != f"devices/{device_id}/state":
        heard.append(later.messages.get(timeout=WAIT)[0])
    assert f"devices/{device_id}/ota" not in heard


def test_a_new_token_refuses_the_old_one_and_drops_the_open_session(mqtt_app, make_device, connect):
    device_id, token = make_device()
    session = connect(device_id, token)
    assert session.connected()

    with mqtt_app.app_context():
        new_token = devices.rotate_device_token(db.session.get(Device, device_id))
        db.session.remove()

    session.disconnects.get(timeout=1)  # dropped within a second
    session.close()
    assert not connect(device_id, token).connected()
    assert connect(device_id, new_token).connected()


def test_a_deleted_device_can_no_longer_connect(mqtt_app, make_device, connect):
    device_id, token = make_device()

    with mqtt_app.app_context():
        devices.delete_device(db.session.get(Device, device_id))
        db.session.remove()

    assert not connect(device_id, token).connected()


def test_presence_follows_the_status_topic_and_the_last_will(mqtt_app, owner, make_device, connect):
    device_id, token = make_device()
    events = device_events(mqtt_app, device_id)
    browser = mqtt_app.test_client()
    with mqtt_app.app_context():
        log_in(browser, db.session.get(User, owner).email)
        db.session.remove()
    assert f'id="transport-{device_id}"></span>' in browser.get(f"/devices/{device_id}").get_data(as_text=True)  # never seen: no transport
    session = connect(device_id, token)
    assert session.connected()

    session.publish("status", b"online", retain=True)
    assert next_event(events, "status")["status"] == "online"
    assert "over MQTT" in browser.get(f"/devices/{device_id}").get_data(as_text=True)
    assert "over MQTT" in browser.get("/").get_data(as_text=True)

    # Gone without a word (no DISCONNECT, and no reconnection): the broker publishes its last will.
    session.client.loop_stop()
    session.client.socket().close()
    assert next_event(events, "status")["status"] == "offline"
    with mqtt_app.app_context():
        assert db.session.get(Device, device_id).status == "offline"
        db.session.remove()


def test_reconcile_removes_accounts_of_devices_that_are_gone(mqtt_app, broker, connect):
    stray = uuid.uuid4().hex[:24]
    with mqtt_app.app_context():
        platform_connection(mqtt_app.config).control(
            [{"command": "createClient", "username": stray, "clientid": stray, "password": "stray-token"}]
        )
        assert connect(stray, "stray-token").connected()

        gone, _ = broker_accounts.reconcile()

    assert stray in gone
    assert not connect(stray, "stray-token").connected()


def test_a_restarted_broker_knows_every_device_from_the_database(broker, make_device, connect):
    device_id, token = make_device()
    broker.stop()
    broker.start()

    assert connect(device_id, token).connected()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"MQTT_URL": ""}, "MQTT_URL is empty"),
        ({"MQTT_URL": "http://127.0.0.1:1883", "MQTT_ADMIN_PASSWORD": "x"}, "is not mqtt://host[:port]"),
        ({"MQTT_URL": "mqtt://127.0.0.1:1883", "MQTT_ADMIN_PASSWORD": ""}, "MQTT_ADMIN_PASSWORD is empty"),
    ],
)
def test_the_broker_command_says_what_is_missing(make_app, tmp_path, settings, message):
    result = make_app(**settings).test_cli_runner().invoke(args=["mqtt", "broker", "--data-dir", str(tmp_path)])

    assert result.exit_code == 1
    assert message in result.output

