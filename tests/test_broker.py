"""The broker delivers published events to subscribers of the channel, in-process or through Redis."""
import os
import time
import uuid

import pytest

from webapp.pubsub.broker import MemoryBroker, RedisBroker

REDIS_URL = os.environ.get("REDIS_URL")


def brokers():
    return [
        pytest.param(lambda: MemoryBroker(), id="memory"),
        pytest.param(
            lambda: RedisBroker(REDIS_URL, f"thingsnxt-test-{uuid.uuid4().hex[:8]}:"),
            id="redis",
            marks=pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set (CI runs the suite again with Redis)"),
        ),
    ]


@pytest.mark.parametrize("make_broker", brokers())
def test_subscriber_gets_events_of_its_channels_only(make_broker):
    broker = make_broker()
    with broker.subscribe(["device:a"]) as subscription:
        broker.publish("device:b", {"n": 0})
        broker.publish("device:a", {"n": 1})

        assert subscription.get(timeout=5) == ("device:a", {"n": 1})
        assert subscription.get(timeout=0.2) is None
    broker.close()


@pytest.mark.parametrize("make_broker", brokers())
def test_every_subscriber_of_a_channel_gets_the_event(make_broker):
    broker = make_broker()
    first, second = broker.subscribe(["user:1"]), broker.subscribe(["user:1", "device:x"])

    broker.publish("user:1", {"hello": "world"})

    assert first.get(timeout=5) == second.get(timeout=5) == ("user:1", {"hello": "world"})
    first.close()
    second.close()
    broker.close()


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set (CI runs the suite again with Redis)")
def test_redis_broker_crosses_processes_sharing_a_prefix():
    prefix = f"thingsnxt-test-{uuid.uuid4().hex[:8]}:"
    publisher, listener = RedisBroker(REDIS_URL, prefix), RedisBroker(REDIS_URL, prefix)
    stranger = RedisBroker(REDIS_URL, prefix + "other:")

    with listener.subscribe(["device:z"]) as subscription, stranger.subscribe(["device:z"]) as strangers:
        publisher.publish("device:z", {"v": 42})

        assert subscription.get(timeout=5) == ("device:z", {"v": 42})
        assert strangers.get(timeout=0.3) is None
    for broker in (publisher, listener, stranger):
        broker.close()


def test_closed_subscription_gets_nothing_more():
    broker = MemoryBroker()
    subscription = broker.subscribe(["c"])
    subscription.close()

    broker.publish("c", {"x": 1})

    assert subscription.get(timeout=0.05) is None


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set (CI runs the suite again with Redis)")
def test_a_confirmed_publish_returns_after_every_process_ran_its_handlers():
    prefix = f"thingsnxt-test-{uuid.uuid4().hex[:8]}:"
    publisher, slow, quick = (RedisBroker(REDIS_URL, prefix) for _ in range(3))
    handled = []

    def busy_handler(event):
        # A worker busy with other requests: its handler runs late.
        time.sleep(0.3)
        handled.append(("slow", event["device_id"]))

    slow.on("devices", busy_handler)
    quick.on("devices", lambda event: handled.append(("quick", event["device_id"])))
    publisher.publish_confirmed("devices", {"type": "device_changed", "device_id": "d1"})

    assert sorted(handled) == [("quick", "d1"), ("slow", "d1")]
    for broker in (publisher, slow, quick):
        broker.close()


def test_handlers_run_before_a_publish_returns_in_one_process():
    broker = MemoryBroker()
    handled = []
    broker.on("devices", handled.append)

    broker.publish_confirmed("devices", {"device_id": "d2"})

    assert handled == [{"device_id": "d2"}]
