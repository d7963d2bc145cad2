"""Publish/subscribe of JSON-able events between requests, in one process or across many.

`MemoryBroker` delivers within one worker process. `RedisBroker` publishes
through Redis pub/sub and hands what every worker receives to the same
in-process fan-out, so a subscriber never knows which one it has.

Subscribers use plain `queue` and `threading` objects: under gunicorn's gevent
worker they are monkey-patched into cooperative ones, and in tests they are
ordinary threads.

A handler registered with `on(channel, handler)` runs on every event of the
channel in the thread that receives it; `publish_confirmed` returns only once
every process listening has run its handlers on the event (the device
directory forgets a rotated token everywhere before the rotation answers).

When the worker is told to stop, `shut_down()` hands every subscription, and
every one made after, the event `{"type": "shutdown"}` (on channel "*"):
long-polls answer at once and streams end, so the worker can exit.
"""
import logging
import queue
import threading
import time
import uuid

import orjson
from flask import current_app

log = logging.getLogger(__name__)

SHUTDOWN_CHANNEL = "*"
SHUTDOWN = {"type": "shutdown"}
# The key of an event whose receivers confirm it, and the channel prefix of their confirmations.
CONFIRM_KEY = "confirm"
CONFIRMED_CHANNEL = "confirmed:"


class Subscription:
    """Events on a set of channels, queued until read; close it when done."""

    def __init__(self, broker, channels):
        self._broker = broker
        self.channels = frozenset(channels)
        self._events = queue.SimpleQueue()

    def deliver(self, channel, event):
        self._events.put((channel, event))

    def get(self, timeout):
        """The next (channel, event), or None when `timeout` seconds pass first."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        self._broker.unsubscribe(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class MemoryBroker:
    """Fan-out to the subscribers of this process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_channel = {}
        self._handlers = {}
        self.stopping = threading.Event()

    def on(self, channel, handler):
        """Call `handler(event)` for every event on `channel`, in the thread that receives it."""
        with self._lock:
            self._handlers.setdefault(channel, []).append(handler)

    def subscribe(self, channels):
        subscription = Subscription(self, channels)
        with self._lock:
            for channel in subscription.channels:
                self._by_channel.setdefault(channel, set()).add(subscription)
            stopping = self.stopping.is_set()
        if stopping:
            subscription.deliver(SHUTDOWN_CHANNEL, SHUTDOWN)
        return subscription

    def shut_down(self):
        """This process is stopping: tell every subscriber, now and from now on."""
        with self._lock:
            self.stopping.set()
            subscribers = {subscription for subscriptions in self._by_channel.values() for subscription in subscriptions}
        for subscription in subscribers:
            subscription.deliver(SHUTDOWN_CHANNEL, SHUTDOWN)

    def listening(self, channel):
        """How many subscriptions of this process listen on `channel` (a user's open streams, say)."""
        with self._lock:
            return len(self._by_channel.get(channel, ()))

    def unsubscribe(self, subscription):
        with self._lock:
            for channel in subscription.channels:
                subscribers = self._by_channel.get(channel)
                if subscribers is not None:
                    subscribers.discard(subscription)
                    if not subscribers:
                        del self._by_channel[channel]

    def publish(self, channel, event):
        self._deliver_locally(channel, event)

    def publish_many(self, messages):
        """Publish (channel, event) pairs in order."""
        for channel, event in messages:
            self.publish(channel, event)

    def publish_confirmed(self, channel, event):
        """Publish; return once every process has run its handlers of `channel` on the event
        (in one process: they ran before publish returned)."""
        self.publish(channel, event)

    def _deliver_locally(self, channel, event):
        with self._lock:
            handlers = tuple(self._handlers.get(channel, ()))
            subscribers = tuple(self._by_channel.get(channel, ()))
        for handler in handlers:
            handler(event)
        for subscription in subscribers:
            subscription.deliver(channel, event)

    def close(self):
        pass


