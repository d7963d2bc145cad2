"""What devices publish, handed to the same services as the HTTP device API.

| topic (device → platform) | service call |
|---|---|
| `devices/<id>/telemetry` | submit_readings (as `POST /devices/<id>/telemetry`, many at once) |
| `devices/<id>/telemetry/batch` | ingest_records (as `POST …/telemetry/batch`) |
| `devices/<id>/status` `online` / `offline` | broker_session: an MQTT device, online (a poll) / offline at once |

The broker authenticated the device and lets no other client publish on its
topics, so the id in the topic names it (registry.BrokerLogin). A refusal
goes back to the device on `devices/<id>/errors` (MQTT has no status codes).

Every worker subscribes with one shared subscription, so the broker hands
each message to one of them. Acknowledgements are manual: a message is
acknowledged once its readings are committed, so the broker redelivers
what a worker took and did not store. The session is persistent, under a
client id of the host and a slot number the worker holds (a lock file):
what the broker queued for a worker that restarts, it delivers to the
worker that takes the slot next. Messages are handled by a few threads
(greenlets under gunicorn), each taking all that waits for it, admitting
the readings together and queueing them for one group commit
(services/ingest/writer.py) before it waits for it, then acknowledging
them at once; each device's messages go to one thread, so they are stored
in the order sent.
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

from pydantic import ValidationError

from webapp.core.errors import ApiError, InvalidRequest, PayloadTooLarge
from webapp.http.request_body import describe_validation_error
from webapp.pubsub.mqtt import PlatformConnection, device_topic
from webapp.schemas import BatchIn, TelemetryIn
from webapp.services.devices import broker_accounts
from webapp.services.devices.registry import BrokerLogin
from webapp.services.ingest import device_requests
from webapp.services.ingest import telemetry as ingest

log = logging.getLogger(__name__)

SHARE_GROUP = "$share/thingsnxt/"
# Handler threads per worker, and the most messages each takes at once: each admits what it took together (with
# REDIS_URL, one round trip counts their rate limits), queues it for the group commit and waits; meanwhile the
# others take what came since, so the writer always has the next transaction's readings.
HANDLERS = 8
MAX_IN_HAND = 1000
STATUS_ONLINE, STATUS_OFFLINE = b"online", b"offline"
# A message that could not be handled (the database down): not acknowledged, so the broker delivers it again
# once this session reconnects.
FAILED = object()


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
        self._handlers = {"telemetry/batch": self._batch, "status": self._status}
        for leaf in ["telemetry", *self._handlers]:
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
        """Take every message the inbox holds (up to MAX_IN_HAND), handle them together, then acknowledge those
        committed or refused: a handler has many readings in one group commit, and its devices' readings are
        queued, so stored, in order."""
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
                    outcomes = self._handle_all(in_hand)
                    self.connection.acknowledge([message for message, outcome in zip(in_hand, outcomes, strict=True) if self._handled(message, outcome)])
                finally:
                    self.app.extensions["sqlalchemy"].session.remove()

    def _handle_all(self, messages):
        """Each message's outcome, in order: its queued ingest Job, None when it was handled already (or refused:
        told on the errors topic), or FAILED. Telemetry one after another is admitted and queued together."""
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
        outcomes = [None] * len(readings)
        parsed = []
        for number, (message, device_id) in enumerate(readings):
            try:
                body = _parsed(TelemetryIn, message.payload, self.app.config["MAX_BODY_BYTES"])
            except ApiError as refused:
                self._refuse(device_id, refused)
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
        for (number, reading), queued in zip(parsed, submitted, strict=True):
            if isinstance(queued, ApiError):
                self._refuse(reading.token.device_id, queued)
            else:
                outcomes[number] = queued
        return outcomes

    def _handle(self, message, device_id, leaf):
        """A message other than a reading: None once handled (or refused: told on the errors topic), or FAILED."""
        try:
            self._handlers[leaf](BrokerLogin(device_id), message.payload)
            return None
        except ApiError as refused:
            self._refuse(device_id, refused)
            return None
        except Exception:
            log.exception("an MQTT message on %s failed; not acknowledged", message.topic)
            return FAILED

    def _handled(self, message, outcome):
        """Whether the message is done with (to acknowledge): handled, refused, or its reading committed."""
        if outcome is None:
            return True
        if outcome is FAILED:
            return False
        try:
            outcome.outcome()
            return True
        except ApiError as refused:
            self._refuse(outcome.device_id, refused)
            return True
        except Exception:
            log.exception("storing an MQTT message on %s failed; not acknowledged", message.topic)
            return False

    def _refuse(self, device_id, refused):
        retry_after = refused.headers.get("Retry-After")
        error = refused.body() | ({"retry_after": int(retry_after)} if retry_after else {})
        self.connection.publish(device_topic(device_id, "errors"), error, qos=0)

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
