"""The platform's own connection to the MQTT broker (MQTT_URL), as MQTT_ADMIN_USER: one per process.

Services publish through it (a device's retained state) and send the
broker's dynamic-security commands over it (`$CONTROL/dynamic-security/v1`,
answered on `…/response`); the MQTT transport (transports/mqtt/) subscribes
on it. paho-mqtt's network loop runs in a thread of its own (a greenlet
under gunicorn's gevent worker) and reconnects by itself.
"""
import itertools
import logging
import os
import secrets
import struct
import threading
import urllib.parse
from dataclasses import dataclass

import orjson
import paho.mqtt.client as paho
from paho.mqtt.matcher import MQTTMatcher

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
CONTROL_RESPONSE_TOPIC = CONTROL_TOPIC + "/response"
KEEPALIVE_SECONDS = 30
RECONNECT_MAX_SECONDS = 5
RECEIVE_MAXIMUM = 65535
SESSION_NEVER_EXPIRES = 0xFFFFFFFF
READ_PACKETS_PER_WAIT = 500


class _Client(paho.Client):
    """paho's client, reading and acknowledging many messages at a time: paho reads each packet with a system
    call per part and one packet per wait on the socket, and sends each acknowledgement on its own. This builds on
    paho 2.x's internals (`_create_socket`, `_handle_publish`, `_in_packet`, `_packet_queue`, the topic matcher),
    which pyproject.toml pins to 2.x and tests/transports/test_mqtt*.py exercise."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._on_message_filtered = _RememberingMatcher()

    def _create_socket(self):
        return _BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets=1):
        # The packets that arrived (up to READ_PACKETS_PER_WAIT: under gevent, the rest of the worker runs only when
        # the loop waits on the socket), before the loop waits on the socket again.
        rc = super().loop_read(max_packets)
        for _ in range(READ_PACKETS_PER_WAIT):
            if rc != paho.MQTT_ERR_SUCCESS or self._sock is None or not self._sock.pending():
                break
            rc = super().loop_read(max_packets)
        return rc

    def _handle_publish(self):
        # paho makes a Properties object and a message with a condition variable of its own for every message it
        # receives: 43 % of the worker's time at 5,000 readings/s, half of it the Properties (bench/README.md). A QoS
        # 0 or 1 message without properties, as the broker forwards devices' messages, is taken here without them.
        header, packet = self._in_packet["command"], self._in_packet["packet"]
        qos = (header & 0x06) >> 1
        topic_end = 2 + int.from_bytes(packet[:2], "big")
        properties_at = topic_end + (2 if qos else 0)
        if qos > 1 or self._protocol != paho.MQTTv5 or len(packet) <= properties_at or packet[properties_at] != 0:
            return super()._handle_publish()
        try:
            topic = packet[2:topic_end].decode()
        except UnicodeDecodeError:
            return super()._handle_publish()
        mid = int.from_bytes(packet[topic_end:properties_at], "big") if qos else 0
        self._handle_on_message(ReceivedMessage(topic, packet[properties_at + 1 :], qos, mid, bool(header & 0x01)))
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return paho.MQTT_ERR_SUCCESS

    def acknowledge(self, message_ids):
        """PUBACKs for these QoS 1 messages, written together (each as paho writes one: no reason code, success)."""
        if message_ids:
            self._packet_queue(paho.PUBACK, b"".join(struct.pack("!BBH", paho.PUBACK, 2, mid) for mid in message_ids), 0, 0)


class _RememberingMatcher(MQTTMatcher):
    """paho's tree of topic filters, remembering which match each topic (a fleet publishes on a few topics per
    device, again and again) instead of walking the tree for every message."""

    MAX_TOPICS = 100_000

    def __init__(self):
        super().__init__()
        self._matches = {}

    def __setitem__(self, key, value):
        self._matches = {}
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self._matches = {}
        super().__delitem__(key)

    def iter_match(self, topic):
        matches = self._matches.get(topic)
        if matches is None:
            if len(self._matches) >= self.MAX_TOPICS:
                self._matches = {}
            matches = self._matches[topic] = list(super().iter_match(topic))
        return iter(matches)


@dataclass(slots=True)
class ReceivedMessage:
    """A message the platform's connection received, with what its handlers read of paho's MQTTMessage."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    retain: bool