class RedisBroker(MemoryBroker):
    """Every process publishes to Redis and listens to all channels under its prefix.

    While Redis is unreachable, publishing never fails the caller: events
    still reach this worker's subscribers, other workers miss them, and a
    warning says so once per outage. The listener reconnects by itself.
    """

    def __init__(self, redis_url, prefix, timeout=2):
        super().__init__()
        import redis

        # A hung Redis must not hang the callers: past `timeout` seconds it counts as unreachable.
        self._redis = redis.Redis.from_url(redis_url, socket_connect_timeout=timeout, socket_timeout=timeout)
        self._timeout = timeout
        self._prefix = prefix + "events:"
        self._listener = None
        self._closed = threading.Event()
        self._start_lock = threading.Lock()
        self._publishing_failed = False

    def subscribe(self, channels):
        self._ensure_listener()
        return super().subscribe(channels)

    def on(self, channel, handler):
        self._ensure_listener()
        super().on(channel, handler)

    def publish(self, channel, event):
        self.publish_many([(channel, event)])

    def publish_many(self, messages):
        # One round trip for the lot: the ingest writer publishes a whole transaction's events at once.
        import redis

        pipeline = self._redis.pipeline(transaction=False)
        for channel, event in messages:
            pipeline.publish(self._prefix + channel, orjson.dumps(event))
        try:
            pipeline.execute()
        except redis.RedisError as exc:
            if not self._publishing_failed:
                log.warning("live updates: Redis unreachable (%s); events reach this worker's subscribers only until it is back", exc)
            self._publishing_failed = True
            for channel, event in messages:
                self._deliver_locally(channel, event)
            return
        if self._publishing_failed:
            log.warning("live updates: Redis is back; publishing there again")
            self._publishing_failed = False

    def publish_confirmed(self, channel, event):
        # Redis says how many listeners received the event; each confirms once its handlers ran.
        # A listener that does not confirm within REDIS_TIMEOUT is logged, not waited for longer.
        import redis

        confirmation = uuid.uuid4().hex
        with self.subscribe([CONFIRMED_CHANNEL + confirmation]) as confirmations:
            try:
                receivers = self._redis.publish(self._prefix + channel, orjson.dumps({**event, CONFIRM_KEY: confirmation}))
            except redis.RedisError:
                self.publish(channel, event)
                return
            deadline = time.monotonic() + self._timeout
            for confirmed in range(receivers):
                if confirmations.get(timeout=max(0.0, deadline - time.monotonic())) is None:
                    log.warning("live updates: %d of %d workers confirmed %s within %s s", confirmed, receivers, channel, self._timeout)
                    return

    def reachable(self):
        """Whether Redis answers a PING now."""
        import redis

        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def _ensure_listener(self):
        # Started on first use, inside the worker, so never before gevent patches it.
        with self._start_lock:
            if self._listener is None:
                ready = threading.Event()
                self._listener = threading.Thread(target=self._listen, args=(ready,), name="redis-broker", daemon=True)
                self._listener.start()
                ready.wait(10)

    def _listen(self, ready):
        lost = False
        while not self._closed.is_set():
            pubsub = self._redis.pubsub()
            try:
                pubsub.psubscribe(self._prefix + "*")
                while not self._closed.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "psubscribe":
                        # Redis confirmed: from here on no published event is missed.
                        ready.set()
                        if lost:
                            log.warning("live updates: listening to Redis again")
                            lost = False
                    elif message["type"] == "pmessage":
                        channel = message["channel"].decode()[len(self._prefix):]
                        event = orjson.loads(message["data"])
                        self._deliver_locally(channel, event)
                        if CONFIRM_KEY in event:
                            self._redis.publish(self._prefix + CONFIRMED_CHANNEL + event[CONFIRM_KEY], b"{}")
            except Exception as exc:
                if not lost:
                    log.warning("live updates: lost Redis (%s); other workers' events are missed until it is back, reconnecting", exc)
                lost = True
                self._closed.wait(1.0)
            finally:
                pubsub.close()

    def close(self):
        self._closed.set()


def create_broker(config):
    if config["REDIS_URL"]:
        return RedisBroker(config["REDIS_URL"], config["REDIS_KEY_PREFIX"], config["REDIS_TIMEOUT"])
    return MemoryBroker()


def current_broker():
    """The broker of the running app (create_app makes one per app)."""
    return current_app.extensions["broker"]
