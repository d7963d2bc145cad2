"""What devices publish, handed to the same services as the HTTP device API.

| topic (device → platform) | service call |
|---|---|
| `devices/<id>/telemetry` | submit_readings (as `POST /devices/<id>/telemetry`, many at once) |
| `devices/<id>/telemetry/batch` | ingest_records (as `POST …/telemetry/batch`) |
| `devices/<id>/status` `online` / `offline` | broker_session: an MQTT device, online (a poll) / offline at once |
| `devices/<id>/ota/status` | ota_report (as `POST /devices/<id>/ota/status`) |

The broker authenticated the device and lets no other client publish on its
topics, so the id in the topic names it (registry.BrokerLogin). A refusal
goes back to the device on `devices/<id>/errors` (MQTT has no status codes),
and the numbered readings of a stored message on `devices/<id>/stored`: the
device keeps a reading until then, since a broker's PUBACK is no proof that
the platform received it (docs/MQTT.md).

Every worker subscribes with one shared subscription, so the broker hands
each message to one of them. Acknowledgements are manual: a message is
acknowledged once its readings are committed, so the broker redelivers
what a worker took and did not store. The session is persistent, under a
client id of the host and a slot number the worker holds (a lock file):
what the broker queued for a worker that restarts, it delivers to the
worker that takes the slot next. One thread (a greenlet under gunicorn)
takes what gathered in GATHER_SECONDS, admits its readings together and
queues them, in the order received, for the group commit
(services/ingest/writer.py); another acknowledges them at once when
committed. So each device's readings are stored in the order sent.
"""
import fcntl
import itertools
import logging
import os
import queue
import socket
import threading
import time

import orjson
from pydantic import ValidationError

from webapp.core.errors import ApiError, InvalidRequest, PayloadTooLarge
from webapp.http.request_body import describe_validation_error
from webapp.pubsub.mqtt import PlatformConnection, device_topic
from webapp.schemas import BatchIn, OtaStatusIn, TelemetryIn
from webapp.services.devices import broker_accounts
from webapp.services.devices.registry import BrokerLogin
from webapp.services.ingest import device_requests
from webapp.services.ingest import telemetry as ingest

log = logging.getLogger(__name__)

SHARE_GROUP = "$share/thingsnxt/"
# How long messages gather after the first before they are taken, and the most taken at once: many readings for
# one group commit (its statements cost about the same for one reading as for hundreds) and, with REDIS_URL, one
# round trip counting their rate limits, for at most this much more latency.
GATHER_SECONDS = 0.02
MAX_IN_HAND = 1000
STATUS_ONLINE, STATUS_OFFLINE = b"online", b"offline"
# What came of a message: STORED and REFUSED are acknowledged; FAILED (the database down) is not, so the broker
# delivers it again once this session reconnects.
STORED, REFUSED, FAILED = object(), object(), object()