class _BufferedSocket:
    """The broker's socket, read a chunk at a time: paho's reads of a packet's parts come from that chunk."""

    CHUNK_BYTES = 65536

    def __init__(self, sock):
        self._sock = sock
        self._chunk = b""
        self._read = 0

    def recv(self, size):
        if self._read == len(self._chunk):
            self._chunk, self._read = self._sock.recv(max(size, self.CHUNK_BYTES)), 0
        taken = self._chunk[self._read : self._read + size]
        self._read += len(taken)
        return taken

    def pending(self):
        """Bytes read from the socket that paho has not taken yet (paho's loop does not wait on the socket then)."""
        return len(self._chunk) - self._read

    def __getattr__(self, name):
        return getattr(self._sock, name)


class BrokerUnreachable(Exception):
    """The broker did not answer in time (down, or the platform's account refused)."""


class ControlRefused(Exception):
    """The dynamic-security plugin answered a command with an error."""


def device_topic(device_id, leaf):
    """A device's topic: devices/<id>/<leaf> (telemetry, telemetry/batch, status, state, errors, ota)."""
    return f"devices/{device_id}/{leaf}"


def broker_address(mqtt_url):
    """(host, port) of an `mqtt://host:port` URL; ValueError naming the URL otherwise."""
    parsed = urllib.parse.urlsplit(mqtt_url)
    if parsed.scheme != "mqtt" or not parsed.hostname:
        raise ValueError(f"MQTT_URL '{mqtt_url}' is not mqtt://host[:port].")
    return parsed.hostname, parsed.port or 1883


