"""What devices publish, handed to the same services as the HTTP device API.

| topic (device → platform) | service call |
|---|---|
| `devices/<id>/telemetry` | ingest_telemetry (as `POST /devices/<id>/telemetry`) |
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
worker that takes the slot next. Messages are handled by a pool of
threads (greenlets under gunicorn), each queueing many readings for one
group commit (services/ingest/writer.py) before it waits for it; each
device's messages go to one thread, so they are stored in the order sent.
"""
import fcntl
import itertools
import logging
import os
import queue
import socket
import threading
import time
import zlib

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
# Handler threads per worker, and the messages each queues for storing before it waits for their commit: together
# enough for a group commit to gather many readings, and for many admissions to wait on Redis (the per-device rate
# limit with REDIS_URL) at once.
HANDLERS = 64
MAX_IN_HAND = 100
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
        self._handlers_running = []
        # One queue per handler, a device's messages always on the same one: handled in the order it sent them.
        self.inboxes = [queue.SimpleQueue() for _ in range(HANDLERS)]
        self._handlers = {"telemetry": self._telemetry, "telemetry/batch": self._batch, "status": self._status, "ota/status": self._ota_status}
        for leaf in self._handlers:
            self.connection.subscribe(SHARE_GROUP + device_topic("+", leaf), self._received, matching=device_topic("+", leaf))

    def start(self, timeout=5.0):
        """Take devices' messages, then reconcile the broker's device accounts; BrokerUnreachable when the
        broker does not answer within `timeout` seconds (the connection keeps trying: call again)."""
        if not self._handlers_running:
            self._handlers_running = [
                threading.Thread(target=self._handle_forever, args=(inbox,), name=f"mqtt-{number}", daemon=True) for number, inbox in enumerate(self.inboxes)
            ]
            for thread in self._handlers_running:
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
        for inbox in self.inboxes:
            inbox.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._handlers_running:
            thread.join(max(0.0, deadline - time.monotonic()))
        if retire:
            self.connection.unsubscribe_all()
        self.connection.stop()
        self._slot_lock.close()

    def _received(self, client, userdata, message):
        self.inboxes[zlib.crc32(message.topic.split("/", 2)[1].encode()) % HANDLERS].put(message)

    def _handle_forever(self, inbox):
        """Take what the inbox holds (up to MAX_IN_HAND), queue all of its readings, then acknowledge each once committed:
        a handler has many readings in one group commit, and its devices' readings are queued, so stored, in order."""
        stopping = False
        while not stopping:
            in_hand = [inbox.get()]
            while len(in_hand) < MAX_IN_HAND and not inbox.empty():
                in_hand.append(inbox.get())
            if None in in_hand:
                stopping = True
                in_hand = in_hand[: in_hand.index(None)]
            with self.app.app_context():
                try:
                    queued = [(message, self._handle(message)) for message in in_hand]
                    for message, job in queued:
                        outcome = job if job in (STORED, REFUSED, FAILED) else self._committed(message, job)
                        if outcome is not FAILED:
                            self.connection.client.ack(message.mid, message.qos)
                        if outcome is STORED and (stored := numbered_readings(message)):
                            self.connection.publish(device_topic(_device_id(message), "stored"), {"stored": stored}, qos=0)
                finally:
                    self.app.extensions["sqlalchemy"].session.remove()

    def _handle(self, message):
        """The message's queued ingest Job, STORED when it was handled already, REFUSED (told on the errors topic), or FAILED."""
        _, device_id, leaf = message.topic.split("/", 2)
        try:
            job = self._handlers[leaf](BrokerLogin(device_id), message.payload)
            return STORED if job is None else job
        except ApiError as refused:
            self._refuse(message, refused)
            return REFUSED
        except Exception:
            log.exception("an MQTT message on %s failed; not acknowledged", message.topic)
            return FAILED

    def _committed(self, message, job):
        try:
            job.outcome()
            return STORED
        except ApiError as refused:
            self._refuse(message, refused)
            return REFUSED
        except Exception:
            log.exception("storing an MQTT message on %s failed; not acknowledged", message.topic)
            return FAILED

    def _refuse(self, message, refused):
        retry_after = refused.headers.get("Retry-After")
        error = refused.body() | ({"retry_after": int(retry_after)} if retry_after else {}) | {"readings": numbered_readings(message)}
        self.connection.publish(device_topic(_device_id(message), "errors"), error, qos=0)

    def _telemetry(self, login, payload):
        body = _parsed(TelemetryIn, payload, self.app.config["MAX_BODY_BYTES"])
        health = body.device.model_dump(exclude_none=True) if body.device is not None else None
        return ingest.ingest_telemetry(login, body.data, None, ts=body.ts, identity=body.identity, health=health, wait=False)

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
        device_requests.broker_session(login, payload == STATUS_ONLINE)
        return None

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