class DeviceMessages:
    """The worker's subscription to devices' messages; `start()` connects, `stop()` ends it."""

    def __init__(self, app):
        self.app = app
        self.slot, self._slot_lock = _claim_slot(os.path.join(app.instance_path, "mqtt-slots"))
        client_id = f"thingsnxt-{socket.gethostname()}-{self.slot}"
        self.connection = PlatformConnection(app.config, client_id=client_id, manual_ack=True, persistent_session=True)
        self._threads = []
        self.inbox = queue.SimpleQueue()
        # What was taken, with each message's outcome, waiting for its readings' commit to be acknowledged; at most
        # the broker's window of unacknowledged messages (pubsub/mqtt.py RECEIVE_MAXIMUM) is taken ahead of commits.
        self._taken = queue.SimpleQueue()
        self._handlers = {"telemetry/batch": self._batch, "status": self._status, "ota/status": self._ota_status}
        for leaf in ["telemetry", *self._handlers]:
            self.connection.subscribe(SHARE_GROUP + device_topic("+", leaf), self._received, matching=device_topic("+", leaf))

    def start(self, timeout=5.0):
        """Take devices' messages, then reconcile the broker's device accounts; BrokerUnreachable when the
        broker does not answer within `timeout` seconds (the connection keeps trying: call again)."""
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._take_forever, name="mqtt-taking", daemon=True),
                threading.Thread(target=self._acknowledge_forever, name="mqtt-acknowledging", daemon=True),
            ]
            for thread in self._threads:
                thread.start()
            self.connection.connect_in_background()
        self.connection.wait_connected(timeout)
        with self.app.app_context():
            broker_accounts.reconcile()
        return self

    def stop(self, retire=False, timeout=10.0):
        """Finish the messages in hand (stored and acknowledged), then disconnect: what came after them is not
        acknowledged, and the broker delivers it again. The broker keeps queueing this slot's share for the
        next worker to take the slot, unless `retire`: then the subscription ends (no worker will take it again)."""
        self.inbox.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if retire:
            self.connection.unsubscribe_all()
        self.connection.stop()
        self._slot_lock.close()

    def _received(self, client, userdata, message):
        self.inbox.put(message)

    def _take_forever(self):
        """Take what gathered (up to MAX_IN_HAND messages), admit it together and queue its readings, in the order
        received (so each device's are stored in the order sent), and pass it on to be acknowledged once committed."""
        stopping = False
        while not stopping:
            in_hand = [self.inbox.get()]
            if in_hand[0] is not None:
                time.sleep(GATHER_SECONDS)
            while len(in_hand) < MAX_IN_HAND and not self.inbox.empty():
                in_hand.append(self.inbox.get())
            if None in in_hand:
                stopping = True
                in_hand = in_hand[: in_hand.index(None)]
            with self.app.app_context():
                try:
                    self._taken.put((in_hand, self._handle_all(in_hand)))
                finally:
                    self.app.extensions["sqlalchemy"].session.remove()
        self._taken.put(None)

    def _acknowledge_forever(self):
        """Acknowledge what was taken, at once, once committed or refused (while the next is taken); then name the
        stored messages' numbered readings to their devices."""
        while (taken := self._taken.get()) is not None:
            results = [(message, self._result(message, outcome)) for message, outcome in zip(*taken, strict=True)]
            self.connection.acknowledge([message for message, result in results if result is not FAILED])
            for message, result in results:
                if result is STORED and (stored := numbered_readings(message)):
                    self.connection.publish(device_topic(_device_id(message), "stored"), {"stored": stored}, qos=0)

    def _handle_all(self, messages):
        """Each message's outcome, in order: its queued ingest Job, STORED when it was handled already, REFUSED
        (told on the errors topic), or FAILED. Telemetry one after another is admitted and queued together."""
        outcomes = []
        readings = []
        for message in messages:
            _, device_id, leaf = message.topic.split("/", 2)
            if leaf == "telemetry":
                readings.append((message, device_id))
                continue
            outcomes += self._submit_readings(readings)
            readings = []
            outcomes.append(self._handle(message, device_id, leaf))
        return outcomes + self._submit_readings(readings)

    def _submit_readings(self, readings):
        outcomes = [REFUSED] * len(readings)
        parsed = []
        for number, (message, device_id) in enumerate(readings):
            try:
                body = _parsed(TelemetryIn, message.payload, self.app.config["MAX_BODY_BYTES"])
            except ApiError as refused:
                self._refuse(message, refused)
                continue
            health = body.device.model_dump(exclude_none=True) if body.device is not None else None
            parsed.append((number, ingest.LiveReading(BrokerLogin(device_id), body.data, body.ts, body.identity, health)))
        if not parsed:
            return outcomes
        try:
            submitted = ingest.submit_readings([reading for _, reading in parsed], None)
        except Exception:
            log.exception("admitting %d MQTT readings failed; not acknowledged", len(parsed))
            return [FAILED] * len(readings)
        for (number, _), queued in zip(parsed, submitted, strict=True):
            if isinstance(queued, ApiError):
                self._refuse(readings[number][0], queued)
            else:
                outcomes[number] = queued
        return outcomes

    def _handle(self, message, device_id, leaf):
        """A message other than a reading: its queued Job, STORED once handled, REFUSED (told on the errors
        topic), or FAILED."""
        return self._settled(message, "handling", lambda: self._handlers[leaf](BrokerLogin(device_id), message.payload) or STORED)

    def _result(self, message, outcome):
        """What came of the message once its Job (if any) is committed: STORED, REFUSED or FAILED."""
        if outcome in (STORED, REFUSED, FAILED):
            return outcome

        def committed():
            outcome.outcome()
            return STORED

        return self._settled(message, "storing", committed)

    def _settled(self, message, doing, work):
        """What `work()` gives; REFUSED (told on the errors topic) when it refuses, FAILED when it fails otherwise."""
        try:
            return work()
        except ApiError as refused:
            self._refuse(message, refused)
            return REFUSED
        except Exception:
            log.exception("%s an MQTT message on %s failed; not acknowledged", doing, message.topic)
            return FAILED

    def _refuse(self, message, refused):
        retry_after = refused.headers.get("Retry-After")
        error = refused.body() | ({"retry_after": int(retry_after)} if retry_after else {}) | {"readings": numbered_readings(message)}
        self.connection.publish(device_topic(_device_id(message), "errors"), error, qos=0)

    def _batch(self, login, payload):
        config = self.app.config
        body = _parsed(BatchIn, payload, config["MAX_BATCH_BODY_BYTES"])
        if len(body.records) > config["MAX_BATCH_RECORDS"]:
            raise InvalidRequest(f"At most {config['MAX_BATCH_RECORDS']} records per batch.")
        ingest.ingest_records(login, [(record.ts, record.data, record.identity) for record in body.records], None, field="records[].ts")
        return None

    def _status(self, login, payload):
        if payload not in (STATUS_ONLINE, STATUS_OFFLINE):
            raise InvalidRequest("status is 'online' or 'offline'.")
        return device_requests.broker_session(login, payload == STATUS_ONLINE)

    def _ota_status(self, login, payload):
        body = _parsed(OtaStatusIn, payload, self.app.config["MAX_BODY_BYTES"])
        device_requests.ota_report(login, login.device_id, body.state, body.bytes, body.version, body.reason, None)
        return None