class PlatformConnection:
    """A connected paho client as the platform's account, with dynamic-security commands on request/response."""

    def __init__(self, config, client_id, manual_ack=False, persistent_session=False):
        self.persistent_session = persistent_session
        self.settings = (config["MQTT_URL"], config["MQTT_ADMIN_USER"], config["MQTT_ADMIN_PASSWORD"])
        self.host, self.port = broker_address(config["MQTT_URL"])
        self.client = _Client(
            paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5, manual_ack=manual_ack
        )
        self.client.username_pw_set(config["MQTT_ADMIN_USER"], config["MQTT_ADMIN_PASSWORD"])
        # Back within seconds of a broker restart (paho waits up to two minutes by default).
        self.client.reconnect_delay_set(1, RECONNECT_MAX_SECONDS)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.message_callback_add(CONTROL_RESPONSE_TOPIC, self._on_control_response)
        self.connected = threading.Event()
        self._was_connected = False
        # Subscriptions made again on every (re)connection: (topic filter, qos).
        self._subscriptions = [(CONTROL_RESPONSE_TOPIC, 1)]
        self._control_lock = threading.Lock()
        self._correlations = itertools.count(1)
        self._waiting = {}

    def connect_in_background(self):
        """Run the network loop, which connects and reconnects by itself."""
        self.client.connect_async(
            self.host, self.port, keepalive=KEEPALIVE_SECONDS, clean_start=not self.persistent_session, properties=self._connect_properties()
        )
        self.client.loop_start()
        return self

    def _connect_properties(self):
        properties = paho.Properties(paho.PacketTypes.CONNECT)
        # MQTT 5: the broker sends this many QoS 1 messages before it waits for their acknowledgements (Mosquitto's
        # default for MQTT 3.1.1 clients is 20, which would cap a subscriber that acknowledges after each commit).
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        if self.persistent_session:
            properties.SessionExpiryInterval = SESSION_NEVER_EXPIRES
        return properties

    def wait_connected(self, timeout):
        if not self.connected.wait(timeout):
            raise BrokerUnreachable(f"No connection to the MQTT broker at {self.host}:{self.port} as the platform's account.")

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()

    def subscribe(self, topic_filter, handler, qos=1, matching=None):
        """Call `handler(client, userdata, message)` for every message on `topic_filter`, from now and after
        reconnections; `matching`: the filter without its `$share/<group>/`, which messages' topics match."""
        self.client.message_callback_add(matching or topic_filter, handler)
        self._subscriptions.append((topic_filter, qos))
        if self.connected.is_set():
            self.client.subscribe(topic_filter, qos)

    def unsubscribe_all(self, timeout=5.0):
        """End every subscription but the control answers' (a subscriber that will not come back), once the broker
        confirms it: a persistent session disconnected before that would stay a member of its shared subscriptions."""
        topic_filters = [topic_filter for topic_filter, _ in self._subscriptions[1:]]
        del self._subscriptions[1:]
        if not topic_filters:
            return
        self.wait_connected(timeout)
        confirmed = threading.Event()
        self.client.on_unsubscribe = lambda client, userdata, mid, reason_codes, properties: confirmed.set()
        self.client.unsubscribe(topic_filters)
        if not confirmed.wait(timeout):
            raise BrokerUnreachable(f"The MQTT broker at {self.host}:{self.port} did not confirm an unsubscription in {timeout} s.")

    def acknowledge(self, messages):
        """Acknowledge these messages (taken with `manual_ack`), in one write: the broker will not deliver them again."""
        self.client.acknowledge([message.mid for message in messages if message.qos == 1])

    def publish(self, topic, payload, retain=False, qos=1):
        self.client.publish(topic, orjson.dumps(payload) if isinstance(payload, dict) else payload, qos=qos, retain=retain)

    def control(self, commands, timeout=2.0):
        """Send dynamic-security `commands` at once; their answers in order. ControlRefused on the first
        error (its text from the plugin), BrokerUnreachable without an answer within `timeout` seconds."""
        # A connection that was up and is down now fails at once (the caller must not wait on every call while the
        # broker is away); a new one gets `timeout` to come up.
        self.wait_connected(0 if self._was_connected else timeout)
        correlated = [dict(command, correlationData=str(next(self._correlations))) for command in commands]
        answered = threading.Event()
        answers = {}
        with self._control_lock:
            for command in correlated:
                self._waiting[command["correlationData"]] = (answers, answered, len(correlated))
        self.client.publish(CONTROL_TOPIC, orjson.dumps({"commands": correlated}), qos=1)
        if not answered.wait(timeout):
            with self._control_lock:
                for command in correlated:
                    self._waiting.pop(command["correlationData"], None)
            raise BrokerUnreachable(f"The MQTT broker at {self.host}:{self.port} did not answer a dynamic-security command in {timeout} s.")
        ordered = [answers[command["correlationData"]] for command in correlated]
        for command, answer in zip(correlated, ordered, strict=True):
            if answer.get("error"):
                raise ControlRefused(f"{command['command']}: {answer['error']}")
        return ordered

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("the MQTT broker refused the platform's account %s: %s", client.username, reason_code)
            return
        for topic_filter, qos in self._subscriptions:
            client.subscribe(topic_filter, qos)
        self._was_connected = True
        self.connected.set()

    def _on_control_response(self, client, userdata, message):
        for answer in orjson.loads(message.payload).get("responses", []):
            with self._control_lock:
                waiting = self._waiting.pop(answer.get("correlationData"), None)
            if waiting is None:
                continue
            answers, answered, expected = waiting
            answers[answer["correlationData"]] = answer
            if len(answers) == expected:
                answered.set()


_connection = None
_connection_lock = threading.Lock()


def platform_connection(config):
    """This process's connection for publishing and dynamic-security commands, connecting in the background
    from the first use on; None without MQTT_URL. A change of the broker's settings (tests) makes a new one."""
    global _connection
    if not config["MQTT_URL"]:
        return None
    settings = (config["MQTT_URL"], config["MQTT_ADMIN_USER"], config["MQTT_ADMIN_PASSWORD"])
    with _connection_lock:
        if _connection is None or _connection.settings != settings:
            if _connection is not None:
                _connection.stop()
            _connection = PlatformConnection(config, client_id=f"thingsnxt-{os.getpid()}-{secrets.token_hex(4)}")
            _connection.connect_in_background()
        return _connection
