"""Publish/subscribe of JSON-able events between requests, in one process or across many.

`MemoryBroker` delivers within one worker process. `RedisBroker` publishes
through Redis pub/sub and hands what every worker receives to the same
in-process fan-out, so a subscriber never knows which one it has.

Subscribers use plain `queue` and `threading` objects: under gunicorn's gevent
worker they are monkey-patched into cooperative ones, and in tests they are
ordinary threads.
"""
import logging
import queue
import threading

import orjson

log = logging.getLogger(__name__)


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

    def subscribe(self, channels):
        subscription = Subscription(self, channels)
        with self._lock:
            for channel in subscription.channels:
                self._by_channel.setdefault(channel, set()).add(subscription)
        return subscription

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

    def _deliver_locally(self, channel, event):
        with self._lock:
            subscribers = tuple(self._by_channel.get(channel, ()))
        for subscription in subscribers:
            subscription.deliver(channel, event)

    def close(self):
        pass


class RedisBroker(MemoryBroker):
    """Every process publishes to Redis and listens to all channels under its prefix."""

    def __init__(self, redis_url, prefix):
        super().__init__()
        import redis

        self._redis = redis.Redis.from_url(redis_url)
        self._prefix = prefix + "events:"
        self._listener = None
        self._closed = threading.Event()
        self._start_lock = threading.Lock()

    def subscribe(self, channels):
        self._ensure_listener()
        return super().subscribe(channels)

    def publish(self, channel, event):
        self._redis.publish(self._prefix + channel, orjson.dumps(event))

    def publish_many(self, messages):
        # One round trip for the lot: the ingest writer publishes a whole transaction's events at once.
        pipeline = self._redis.pipeline(transaction=False)
        for channel, event in messages:
            pipeline.publish(self._prefix + channel, orjson.dumps(event))
        pipeline.execute()

    def _ensure_listener(self):
        # Started on first use, inside the worker, so never before gevent patches it.
        with self._start_lock:
            if self._listener is None:
                ready = threading.Event()
                self._listener = threading.Thread(target=self._listen, args=(ready,), name="redis-broker", daemon=True)
                self._listener.start()
                ready.wait(10)

    def _listen(self, ready):
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
                    elif message["type"] == "pmessage":
                        channel = message["channel"].decode()[len(self._prefix):]
                        self._deliver_locally(channel, orjson.loads(message["data"]))
            except Exception:
                log.warning("redis broker connection lost; reconnecting", exc_info=True)
                self._closed.wait(1.0)
            finally:
                pubsub.close()

    def close(self):
        self._closed.set()


def create_broker(config):
    if config["REDIS_URL"]:
        return RedisBroker(config["REDIS_URL"], config["REDIS_KEY_PREFIX"])
    return MemoryBroker()