def numbered_readings(message):
    """The [boot, seq] of each numbered reading of a telemetry or telemetry/batch message, as sent: what its receipt,
    or its refusal, names. None of another message, or of one that is not JSON."""
    leaf = message.topic.split("/", 2)[2]
    if leaf not in ("telemetry", "telemetry/batch"):
        return []
    try:
        body = orjson.loads(message.payload)
    except orjson.JSONDecodeError:
        return []
    records = body.get("records") if leaf == "telemetry/batch" and isinstance(body, dict) else [body]
    if not isinstance(records, list):
        return []
    return [
        [record["boot"], record["seq"]] for record in records if isinstance(record, dict) and isinstance(record.get("boot"), str) and type(record.get("seq")) is int
    ]


def _device_id(message):
    return message.topic.split("/", 2)[1]


def _claim_slot(directory):
    """The lowest slot number no other process of this host holds, and its lock (held until closed or the process ends)."""
    os.makedirs(directory, exist_ok=True)
    for slot in itertools.count():
        lock = open(os.path.join(directory, f"slot-{slot}.lock"), "a")  # noqa: SIM115 (held open: the lock lives as long as the file)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return slot, lock
        except BlockingIOError:
            lock.close()


def _parsed(model, payload, max_bytes):
    if len(payload) > max_bytes:
        raise PayloadTooLarge(f"The message is larger than {max_bytes} bytes.")
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from None
